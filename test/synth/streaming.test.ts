import { describe, expect, it } from 'vitest';
import { samplesPerFrame } from '../../src/constants.js';
import { densePattern } from '../../src/model/codec/synth/demo-pattern.js';
import { FrameClock } from '../../src/model/codec/synth/frame-clock.js';
import { BandSynth, renderTokens } from '../../src/model/codec/synth/index.js';
import { encodeMelody, type FrameTokens } from '../../src/model/tinyband/layout.js';
import { drumTokens, frameStart } from './helpers.js';

const tokens = densePattern(4);
const frames = tokens[0].length;
const frame = (t: number): FrameTokens => [tokens[0][t], tokens[1][t], tokens[2][t], tokens[3][t]];

/** Streams all of `synth`'s queue with block sizes from `sizes` (cycled). */
function stream(synth: BandSynth, sizes: () => number): { left: Float32Array; right: Float32Array } {
  const total = synth.queuedSamples();
  const left = new Float32Array(total);
  const right = new Float32Array(total);
  let pos = 0;
  while (pos < total) {
    const n = Math.min(sizes(), total - pos);
    const got = synth.process(left.subarray(pos, pos + n), right.subarray(pos, pos + n));
    expect(got).toBe(n);
    pos += n;
  }
  return { left, right };
}

function expectIdentical(a: { left: Float32Array; right: Float32Array }, b: { left: Float32Array; right: Float32Array }): void {
  expect(a.left.length).toBe(b.left.length);
  let mismatches = 0;
  for (let i = 0; i < a.left.length; i++) if (a.left[i] !== b.left[i] || a.right[i] !== b.right[i]) mismatches++;
  expect(mismatches).toBe(0);
}

/** A small deterministic generator of block sizes. */
function randomSizes(seed: number, max: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return 1 + (s % max);
  };
}

describe('streaming equals the whole render, sample for sample', () => {
  const whole = renderTokens(tokens, { tempo: 133 });

  it.each([1, 127, 256, 1000, 4801])('blocks of %i samples', (size) => {
    const synth = new BandSynth({ tempo: 133 });
    for (let t = 0; t < frames; t++) synth.pushFrame(frame(t));
    expectIdentical(stream(synth, () => size), whole);
  });

  it('random block sizes, frames pushed just in time (underruns in between)', () => {
    const synth = new BandSynth({ tempo: 133 });
    const next = randomSizes(7, 3000);
    const left = new Float32Array(whole.left.length);
    const right = new Float32Array(whole.left.length);
    let pos = 0;
    let t = 0;
    let underruns = 0;
    while (pos < left.length) {
      const n = Math.min(next(), left.length - pos);
      // Sometimes too little is queued: process must stop early and say so.
      while (t < frames && synth.queuedSamples() < n / 2) synth.pushFrame(frame(t++));
      const got = synth.process(left.subarray(pos, pos + n), right.subarray(pos, pos + n));
      expect(got).toBe(Math.min(n, got + synth.queuedSamples()));
      if (got < n) {
        underruns++;
        expect(synth.queuedSamples()).toBe(0);
        // What was not written is zeroed.
        expect(left.subarray(pos + got, pos + n).every((x) => x === 0)).toBe(true);
      }
      pos += got;
      if (got < n && t === frames) break;
    }
    expect(underruns).toBeGreaterThan(0);
    expect(pos).toBe(left.length);
    expectIdentical({ left, right }, whole);
  });

  it('with a tempo change mid-stream: odd and random blocks agree, and frames start where they should', () => {
    const render = (sizes: () => number): { left: Float32Array; right: Float32Array } => {
      const synth = new BandSynth({ tempo: 97 });
      for (let t = 0; t < 20; t++) synth.pushFrame(frame(t));
      synth.setTempo(181);
      for (let t = 20; t < frames; t++) synth.pushFrame(frame(t));
      return stream(synth, sizes);
    };
    const a = render(() => 1 << 20);
    expectIdentical(render(() => 127), a);
    expectIdentical(render(randomSizes(3, 2000)), a);
    // Frames 0..19 at 97 BPM, the rest at 181 BPM, anchored on the exact
    // (unrounded) start of frame 20: no accumulated rounding.
    const anchor = 20 * samplesPerFrame(97);
    expect(a.left.length).toBe(Math.round(anchor + (frames - 20) * samplesPerFrame(181)));
  });

  it('queuedSamples counts exactly the frame lengths, and reset starts over identically', () => {
    const synth = new BandSynth({ tempo: 133 });
    for (let t = 0; t < frames; t++) synth.pushFrame(frame(t));
    expect(synth.queuedSamples()).toBe(frameStart(frames, 133));
    const block = new Float32Array(1000);
    synth.process(block, new Float32Array(1000));
    expect(synth.queuedSamples()).toBe(frameStart(frames, 133) - 1000);
    synth.reset();
    expect(synth.queuedSamples()).toBe(0);
    for (let t = 0; t < frames; t++) synth.pushFrame(frame(t));
    expectIdentical(stream(synth, () => 999), whole);
  });
});

describe('frame timing', () => {
  it.each([60, 133, 200])('a note on frame i starts on sample round(i * samplesPerFrame) at %i BPM', (bpm) => {
    const base = drumTokens('kick', 64, 1000);
    const first = renderTokens(base, { tempo: bpm }).left;
    // Nothing at all before the first hit, and sound right on it.
    expect(first[0]).not.toBe(0);
    for (const i of [7, 29, 63]) {
      const t = base.map((row) => row.slice());
      t[0][i] = 1;
      // Piano on the same frame: tonal parts run at half rate, so allow the interpolator's sample.
      t[3][i] = encodeMelody({ kind: 'note', instrument: 'piano', pitch: 70 });
      const drumOnly = base.map((row) => row.slice());
      drumOnly[0][i] = 1;
      const withHit = renderTokens(drumOnly, { tempo: bpm }).left;
      const withBoth = renderTokens(t, { tempo: bpm }).left;
      const s = frameStart(i, bpm);
      let firstDiff = -1;
      for (let k = 0; k < first.length && firstDiff < 0; k++) if (withHit[k] !== first[k]) firstDiff = k;
      expect(firstDiff, `kick on frame ${i}`).toBe(s);
      let pianoStart = -1;
      for (let k = 0; k < first.length && pianoStart < 0; k++) if (withBoth[k] !== withHit[k]) pianoStart = k;
      expect(pianoStart - s, `piano on frame ${i}`).toBeGreaterThanOrEqual(0);
      expect(pianoStart - s, `piano on frame ${i}`).toBeLessThanOrEqual(2);
    }
  });

  it('the clock does not drift over a million frames, nor across tempo changes', () => {
    const clock = new FrameClock(133, 48000);
    let pos = 0;
    for (let i = 0; i < 1_000_000; i++) pos += clock.next();
    expect(pos).toBe(Math.round(1_000_000 * samplesPerFrame(133)));
    const changing = new FrameClock(60, 48000);
    let exact = 0;
    let total = 0;
    const tempos = [60, 61.5, 200, 77.7, 133];
    for (let k = 0; k < 5000; k++) {
      const bpm = tempos[k % tempos.length];
      changing.setTempo(bpm);
      for (let i = 0; i < 37; i++) {
        total += changing.next();
        exact += samplesPerFrame(bpm);
      }
    }
    expect(Math.abs(total - exact)).toBeLessThanOrEqual(0.5 + 1e-6);
  });
});
