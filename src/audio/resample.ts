/**
 * Sample-rate conversion (MusicGen's 32 kHz to the 48 kHz output), streamed.
 *
 * The library is @alexanderolsen/libsamplerate-js: Erik de Castro Lopo's
 * libsamplerate (Secret Rabbit Code, the band-limited sinc converter that
 * Audacity and many DAWs use) compiled to WebAssembly. It was picked because
 * it is maintained (2.x, TypeScript types, tens of thousands of installs a
 * month), needs no native build (npm install works everywhere Node 20 does),
 * and exposes libsamplerate's `full` API: a stateful converter that keeps its
 * filter history between calls, so audio resampled chunk by chunk is the same
 * as resampled at once, with no click at chunk edges. (wave-resampler and
 * audio-resampler convert whole buffers only; the latter needs Web Audio.)
 *
 * The converter holds back a few dozen samples (its filter's look-ahead);
 * flush() pushes silence through to get them out and trims the total to
 * round(input x ratio), so a stream and a one-shot conversion have the same
 * length.
 *
 * Threading: process() runs synchronously in the calling thread (WASM).
 */
import libsamplerate from '@alexanderolsen/libsamplerate-js';

type Src = Awaited<ReturnType<typeof libsamplerate.create>>;

export const RESAMPLE_QUALITIES = { best: 0, medium: 1, fastest: 2 } as const;
export type ResampleQuality = keyof typeof RESAMPLE_QUALITIES;

/** A mono, stateful converter from one rate to another. Call close() when done. */
export class StreamResampler {
  private inSamples = 0;
  private outSamples = 0;
  private closed = false;

  private constructor(
    private readonly src: Src,
    readonly fromRate: number,
    readonly toRate: number,
  ) {}

  /** libsamplerate's sinc converters; medium (97 dB SNR, 90 % bandwidth) is the default, best costs about 3x more. */
  static async create(fromRate: number, toRate: number, quality: ResampleQuality = 'medium'): Promise<StreamResampler> {
    for (const [name, rate] of [['fromRate', fromRate], ['toRate', toRate]] as const) {
      if (!Number.isInteger(rate) || rate < 1) throw new RangeError(`${name} must be a positive integer (Hz), got: ${rate}`);
    }
    const src = await libsamplerate.create(1, fromRate, toRate, { converterType: RESAMPLE_QUALITIES[quality] });
    return new StreamResampler(src, fromRate, toRate);
  }

  /** The samples a conversion of `n` input samples ends with. */
  outputLength(n: number): number {
    return Math.round((n * this.toRate) / this.fromRate);
  }

  /** Converts the next piece of the stream; returns what the converter releases (a little less than ratio x input at first). */
  process(input: Float32Array): Float32Array {
    if (this.closed) throw new Error('the resampler is closed');
    if (input.length === 0) return new Float32Array(0);
    this.inSamples += input.length;
    if (this.fromRate === this.toRate) {
      this.outSamples += input.length;
      return input.slice();
    }
    // copy: the library may hand back a view that its next call overwrites
    const out = this.src.full(input).slice();
    this.outSamples += out.length;
    return out;
  }

  /** Ends the stream: returns the held-back samples, so the whole output is round(input x ratio) long. */
  flush(): Float32Array {
    if (this.closed) throw new Error('the resampler is closed');
    const want = this.outputLength(this.inSamples) - this.outSamples;
    const parts: Float32Array[] = [];
    let got = 0;
    const silence = new Float32Array(256);
    // the converter's delay is tens of samples; a bound keeps a misbehaving build from looping
    for (let i = 0; got < want && i < 64; i++) {
      const out = this.src.full(silence).slice();
      parts.push(out);
      got += out.length;
    }
    const result = new Float32Array(Math.max(0, want));
    let at = 0;
    for (const p of parts) {
      const n = Math.min(p.length, result.length - at);
      result.set(p.subarray(0, n), at);
      at += n;
    }
    this.outSamples += result.length;
    this.close();
    return result;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.src.destroy();
  }
}

/** One-shot conversion of a whole signal (a stream of one piece, flushed). */
export async function resample(input: Float32Array, fromRate: number, toRate: number, quality: ResampleQuality = 'medium'): Promise<Float32Array> {
  const r = await StreamResampler.create(fromRate, toRate, quality);
  const head = r.process(input);
  const rest = r.flush();
  const out = new Float32Array(head.length + rest.length);
  out.set(head);
  out.set(rest, head.length);
  return out;
}
