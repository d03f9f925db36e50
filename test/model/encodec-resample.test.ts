/** The 32 -> 48 kHz resampler (libsamplerate, WASM): pitch, length, and streaming equal to one-shot. */
import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { describe, expect, it } from 'vitest';
import { resample, StreamResampler } from '../../src/audio/resample.js';

const FROM = 32_000;
const TO = 48_000;

function sine(hz: number, rate: number, n: number, amp = 0.5): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * hz * i) / rate);
  return x;
}

/** Frequency from upward zero crossings (interpolated), over [from, to). */
function crossingHz(x: Float32Array, rate: number, from: number, to: number): number {
  const times: number[] = [];
  for (let i = from + 1; i < to; i++) {
    if (x[i - 1] < 0 && x[i] >= 0) times.push(i - 1 + x[i - 1] / (x[i - 1] - x[i]));
  }
  return ((times.length - 1) * rate) / (times[times.length - 1] - times[0]);
}

function maxAbsDiff(a: Float32Array, b: Float32Array, from = 0, to = Math.min(a.length, b.length)): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function streamed(x: Float32Array, sizes: readonly number[]): Promise<Float32Array> {
  const r = await StreamResampler.create(FROM, TO);
  const parts: Float32Array[] = [];
  for (let at = 0, i = 0; at < x.length; i++) {
    const n = sizes[i % sizes.length];
    parts.push(r.process(x.subarray(at, at + n)));
    at += n;
  }
  parts.push(r.flush());
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('resampling 32 kHz -> 48 kHz', () => {
  it('turns a 1 kHz sine at 32 kHz into a 1 kHz sine at 48 kHz of 1.5x the length, in phase', async () => {
    const x = sine(1000, FROM, FROM); // 1 s
    const y = await resample(x, FROM, TO);
    expect(y.length).toBe(TO);
    const hz = crossingHz(y, TO, 1000, TO - 1000);
    expect(Math.abs(hz - 1000)).toBeLessThan(0.01);
    // libsamplerate adds no delay: the output is the ideal 48 kHz sine, away from the ends
    const ideal = sine(1000, TO, TO);
    const err = maxAbsDiff(y, ideal, 500, TO - 500);
    console.log(`resample 1 kHz: ${hz.toFixed(4)} Hz, max |y - ideal| in the interior ${err.toExponential(2)} (amplitude 0.5)`);
    expect(err).toBeLessThan(1e-3);
  });

  it('streamed in chunks equals one-shot, with the same length', async () => {
    const x = new Float32Array(FROM * 2);
    // a sweep plus a little noise: every chunk edge lands somewhere different in the waveform
    let seed = 12345;
    for (let i = 0; i < x.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      x[i] = 0.4 * Math.sin(2 * Math.PI * (200 + (i / x.length) * 4000) * (i / FROM)) + 0.05 * (seed / 2 ** 32 - 0.5);
    }
    const once = await resample(x, FROM, TO);
    expect(once.length).toBe(2 * TO);
    const figures: string[] = [];
    for (const sizes of [[640 * 25], [1280], [777, 1, 4096, 333]]) {
      const s = await streamed(x, sizes);
      expect(s.length).toBe(once.length);
      const interior = maxAbsDiff(s, once, 0, once.length - 200);
      const end = maxAbsDiff(s, once, once.length - 200);
      figures.push(`chunks ${sizes.join('/')}: interior ${interior.toExponential(2)}, last 200 samples ${end.toExponential(2)}`);
      expect(interior).toBeLessThan(1e-5);
      expect(end).toBeLessThan(0.05);
    }
    // and the library's own one-shot (libsamplerate's simple API, end of input known)
    const lib = await libsamplerate.create(1, FROM, TO, { converterType: libsamplerate.ConverterType.SRC_SINC_MEDIUM_QUALITY });
    const simple = lib.simple(x);
    lib.destroy();
    const vsSimple = maxAbsDiff(once, simple, 0, once.length - 200);
    const vsSimpleEnd = maxAbsDiff(once, simple, once.length - 200);
    figures.push(`vs libsamplerate simple(): length ${simple.length}, interior ${vsSimple.toExponential(2)}, last 200 samples ${vsSimpleEnd.toExponential(2)}`);
    expect(Math.abs(simple.length - once.length)).toBeLessThanOrEqual(1);
    expect(vsSimple).toBeLessThan(1e-5);
    console.log(`resample streamed vs one-shot: ${figures.join('; ')}`);
  });

  it('refuses a bad rate and a use after close', async () => {
    await expect(StreamResampler.create(0, TO)).rejects.toThrow(/fromRate must be a positive integer/);
    const r = await StreamResampler.create(FROM, TO);
    r.close();
    expect(() => r.process(new Float32Array(4))).toThrow(/closed/);
  });
});
