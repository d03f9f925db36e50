import { describe, expect, it } from 'vitest';
import { alignPiecewise, describeAlignment, gapProblems } from './piecewise-align.js';
import { testSignal } from './signals.js';

const RATE = 48_000;

/** Deterministic music-like stereo: a few detuned partials and noise, never periodic, quiet at the start (a fade-in). */
function music(frames: number, seed = 1): [Float32Array, Float32Array] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const l = new Float32Array(frames);
  const r = new Float32Array(frames);
  const fade = 240;
  for (let n = 0; n < frames; n++) {
    const t = n / RATE;
    const g = Math.min(1, n / fade);
    l[n] = Math.fround(g * (0.2 * Math.sin(2 * Math.PI * 220.3 * t) + 0.1 * Math.sin(2 * Math.PI * 331.7 * t) + 0.05 * rand()));
    r[n] = Math.fround(g * (0.2 * Math.sin(2 * Math.PI * 164.9 * t + 1) + 0.05 * rand()));
  }
  return [l, r];
}

function silence(frames: number): [Float32Array, Float32Array] {
  return [new Float32Array(frames), new Float32Array(frames)];
}

function concat(...parts: [Float32Array, Float32Array][]): [Float32Array, Float32Array] {
  const n = parts.reduce((a, p) => a + p[0].length, 0);
  const out: [Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n)];
  let at = 0;
  for (const p of parts) {
    out[0].set(p[0], at);
    out[1].set(p[1], at);
    at += p[0].length;
  }
  return out;
}

function slice(x: [Float32Array, Float32Array], from: number, to = x[0].length): [Float32Array, Float32Array] {
  return [x[0].slice(from, to), x[1].slice(from, to)];
}

/** As jack_rec stores it: 32-bit integers. */
function int32(x: [Float32Array, Float32Array]): [Float32Array, Float32Array] {
  const q = (c: Float32Array) => Float32Array.from(c, (v) => Math.round(v * 2 ** 31) / 2 ** 31);
  return [q(x[0]), q(x[1])];
}

const LEAD = 5_000;
const REF = concat(silence(1000), music(4 * RATE), silence(500));
/** The first sounding frame of REF: the fade-in starts at 0. */
const FIRST = 1001;

/** A recording: a lead-in, then `body` (edited reference), then a silent tail. */
function recording(body: [Float32Array, Float32Array]): [Float32Array, Float32Array] {
  return int32(concat(silence(LEAD), body, silence(3000)));
}

describe('alignPiecewise', () => {
  it('a clean copy after a lead-in: everything matched, no gap, whatever the silences around it', () => {
    const a = alignPiecewise(REF, recording(REF));
    expect(a.failure).toBeNull();
    expect(a.gaps).toEqual([]);
    expect(a.refStart).toBeLessThanOrEqual(FIRST + 1);
    expect(a.recStart - a.refStart).toBe(LEAD);
    expect(a.matchedFrames).toBeGreaterThanOrEqual(4 * RATE - 1);
    expect(a.tail).toBe('complete');
    expect(a.tailFrames).toBe(0);
    expect(describeAlignment(a, RATE)).toMatch(/0 gap\(s\)/);
  });

  it('finds and measures silence inserted into the recording (an xrun), and keeps matching after it', () => {
    const at = 1000 + 20_000;
    const a = alignPiecewise(REF, recording(concat(slice(REF, 0, at), silence(700), slice(REF, at))));
    expect(a.failure).toBeNull();
    expect(a.gaps).toEqual([{ kind: 'inserted', refAt: at, recAt: LEAD + at, insertedFrames: 700, repeatedFrames: 0, droppedFrames: 0 }]);
    expect(a.insertedFrames).toBe(700);
    expect(a.matchedFrames).toBeGreaterThanOrEqual(4 * RATE - 1);
    expect(describeAlignment(a, RATE)).toContain('+14.6 ms silence @0.44 s');
  });

  it('finds a stretch of the reference missing from the recording, and one replaced by silence', () => {
    const rec = recording(concat(slice(REF, 0, 30_000), slice(REF, 30_300, 90_000), silence(512), slice(REF, 90_256)));
    const a = alignPiecewise(REF, rec);
    expect(a.failure).toBeNull();
    expect(a.gaps).toEqual([
      { kind: 'dropped', refAt: 30_000, recAt: LEAD + 30_000, insertedFrames: 0, repeatedFrames: 0, droppedFrames: 300 },
      { kind: 'replaced', refAt: 90_000, recAt: LEAD + 89_700, insertedFrames: 512, repeatedFrames: 0, droppedFrames: 256 },
    ]);
    expect(a.droppedFrames).toBe(556);
    expect(a.insertedFrames).toBe(512);
  });

  it('finds the start of the sound missing from the recording', () => {
    const a = alignPiecewise(REF, recording(slice(REF, FIRST + 500)));
    expect(a.failure).toBeNull();
    expect(a.gaps).toEqual([{ kind: 'dropped', refAt: FIRST, recAt: LEAD, insertedFrames: 0, repeatedFrames: 0, droppedFrames: 500 }]);
  });

  it('measures a silence inserted where the reference is itself silent (an engine underrun played during an xrun)', () => {
    const ref = concat(silence(1000), music(RATE, 2), silence(2000), music(RATE, 3));
    const at = 1000 + RATE + 1000;
    const a = alignPiecewise(ref, recording(concat(slice(ref, 0, at), silence(333), slice(ref, at))));
    expect(a.failure).toBeNull();
    expect(a.gaps.map((g) => [g.kind, g.insertedFrames, g.droppedFrames])).toEqual([['inserted', 333, 0]]);
  });

  it('measures gaps in the test signal exactly, and silence inserted into a pure tone too (the cheapest explanation wins)', () => {
    const signal: [Float32Array, Float32Array] = [new Float32Array(RATE), new Float32Array(RATE)];
    for (let n = 0; n < RATE; n++) [signal[0][n], signal[1][n]] = testSignal(n, RATE);
    const a = alignPiecewise(signal, recording(concat(slice(signal, 0, 10_000), silence(256), slice(signal, 10_000, 20_000), slice(signal, 20_512))));
    expect(a.failure).toBeNull();
    expect(a.gaps.map((g) => [g.kind, g.refAt, g.insertedFrames, g.droppedFrames])).toEqual([
      ['inserted', 10_000, 256, 0],
      ['dropped', 20_000, 0, 512],
    ]);
    // a tone repeats every period: what was dropped from it cannot be told apart from less, but inserted silence can
    const sine = Float32Array.from({ length: RATE }, (_, n) => Math.fround(0.4 * Math.sin((2 * Math.PI * n) / 48)));
    const tone: [Float32Array, Float32Array] = [sine, sine.slice()];
    const t = alignPiecewise(tone, recording(concat(slice(tone, 0, 10_000), silence(256), slice(tone, 10_000))));
    expect(t.failure).toBeNull();
    expect(t.gaps.map((g) => [g.kind, g.refAt, g.insertedFrames])).toEqual([['inserted', 10_000, 256]]);
  });

  it('reports a recording that ended early or went silent as a tail, with its length', () => {
    const ended = alignPiecewise(REF, int32(concat(silence(LEAD), slice(REF, 0, 150_000))));
    expect(ended.failure).toBeNull();
    expect(ended.tail).toBe('recording ended');
    expect(ended.tailFrames).toBe(REF[0].length - 150_000);
    const silent = alignPiecewise(REF, recording(concat(slice(REF, 0, 150_000), silence(10_000))));
    expect(silent.failure).toBeNull();
    expect(silent.tail).toBe('recording silent');
    expect(silent.tailFrames).toBe(REF[0].length - 150_000);
  });

  it('recognises a recording that repeats its last period and then falls silent (a closing JACK client)', () => {
    const body = concat(slice(REF, 0, 150_000), slice(REF, 149_744, 150_000), slice(REF, 149_744, 150_000), slice(REF, 149_744, 150_000), silence(5000));
    const a = alignPiecewise(REF, recording(body));
    expect(a.failure).toBeNull();
    expect(a.tail).toBe('recording repeats');
    expect(a.tailRepeat).toEqual({ period: 256, frames: 768 });
    expect(a.tailFrames).toBe(REF[0].length - 150_000);
    // the same repeat followed by more sound is not a tail
    const more = concat(slice(REF, 0, 150_000), slice(REF, 149_744, 150_000), slice(REF, 160_000));
    expect(alignPiecewise(REF, recording(more)).failure).not.toBeNull();
  });

  it('fails on an altered stretch, naming where', () => {
    const body = concat(slice(REF, 0, 50_000), slice(REF, 50_000, 50_400), slice(REF, 50_400));
    for (let n = 50_000; n < 50_400; n++) body[0][n] *= 0.5;
    const a = alignPiecewise(REF, recording(body));
    expect(a.failure?.refAt).toBe(50_000);
    expect(a.failure?.reason).toMatch(/neither silence, nor the reference/);
    expect(describeAlignment(a, RATE)).toMatch(/FAILED at reference 1\.042 s/);
  });

  it('fails on a single wrong sample', () => {
    const body = concat(REF);
    body[1][77_777] += 0.01;
    expect(alignPiecewise(REF, recording(body)).failure?.refAt).toBe(77_777);
  });

  it('fails when stretches arrive in the wrong order, or an older stretch comes back', () => {
    const swapped = concat(slice(REF, 0, 40_000), slice(REF, 42_000, 44_000), slice(REF, 40_000, 42_000), slice(REF, 44_000));
    expect(alignPiecewise(REF, recording(swapped)).failure).not.toBeNull();
    const older = concat(slice(REF, 0, 60_000), slice(REF, 50_000, 50_256), slice(REF, 60_000));
    expect(alignPiecewise(REF, recording(older)).failure?.reason).toMatch(/neither silence, nor the reference, nor a repeat/);
  });

  it('reports a stretch recorded twice in a row (a port buffer read again) as a repeat, and a cycle lost before it', () => {
    // what JACK recorded when the player's client missed a cycle: period 1 lost, period 2 twice
    const late = concat(slice(REF, 0, 60_000), slice(REF, 60_256, 60_512), slice(REF, 60_256));
    const a = alignPiecewise(REF, recording(late));
    expect(a.failure).toBeNull();
    expect(a.gaps.map((g) => [g.kind, g.refAt, g.repeatedFrames, g.droppedFrames])).toEqual([
      ['dropped', 60_000, 0, 256],
      ['repeated', 60_512, 256, 0],
    ]);
    expect(a.repeatedFrames).toBe(256);
    expect(describeAlignment(a, RATE)).toContain('5.3 ms repeated @1.26 s');
  });

  it('reports a stale period read in place of a lost one as a repeat that lost as much, and nothing longer', () => {
    // period 2 never reached the recorder: it read period 1's buffer again in that cycle
    const stale = concat(slice(REF, 0, 60_256), slice(REF, 60_000, 60_256), slice(REF, 60_512));
    const a = alignPiecewise(REF, recording(stale));
    expect(a.failure).toBeNull();
    expect(a.gaps.map((g) => [g.kind, g.refAt, g.repeatedFrames, g.droppedFrames])).toEqual([['repeated', 60_256, 256, 256]]);
    expect(describeAlignment(a, RATE)).toContain('5.3 ms repeated in place of 5.3 ms @1.26 s');
    // a repeat standing in for more than its own length is a jump, not a stale cycle
    const jump = concat(slice(REF, 0, 60_256), slice(REF, 60_000, 60_256), slice(REF, 61_000));
    expect(alignPiecewise(REF, recording(jump)).failure?.reason).toMatch(/neither silence, nor the reference, nor a repeat/);
  });

  it('with the graph cycle given, takes a cycle torn between itself and the next (per sample, per channel) for a torn cycle, and nothing else', () => {
    // jack_rec read the port while the player wrote the next cycle into it: left 174 frames new, 82 old; right 100 new
    const at = 60_536;
    const rec = recording(REF);
    const rAt = LEAD + at;
    const cut = (LEAD + at) % 256;
    expect(cut).toBe(0);
    rec[0].set(int32(slice(REF, at + 256, at + 256 + 174))[0], rAt);
    rec[1].set(int32(slice(REF, at + 256, at + 356))[1], rAt);
    const a = alignPiecewise(REF, rec, { cycle: 256 });
    expect(a.failure).toBeNull();
    expect(a.gaps.map((g) => [g.kind, g.refAt, g.recAt, g.tornFrames])).toEqual([['torn', at, rAt, 174]]);
    expect(describeAlignment(a, RATE)).toContain('cycle torn (174 frames) @1.26 s');
    // without the cycle it is a failure, and so is a cycle holding anything but its neighbours
    expect(alignPiecewise(REF, rec).failure).not.toBeNull();
    const wrong = recording(REF);
    wrong[0].set(int32(slice(REF, at + 1024, at + 1024 + 100))[0], rAt);
    expect(alignPiecewise(REF, wrong, { cycle: 256 }).failure).not.toBeNull();
  });

  it('fails on swapped channels, an inverted signal, and sound before the reference starts', () => {
    expect(alignPiecewise(REF, recording([REF[1], REF[0]])).failure).not.toBeNull();
    expect(alignPiecewise(REF, recording([REF[0].map((v) => -v), REF[1].map((v) => -v)])).failure).not.toBeNull();
    const noisyLead = recording(REF);
    noisyLead[0][100] = 0.3;
    expect(alignPiecewise(REF, noisyLead).failure?.reason).toMatch(/sounds before/);
  });

  it('fails on a silence longer than the search window (a dropout, not an xrun)', () => {
    const rec = recording(concat(slice(REF, 0, 50_000), silence(20_000), slice(REF, 50_000)));
    const a = alignPiecewise(REF, rec, { searchFrames: 9_600 });
    expect(a.failure?.reason).toMatch(/dropout/);
    expect(alignPiecewise(REF, rec).gaps).toHaveLength(1);
  });
});

describe('gapProblems', () => {
  const limits = { period: 256, maxGapFrames: 24_000, maxRepeatFrames: 256, maxInsertedFrames: 30_000, maxDroppedFrames: 2_000 };

  it('passes whole-cycle gaps within the limits, and names each limit broken', () => {
    const xruns = recording(concat(slice(REF, 0, 20_000), silence(1280), slice(REF, 20_000, 60_000), slice(REF, 60_512)));
    expect(gapProblems(alignPiecewise(REF, xruns), limits)).toEqual([]);
    const odd = recording(concat(slice(REF, 0, 20_000), silence(1000), slice(REF, 20_000)));
    expect(gapProblems(alignPiecewise(REF, odd), limits)).toEqual([expect.stringMatching(/not whole 256-frame cycles .*\+1000 -0/)]);
    const twice = recording(concat(slice(REF, 0, 60_000), slice(REF, 59_488, 60_000), slice(REF, 60_000)));
    expect(gapProblems(alignPiecewise(REF, twice), limits)).toEqual(['a repeat of 512 frames (at most 256)']);
    expect(gapProblems(alignPiecewise(REF, twice), { ...limits, maxRepeatFrames: 0 })).toEqual(['a repeat of 512 frames (at most 0)']);
    const long = recording(concat(slice(REF, 0, 20_000), silence(25_600), slice(REF, 20_000, 60_000), slice(REF, 62_560)));
    expect(gapProblems(alignPiecewise(REF, long), limits)).toEqual([
      'a silence of 25600 frames (at most 24000)',
      '2560 frames lost in all (at most 2000)',
    ]);
  });
});
