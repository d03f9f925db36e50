/**
 * The master limiter. Gain drops at once to whatever keeps the peak at the
 * ceiling and recovers smoothly, so dense passages are turned down rather
 * than clipped; the gain only falls while the signal is rising through the
 * ceiling, so the drop itself is continuous. A final clamp makes |x| <= 1 a
 * guarantee (it can only act on a non-finite value from upstream).
 */

export class Limiter {
  private gain = 1;
  private readonly releaseA: number;

  constructor(sampleRate: number, private readonly ceiling = 0.944 /* -0.5 dBFS */, releaseSeconds = 0.15) {
    this.releaseA = 1 - Math.exp(-1 / (releaseSeconds * sampleRate));
  }

  /** Limits left/right[0..n) times `makeup` and writes them to outL/outR from `offset`. */
  process(left: Float64Array, right: Float64Array, n: number, makeup: number, outL: Float32Array, outR: Float32Array, offset: number): void {
    let gain = this.gain;
    const ceiling = this.ceiling;
    const rel = this.releaseA;
    for (let i = 0; i < n; i++) {
      const l = left[i] * makeup;
      const r = right[i] * makeup;
      const al = Math.abs(l);
      const ar = Math.abs(r);
      gain = follow(gain, al > ar ? al : ar, ceiling, rel);
      outL[offset + i] = bounded(l * gain);
      outR[offset + i] = bounded(r * gain);
    }
    this.gain = gain;
  }

  /**
   * Stems: the gain process() would apply to each of left/right[0..n) times
   * `makeup`, into gains[0..n), advancing the same state. Applied to every
   * stem alike (and bounded()), the stems sum to the limited mix.
   */
  gainsInto(left: Float64Array, right: Float64Array, n: number, makeup: number, gains: Float64Array): void {
    let gain = this.gain;
    for (let i = 0; i < n; i++) {
      const al = Math.abs(left[i] * makeup);
      const ar = Math.abs(right[i] * makeup);
      gain = follow(gain, al > ar ? al : ar, this.ceiling, this.releaseA);
      gains[i] = gain;
    }
    this.gain = gain;
  }

  reset(): void {
    this.gain = 1;
  }
}

/** The limiter's gain after a sample of this peak: down at once to what keeps it at the ceiling, back up smoothly. */
function follow(gain: number, peak: number, ceiling: number, rel: number): number {
  if (peak > ceiling) {
    const need = ceiling / peak;
    return need < gain ? need : gain + (need - gain) * rel;
  }
  if (gain < 1) {
    const g = gain + (1 - gain) * rel;
    // Snap home once inaudibly close, so the common path stays the cheap one.
    return g > 0.999999 ? 1 : g;
  }
  return gain;
}

/** |y| <= 1: only a NaN or an infinity from upstream can fail the test. */
export function bounded(y: number): number {
  return Math.abs(y) <= 1 ? y : y > 1 ? 1 : y < -1 ? -1 : 0;
}
