/**
 * The live engine with its real generation worker on the shipped tinyband:
 * an OSC message over real UDP moves a strength through the control layer
 * and shared memory to the worker, and the music follows it (tokens and
 * audio); tempo and prompt change while it plays; it shuts down cleanly. The output is pulled as fast as the worker
 * fills the ring (pacing is the audio outputs' business, tested there).
 */
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlCommands, type Control } from '../../src/control/index.js';
import { OSC } from '../../src/control/osc-source.js';
import { loadPreset } from '../../src/control/presets.js';
import { LiveEngine } from '../../src/engine/live-engine.js';
import { featureAmount } from '../../src/smitin/tinyband-features.js';
import { medianHighShare } from '../synth/helpers.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

const PROBES = join(SHIPPED_MODEL, 'probes.safetensors');
const ready = MODEL_DIR === SHIPPED_MODEL && existsSync(PROBES);

describe.skipIf(!ready)('LiveEngine on tinyband', () => {
  let engine: LiveEngine;
  let control: Control;
  let oscPort = 0;
  const client = dgram.createSocket('udp4');
  const sendOsc = (address: string, value: number) => client.send(Buffer.from(new OSC.Message(address, value).pack()), oscPort, '127.0.0.1');
  const frames: { frame: number[]; position: number }[] = [];
  const issues: string[] = [];
  beforeAll(async () => {
    // the monitor off: this tests that the knob reaches the music; the monitor's own behaviour is tested in test/smitin
    engine = await LiveEngine.start({ modelDir: SHIPPED_MODEL, probesFile: PROBES, prompt: 'rock', tempo: 120, sampleRate: 48000, latencyMs: 100, reportTokens: true, threads: 1, steering: { monitor: 'off' } });
    engine.tokens$.subscribe((t) => frames.push(t));
    engine.issues$.subscribe((m) => issues.push(m));
    control = controlCommands({ preset: loadPreset('generic-8-knob'), features: engine.features, osc: { host: '127.0.0.1', port: 0 } });
    control.commands$.subscribe((c) => engine.command(c));
    oscPort = (await control.oscReady!).port;
  }, 30_000);
  afterAll(async () => {
    client.close();
    await control?.dispose();
    await engine?.close();
  });

  /** Pulls until `count` more frames were generated; returns the audio (left channel) pulled meanwhile. */
  async function playFrames(count: number): Promise<Float32Array> {
    const target = frames.length + count;
    const parts: Float32Array[] = [];
    while (frames.length < target) {
      const block = engine.pull(512);
      const left = new Float32Array(512);
      for (let i = 0; i < 512; i++) left[i] = block[2 * i];
      parts.push(left);
      await new Promise((r) => setTimeout(r, 1));
    }
    const out = new Float32Array(parts.length * 512);
    parts.forEach((p, i) => out.set(p, i * 512));
    return out;
  }

  /** Plays until the worker reports steering drums with `value` (the OSC message, the smoothing and shared memory are behind us). */
  async function playUntilDrums(value: number): Promise<void> {
    let strength = NaN;
    const sub = engine.telemetry$.subscribe((t) => t && (strength = t.features.find((f) => f.name === 'drums')!.strength));
    for (let i = 0; i < 400 && strength !== value; i++) await playFrames(1);
    sub.unsubscribe();
    expect(strength).toBe(value);
  }

  const tokensOf = (list: { frame: number[] }[]) => [0, 1, 2, 3].map((k) => Uint16Array.from(list.map((f) => f.frame[k])));

  it('follows the drums knob sent over OSC: out at -1, in at +1, in the tokens and in the audio', async () => {
    sendOsc('/smitin/feature/drums', -1);
    await playUntilDrums(-1);
    await playFrames(8); // let the delay pattern and tokens already in flight pass
    const quietFrom = frames.length;
    const quietAudio = await playFrames(64);
    const quiet = frames.slice(quietFrom);
    sendOsc('/smitin/feature/drums', 1);
    await playUntilDrums(1);
    await playFrames(8);
    const loudFrom = frames.length;
    const loudAudio = await playFrames(64);
    const loud = frames.slice(loudFrom);
    const before = featureAmount('drums', tokensOf(quiet));
    const after = featureAmount('drums', tokensOf(loud));
    expect(before).toBeLessThan(0.15);
    expect(after).toBeGreaterThan(before + 0.2);
    // hats, snares and cymbals in the audio: the typical (median) share of energy above 5 kHz in 170 ms windows
    expect(medianHighShare(loudAudio)).toBeGreaterThan(5 * medianHighShare(quietAudio));
    // the measured control latency: at most the ring target plus one frame plus scheduling slack
    expect(engine.output.latencies.length).toBeGreaterThan(0);
    expect(Math.max(...engine.output.latencies)).toBeLessThan(100 + 125 + 150);
  }, 60_000);

  it('changes tempo and prompt while playing, without a restart', async () => {
    engine.command({ type: 'tempo', bpm: 90 });
    await playFrames(6);
    const from = frames.length;
    await playFrames(4);
    const steps = frames.slice(from).map((f, i, a) => (i ? f.position - a[i - 1].position : 0)).slice(1);
    // a 16th note at 90 BPM is 8000 samples at 48 kHz
    for (const s of steps) expect(s).toBe(8000);
    engine.command({ type: 'prompt', text: 'bossa sad calm' });
    const audio = await playFrames(16);
    expect(Math.sqrt(audio.reduce((a, v) => a + v * v, 0) / audio.length)).toBeGreaterThan(0.01);
    let last: { prompt: string; tempo: number } | null = null;
    const sub = engine.telemetry$.subscribe((t) => t && (last = t));
    await playFrames(4);
    sub.unsubscribe();
    expect(last).toMatchObject({ prompt: 'bossa sad calm', tempo: 90 });
  }, 60_000);

  it('reports bad commands and keeps playing', async () => {
    const n = issues.length;
    engine.command({ type: 'strength', feature: 'cowbell', value: 1 });
    engine.command({ type: 'tempo', bpm: 1000 });
    engine.command({ type: 'temperature', value: Number.NaN });
    engine.setAlphas({ cowbell: 10 });
    engine.setAlphas({ drums: -1 });
    expect(issues.slice(n)).toEqual([
      'command strength: unknown feature cowbell (the model\'s probes have: drums, bass, piano, guitar, minor, dense)',
      'command tempo: tempo must be in [60, 200], got: 1000',
      'command temperature: temperature must be in [0.05, 4], got: NaN',
      'alphas: cowbell=10 is not a feature of the probes with an alpha in [0, 1000]',
      'alphas: drums=-1 is not a feature of the probes with an alpha in [0, 1000]',
    ]);
    await playFrames(4);
  }, 30_000);
});
