/**
 * Loops: `/smitin/loop N` freezes the last N whole bars from the next bar
 * line and replays their tokens through the codec, every repetition the
 * same, until released, a knob moves or a prompt arrives; the model then
 * goes on from what played. The generation loop runs in-process on the
 * shipped tinyband (a frame is a 16th, a bar 16 frames), frame by frame.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAMES_PER_BEAT, BEATS_PER_BAR } from '../../src/constants.js';
import { ControlBlock } from '../../src/engine/control-block.js';
import { GenerationLoop, TELEMETRY_MS, type LoopMessage } from '../../src/engine/generation-loop.js';
import { StereoRing } from '../../src/engine/ring.js';
import type { MusicgenModel } from '../../src/model/musicgen/index.js';
import { loadSteerableModel } from '../../src/smitin/prepare.js';
import { readProbeSet } from '../../src/smitin/probe-set.js';
import { DEFAULT_STEERING } from '../../src/smitin/steerer.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

const BAR = FRAMES_PER_BEAT * BEATS_PER_BAR;

describe.skipIf(MODEL_DIR !== SHIPPED_MODEL)('loops', () => {
  let model: MusicgenModel;
  beforeAll(async () => {
    model = await loadSteerableModel(SHIPPED_MODEL, { threads: 1 });
  }, 60_000);
  afterAll(async () => model?.release());

  /** A loop driven frame by frame; each frame's tokens and audio (left channel) kept. */
  async function band() {
    const set = readProbeSet(join(SHIPPED_MODEL, 'probes.safetensors'));
    const controls = ControlBlock.allocate(set.features.map((f) => f.name), 1, 1.5);
    const ring = StereoRing.allocate(48000 * 4);
    const messages: LoopMessage[] = [];
    const loop = await GenerationLoop.create(model, ring, controls, set, { prompt: 'funk happy energetic', tempo: 120, sampleRate: 48000, targetFrames: 48000 * 3, seed: 3, steering: DEFAULT_STEERING, reportTokens: true }, (m) => messages.push(m));
    const tokens: number[][] = [];
    const audio: Float32Array[] = [];
    const run = async (until: number, at: Record<number, () => void> = {}) => {
      while (tokens.length < until) {
        at[tokens.length]?.();
        const seen = messages.length;
        await loop.produceFrame();
        const t = messages.slice(seen).find((m) => m.type === 'tokens') as { frame: number[] };
        tokens.push(t.frame);
        const out = new Float32Array(ring.available() * 2);
        const n = ring.readInto(out, ring.available());
        audio.push(out.filter((_, i) => i % 2 === 0 && i < 2 * n));
      }
    };
    return { loop, controls, messages, tokens, audio, run };
  }

  const same = (a: number[][], b: number[][]) => a.length === b.length && a.every((f, i) => f.join() === b[i].join());
  const concat = (blocks: Float32Array[]) => Float32Array.from(blocks.flatMap((b) => Array.from(b)));
  const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

  it('replays the last 2 whole bars from the next bar line, each repetition the same tokens and the same audio', async () => {
    const b = await band();
    await b.run(40, {}); // 2.5 bars in
    b.loop.handle({ type: 'loop', bars: 2 });
    await b.run(BAR * 9);
    const original = b.tokens.slice(BAR, 3 * BAR);
    for (let rep = 0; rep < 3; rep++) expect(same(b.tokens.slice(3 * BAR + rep * 2 * BAR, 5 * BAR + rep * 2 * BAR), original)).toBe(true);
    // the repetitions sound alike too: only the reverb's long tail from before the loop differs
    const reps = [0, 1, 2].map((rep) => concat(b.audio.slice(3 * BAR + rep * 2 * BAR, 5 * BAR + rep * 2 * BAR)));
    expect(rms(reps[0])).toBeGreaterThan(0.01);
    const diff = (x: Float32Array, y: Float32Array) => rms(x.map((v, i) => v - y[i]));
    expect(diff(reps[1], reps[2]) / rms(reps[1])).toBeLessThan(1e-3);
    expect(diff(reps[0], reps[1]) / rms(reps[0])).toBeLessThan(0.02);
    // telemetry goes out at most every TELEMETRY_MS, and replayed frames take no model step (all of the loop can pass
    // between two reports): one more frame after that interval reports the loop still playing
    await new Promise((r) => setTimeout(r, TELEMETRY_MS + 20));
    await b.run(BAR * 9 + 1);
    const tele = b.messages.filter((m) => m.type === 'telemetry') as { looping: number }[];
    expect(tele.at(-1)?.looping).toBe(2);
    // the notes sent as MIDI take their velocities from the same dice as the synth: the frame's own
    const dice = (b.messages.filter((m) => m.type === 'tokens') as { dice: number }[]).map((m) => m.dice);
    expect(dice.slice(3 * BAR, 9 * BAR)).toEqual(Array.from({ length: 6 * BAR }, (_, i) => BAR + (i % (2 * BAR))));
  }, 120_000);

  it('a knob move ends the loop at the frame it lands on, and the model goes on from there', async () => {
    const b = await band();
    await b.run(BAR * 2);
    b.loop.handle({ type: 'loop', bars: 1 });
    await b.run(BAR * 5 + 6, {});
    b.controls.setStrength('drums', 1);
    await b.run(BAR * 8);
    const loopBar = b.tokens.slice(BAR, 2 * BAR);
    // frames 32.. replay bar 1 until the move (frame 86); from there the model generates
    expect(same(b.tokens.slice(2 * BAR, 5 * BAR + 6), [...loopBar, ...loopBar, ...loopBar, ...loopBar.slice(0, 6)].slice(0, 3 * BAR + 6))).toBe(true);
    const after = b.tokens.slice(5 * BAR + 6, 8 * BAR);
    const replayed = after.filter((f, i) => f.join() === loopBar[(6 + i) % BAR].join()).length;
    expect(replayed).toBeLessThan(after.length * 0.8);
    const mark = b.messages.find((m) => m.type === 'mark') as { position: number } | undefined;
    const positions = (b.messages.filter((m) => m.type === 'tokens') as { position: number }[]).map((m) => m.position);
    expect(mark && positions.indexOf(mark.position)).toBe(5 * BAR + 6);
  }, 120_000);

  it('0 releases the loop; a prompt ends it and applies at once; a loop asked for before a whole bar was made waits for one', async () => {
    const b = await band();
    b.loop.handle({ type: 'loop', bars: 4 });
    await b.run(BAR * 3); // only 1 whole bar exists at frame 16: the loop takes that one
    const bar0 = b.tokens.slice(0, BAR);
    expect(same(b.tokens.slice(BAR, 2 * BAR), bar0)).toBe(true);
    b.loop.handle({ type: 'loop', bars: 0 });
    await b.run(BAR * 5);
    expect(same(b.tokens.slice(3 * BAR, 4 * BAR), bar0)).toBe(false);
    b.loop.handle({ type: 'loop', bars: 1 });
    await b.run(BAR * 7 + 3);
    b.loop.handle({ type: 'prompt', text: 'ballad sad calm' });
    await b.run(BAR * 8);
    // telemetry goes out at most every 100 ms: one more frame after that reports the state
    await new Promise((r) => setTimeout(r, 120));
    await b.run(BAR * 8 + 1);
    const tele = b.messages.filter((m) => m.type === 'telemetry') as { prompt: string; reprimes: number }[];
    expect(tele.at(-1)?.prompt ?? '').toBe('ballad sad calm');
  }, 120_000);
});
