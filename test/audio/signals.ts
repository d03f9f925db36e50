/** Test signals and comparisons for the audio output tests. */
import FFT from 'fft.js';

/**
 * Sample `n` of a known stereo test signal: a 1 kHz sine (left) and a
 * 1.5 kHz sine (right), with clicks at irregular spacing so that
 * cross-correlation has one clear peak. Never silent for more than a sample.
 */
export function testSignal(n: number, sampleRate: number): [number, number] {
  const t = n / sampleRate;
  // clicks every ~0.5 s, the k-th one 37*k samples late, so no two gaps are equal
  const k = Math.floor(n / (sampleRate / 2));
  const click = n === k * (sampleRate / 2) + 37 * k ? 0.4 : 0;
  return [Math.fround(0.4 * Math.sin(2 * Math.PI * 1000 * t) + click), Math.fround(0.3 * Math.sin(2 * Math.PI * 1500 * t) - click)];
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
 * The lag (in samples) at which `y` best matches `x` (y[lag + i] ~ x[i]),
 * found by FFT cross-correlation, and the normalized correlation there.
 */
export function alignByCrossCorrelation(x: Float32Array, y: Float32Array): { lag: number; correlation: number } {
  let size = 1;
  while (size < x.length + y.length) size *= 2;
  const fft = new FFT(size);
  const spectrum = (v: Float32Array): number[] => {
    const input = new Array<number>(size).fill(0);
    for (let i = 0; i < v.length; i++) input[i] = v[i];
    const out = fft.createComplexArray();
    fft.realTransform(out, input);
    fft.completeSpectrum(out);
    return out;
  };
  const X = spectrum(x);
  const Y = spectrum(y);
  // conj(X) * Y -> sum_i x[i] y[i + lag]
  const prod = fft.createComplexArray();
  for (let k = 0; k < size; k++) {
    const xr = X[2 * k];
    const xi = -X[2 * k + 1];
    const yr = Y[2 * k];
    const yi = Y[2 * k + 1];
    prod[2 * k] = xr * yr - xi * yi;
    prod[2 * k + 1] = xr * yi + xi * yr;
  }
  const corr = fft.createComplexArray();
  fft.inverseTransform(corr, prod);
  let lag = 0;
  let best = -Infinity;
  for (let l = 0; l < y.length; l++) {
    if (corr[2 * l] > best) {
      best = corr[2 * l];
      lag = l;
    }
  }
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < x.length; i++) {
    xx += x[i] * x[i];
    const v = y[lag + i] ?? 0;
    yy += v * v;
  }
  return { lag, correlation: best / Math.sqrt(xx * yy) };
}

/** Longest run of samples where every channel is below `threshold` in magnitude, within [from, to). */
export function longestSilence(channels: readonly Float32Array[], from: number, to: number, threshold = 1e-5): number {
  let longest = 0;
  let run = 0;
  for (let i = from; i < to; i++) {
    if (channels.every((c) => Math.abs(c[i]) < threshold)) {
      run++;
      if (run > longest) longest = run;
    } else {
      run = 0;
    }
  }
  return longest;
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
