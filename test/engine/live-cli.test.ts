/**
 * smitin live as a user runs it, on the real-time null sink (no sound card
 * here): an OSC message over real UDP moves the strength the worker uses
 * (read back from the engine's telemetry, sent over OSC to a UDP listener),
 * the recording is a playable WAV of what played, and Ctrl-C (SIGINT) stops
 * it cleanly with the recording finalised.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { OSC } from '../../src/control/osc-source.js';
import { tempDir } from '../helpers/cli.js';
import { freePort, listen, runLive, until } from '../helpers/live.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

const ready = MODEL_DIR === SHIPPED_MODEL;

describe.skipIf(!ready)('smitin live', () => {
  it('an OSC knob reaches the engine, telemetry arrives over OSC, and the recording holds what played', async () => {
    const dir = tempDir();
    const oscPort = await freePort();
    const telemetry = await listen();
    const wav = join(dir, 'take.wav');
    const live = runLive([String(oscPort), '--osc-target', `127.0.0.1:${telemetry.port}`, '--record', wav, '--duration', '6', '--json', '--prompt', 'rock']);
    try {
      expect(await until(() => live.err().includes('OSC: listening'), 20_000)).toBe(true);
      const strength = () => telemetry.got.filter((m) => m.address === '/smitin/strength/drums').map((m) => m.args[0] as number);
      expect(await until(() => strength().length > 0, 5_000)).toBe(true);
      expect(strength().at(-1)).toBe(0);
      const client = dgram.createSocket('udp4');
      client.send(Buffer.from(new OSC.Message('/smitin/feature/drums', 0.75).pack()), oscPort, '127.0.0.1');
      // the value the worker steers with comes back in its telemetry (after the preset's 40 ms smoothing)
      expect(await until(() => strength().at(-1) === 0.75, 3_000)).toBe(true);
      // an OSC app asks for the whole state; it arrives at the telemetry target, features and words first
      client.send(Buffer.from(new OSC.Message('/smitin/state').pack()), oscPort, '127.0.0.1');
      expect(await until(() => telemetry.got.some((m) => m.address === '/smitin/features'), 3_000)).toBe(true);
      expect(telemetry.got.find((m) => m.address === '/smitin/features')?.args).toEqual(['drums', 'bass', 'piano', 'guitar', 'minor', 'dense']);
      expect(telemetry.got.find((m) => m.address === '/smitin/known-words')?.args[0]).toContain('funk');
      client.close();
      expect(telemetry.got.some((m) => m.address === '/smitin/monitor/drums')).toBe(true);
      expect(telemetry.got.some((m) => m.address === '/smitin/status')).toBe(true);
      expect(await live.exited).toBe(0);
    } finally {
      live.child.kill('SIGKILL');
      telemetry.close();
    }
    const figures = JSON.parse(live.out());
    expect(figures).toMatchObject({ device: 'null sink', sampleRate: 48000, underruns: 0, audioErrors: 0 });
    expect(figures.controlLatencyMs.count).toBeGreaterThan(0);
    const rec = decodeWav(readFileSync(wav));
    expect(rec.sampleRate).toBe(48000);
    // the null sink pulls in real time: about the 6 s it ran
    expect(rec.channels[0].length / 48000).toBeGreaterThan(5);
    expect(rec.channels[0].length / 48000).toBeLessThan(7);
    const rms = Math.sqrt(rec.channels[0].reduce((a, v) => a + v * v, 0) / rec.channels[0].length);
    expect(rms).toBeGreaterThan(0.01);
  }, 60_000);

  it('Ctrl-C stops cleanly and finalises the recording', async () => {
    const dir = tempDir();
    const wav = join(dir, 'take.wav');
    const live = runLive(['0', '--record', wav, '--json']);
    try {
      expect(await until(() => live.err().includes('recording to'), 20_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 2500));
      live.child.kill('SIGINT');
      expect(await live.exited).toBe(0);
    } finally {
      live.child.kill('SIGKILL');
    }
    const rec = decodeWav(readFileSync(wav));
    expect(rec.channels[0].length / 48000).toBeGreaterThan(2);
    const figures = JSON.parse(live.out());
    expect(figures.underruns).toBe(0);
    // nobody moved a control: there is no control latency to show (the preset's own values at start are not one)
    expect(figures.controlLatencyMs).toEqual({ count: 0, p50: null, p99: null });
  }, 60_000);

  it('plays without steering when asked (--probes none), and refuses a bad argument in one line', async () => {
    const live = runLive(['0', '--probes', 'none', '--duration', '1.5', '--json']);
    expect(await live.exited).toBe(0);
    const figures = JSON.parse(live.out().split('\n').filter((l) => l.startsWith('{')).at(-1)!);
    expect(figures.features).toEqual([]);
    expect(figures.underruns).toBe(0);
    const bad = runLive(['0', '--latency', '5000']);
    expect(await bad.exited).toBe(2);
    expect(bad.err().trim().split('\n')).toHaveLength(1);
    expect(bad.err()).toMatch(/latency must be within \[10, 2000\], got: 5000/);
  }, 60_000);
});
