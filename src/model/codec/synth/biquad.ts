/**
 * Second-order IIR sections designed with the RBJ Audio EQ Cookbook
 * formulas, run in transposed direct form II over a block in place.
 * Cascading two sections gives the 24 dB/octave slopes the cymbals need to
 * keep their energy above 5 kHz.
 */

export class Biquad {
  private b0 = 1;
  private b1 = 0;
  private b2 = 0;
  private a1 = 0;
  private a2 = 0;
  private z1 = 0;
  private z2 = 0;

  setLowpass(freq: number, q: number, sampleRate: number): this {
    const { cosw, alpha } = prewarp(freq, q, sampleRate);
    return this.set((1 - cosw) / 2, 1 - cosw, (1 - cosw) / 2, 1 + alpha, -2 * cosw, 1 - alpha);
  }

  setHighpass(freq: number, q: number, sampleRate: number): this {
    const { cosw, alpha } = prewarp(freq, q, sampleRate);
    return this.set((1 + cosw) / 2, -(1 + cosw), (1 + cosw) / 2, 1 + alpha, -2 * cosw, 1 - alpha);
  }

  /** Band-pass with 0 dB peak gain. */
  setBandpass(freq: number, q: number, sampleRate: number): this {
    const { cosw, alpha } = prewarp(freq, q, sampleRate);
    return this.set(alpha, 0, -alpha, 1 + alpha, -2 * cosw, 1 - alpha);
  }

  setPeaking(freq: number, q: number, gainDb: number, sampleRate: number): this {
    const { cosw, alpha } = prewarp(freq, q, sampleRate);
    const a = Math.pow(10, gainDb / 40);
    return this.set(1 + alpha * a, -2 * cosw, 1 - alpha * a, 1 + alpha / a, -2 * cosw, 1 - alpha / a);
  }

  reset(): void {
    this.z1 = 0;
    this.z2 = 0;
  }

  /** Filters buf[0..n) in place. */
  process(buf: Float64Array, n: number): void {
    const b0 = this.b0;
    const b1 = this.b1;
    const b2 = this.b2;
    const a1 = this.a1;
    const a2 = this.a2;
    let z1 = this.z1;
    let z2 = this.z2;
    for (let i = 0; i < n; i++) {
      const x = buf[i];
      const y = b0 * x + z1;
      z1 = b1 * x - a1 * y + z2;
      z2 = b2 * x - a2 * y;
      buf[i] = y;
    }
    this.z1 = z1;
    this.z2 = z2;
  }

  /** Magnitude response at `freq`, for tests and calibration. */
  magnitudeAt(freq: number, sampleRate: number): number {
    const w = (2 * Math.PI * freq) / sampleRate;
    const c1 = Math.cos(w);
    const s1 = Math.sin(w);
    const c2 = Math.cos(2 * w);
    const s2 = Math.sin(2 * w);
    const nr = this.b0 + this.b1 * c1 + this.b2 * c2;
    const ni = -(this.b1 * s1 + this.b2 * s2);
    const dr = 1 + this.a1 * c1 + this.a2 * c2;
    const di = -(this.a1 * s1 + this.a2 * s2);
    return Math.sqrt((nr * nr + ni * ni) / (dr * dr + di * di));
  }

  private set(b0: number, b1: number, b2: number, a0: number, a1: number, a2: number): this {
    this.b0 = b0 / a0;
    this.b1 = b1 / a0;
    this.b2 = b2 / a0;
    this.a1 = a1 / a0;
    this.a2 = a2 / a0;
    return this;
  }
}

function prewarp(freq: number, q: number, sampleRate: number): { cosw: number; alpha: number } {
  // Clamp below Nyquist so a design for a low sample rate stays stable.
  const f = Math.min(freq, sampleRate * 0.49);
  const w = (2 * Math.PI * f) / sampleRate;
  return { cosw: Math.cos(w), alpha: Math.sin(w) / (2 * q) };
}
