/** Test signals and comparisons for the audio output tests. */

/**
 * Sample `n` of a known stereo test signal: a 1 kHz sine (left) and a
 * 1.5 kHz sine (right), with clicks at irregular spacing, and a quiet
 * noise that keeps any stretch from repeating (a pure tone repeats every
 * few samples, and a gap in a recording of it could not be measured
 * exactly). Never silent for more than a sample.
 */
export function testSignal(n: number, sampleRate: number): [number, number] {
  const t = n / sampleRate;
  // clicks every ~0.5 s, the k-th one 37*k samples late, so no two gaps are equal
  const k = Math.floor(n / (sampleRate / 2));
  const click = n === k * (sampleRate / 2) + 37 * k ? 0.4 : 0;
  return [
    Math.fround(0.4 * Math.sin(2 * Math.PI * 1000 * t) + click + 0.02 * hashNoise(2 * n)),
    Math.fround(0.3 * Math.sin(2 * Math.PI * 1500 * t) - click + 0.02 * hashNoise(2 * n + 1)),
  ];
}

/** A fixed pseudo-random value in [-1, 1) for each integer (no state: any sample can be computed alone). */
function hashNoise(i: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 31 - 1;
}

/** Fills `out` (interleaved stereo) with testSignal from frame `start`, silence from frame `length` on. */
export function fillTestSignal(out: Float32Array, start: number, length: number, sampleRate: number): void {
  for (let i = 0; i < out.length / 2; i++) {
    const n = start + i;
    const [l, r] = n < length ? testSignal(n, sampleRate) : [0, 0];
    out[2 * i] = l;
    out[2 * i + 1] = r;
  }
}

/**
 * Stretches where every channel is silent (|x| <= threshold) between the
 * first and the last sounding frame: the faded silences a player's underrun
 * leaves in what it plays.
 */
export function silentStretches(channels: readonly Float32Array[], threshold = 0): { at: number; frames: number }[] {
  const n = Math.min(...channels.map((c) => c.length));
  const silent = (i: number) => channels.every((c) => Math.abs(c[i]) <= threshold);
  let first = 0;
  while (first < n && silent(first)) first++;
  let last = n - 1;
  while (last > first && silent(last)) last--;
  const out: { at: number; frames: number }[] = [];
  for (let i = first; i <= last; i++) {
    if (!silent(i)) continue;
    const at = i;
    while (i <= last && silent(i)) i++;
    out.push({ at, frames: i - at });
  }
  return out;
}

/** Splits interleaved stereo into two channels. */
export function deinterleave(interleaved: Float32Array): [Float32Array, Float32Array] {
  const n = interleaved.length / 2;
  const l = new Float32Array(n);
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    l[i] = interleaved[2 * i];
    r[i] = interleaved[2 * i + 1];
  }
  return [l, r];
}

export { percentile } from '../../src/util/percentile.js';
