/** The ring and the output stage with several stereo pairs a frame (--outputs stems): every pair arrives in its place, faded alike. */
import { describe, expect, it } from 'vitest';
import { OutputStage } from '../../src/engine/output-stage.js';
import { StereoRing } from '../../src/engine/ring.js';

const PAIRS = 5;
const pairs = (from: number, n: number) =>
  Array.from({ length: PAIRS }, (_, p) => ({
    left: Float32Array.from({ length: n }, (_, i) => (from + i) * 100 + 2 * p),
    right: Float32Array.from({ length: n }, (_, i) => (from + i) * 100 + 2 * p + 1),
  }));

describe('a ring of several pairs', () => {
  it('hands out frames of 2 * pairs channels, every pair in its place, across the wrap', () => {
    const ring = StereoRing.allocate(64, PAIRS);
    expect(ring.channels).toBe(10);
    const stage = new OutputStage(ring, 48_000, 0.001);
    let written = 0;
    let read = 0;
    for (let round = 0; round < 10; round++) {
      written += ring.writePairs(pairs(written, 40));
      const out = stage.pull(40);
      expect(out.length).toBe(400);
      // the first frame fades in (one frame of fade at this rate): skip it
      for (let i = round === 0 ? 1 : 0; i < 40; i++) for (let c = 0; c < 10; c++) expect(out[10 * i + c]).toBe((read + i) * 100 + c);
      read += 40;
    }
    expect(stage.underruns).toBe(0);
  });

  it('an underrun fades every channel out, and a one-pair write into it is refused', () => {
    const ring = StereoRing.allocate(64, PAIRS);
    const stage = new OutputStage(ring, 48_000, 0.2);
    ring.writePairs(pairs(1, 30));
    const out = stage.pull(40);
    expect(stage.underruns).toBe(1);
    // the last frame that played is faded to 0 on all 10 channels, the rest is silence
    for (let c = 0; c < 10; c++) expect(out[10 * 29 + c]).toBe(0);
    for (let c = 0; c < 10; c++) expect(out[10 * 15 + c]).toBeGreaterThan(0);
    expect(out.subarray(300).every((v) => v === 0)).toBe(true);
    expect(() => ring.write(new Float32Array(4), new Float32Array(4))).toThrow(/5 pairs/);
    expect(() => ring.writePairs(pairs(0, 4).slice(0, 2))).toThrow(/takes 5 pairs/);
  });

  it('a cue that comes early pads with silence, then hands out the cued music with every pair in its place', () => {
    const ring = StereoRing.allocate(4_800, PAIRS);
    const stage = new OutputStage(ring, 48_000, 0.001);
    ring.writePairs(pairs(0, 100)); // stale: queued before the cue
    stage.cueAt(performance.now() + 5);
    stage.cueMark(ring.written());
    ring.writePairs(pairs(1_000, 1_000));
    const out = stage.pull(1_024);
    const first = Array.from({ length: 1_024 }, (_, i) => i).find((i) => out[10 * i + 1] !== 0)!;
    // about 5 ms of silence (240 frames at 48 kHz; the pull comes a little later than the cue was set)
    expect(first).toBeGreaterThan(100);
    expect(first).toBeLessThanOrEqual(241);
    // the one-frame fade-in silences cued frame 0: frame first + i is cued frame 1 + i, on every channel
    for (let i = 0; i < 1_024 - first; i++) for (let c = 0; c < 10; c++) expect(out[10 * (first + i) + c]).toBe((1_001 + i) * 100 + c);
  });
});
