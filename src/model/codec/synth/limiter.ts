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
      const peak = al > ar ? al : ar;
      if (peak > ceiling) {
        const need = ceiling / peak;
        if (need < gain) gain = need;
        else gain += (need - gain) * rel;
      } else if (gain < 1) {
        gain += (1 - gain) * rel;
        // Snap home once inaudibly close, so the common path stays the cheap one.
        if (gain > 0.999999) gain = 1;
      }
      let yl = l * gain;
      let yr = r * gain;
      // Only a NaN or an infinity from upstream can fail these.
      if (!(Math.abs(yl) <= 1)) yl = yl > 1 ? 1 : yl < -1 ? -1 : 0;
      if (!(Math.abs(yr) <= 1)) yr = yr > 1 ? 1 : yr < -1 ? -1 : 0;
      outL[offset + i] = yl;
      outR[offset + i] = yr;
    }
    this.gain = gain;
  }

  reset(): void {
    this.gain = 1;
  }
}
