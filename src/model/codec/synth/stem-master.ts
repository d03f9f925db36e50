/**
 * The master section of a stems render: each instrument through a reverb of
 * its own, their sum through the limiter, and the limiter's gain applied to
 * every instrument alike.
 *
 * So the stems sum to the mix: the reverb is linear (a reverb per
 * instrument adds up to the shared one of a mix render), and the limiter's
 * gain, computed on the whole band, multiplies each stem by the same number
 * at each sample. A stem therefore ducks with the band when the band hits
 * the limiter, as stems printed through a master bus do; the mix channels
 * are the same samples a mix render plays (float rounding aside).
 */

import { INSTRUMENTS } from '../../tinyband/layout.js';
import { HALF_GROUP_COUNT, MAX_CHUNK, type StereoSendBus } from './buses.js';
import { bounded, type Limiter } from './limiter.js';
import { Reverb } from './reverb.js';

/** Channels of a stems render: the mix pair, then one pair per instrument in INSTRUMENTS order. */
export const STEM_CHANNELS = 2 * (1 + INSTRUMENTS.length);

function bus(): StereoSendBus {
  return { left: new Float64Array(MAX_CHUNK), right: new Float64Array(MAX_CHUNK), send: new Float64Array(MAX_CHUNK) };
}

export class StemMaster {
  /** The tonal groups' own buses (HalfGroup order: bass, piano, guitar), which HalfRate.mixUpEach writes. */
  readonly tonal: readonly StereoSendBus[] = Array.from({ length: HALF_GROUP_COUNT }, bus);
  /** Every instrument's buses, in INSTRUMENTS order. */
  private readonly parts: readonly StereoSendBus[];
  private readonly reverbs: Reverb[];
  private readonly sumL = new Float64Array(MAX_CHUNK);
  private readonly sumR = new Float64Array(MAX_CHUNK);
  private readonly gains = new Float64Array(MAX_CHUNK);

  /** `drums`: the drum mixer's buses, the drums' stem. */
  constructor(sampleRate: number, wet: number, drums: StereoSendBus) {
    this.parts = [drums, ...this.tonal];
    this.reverbs = INSTRUMENTS.map(() => new Reverb(sampleRate, wet));
  }

  /**
   * Finishes a chunk whose instruments are on their buses: writes n samples
   * of the mix and of each stem into `out` (STEM_CHANNELS channels) from
   * `offset`.
   */
  finish(n: number, makeup: number, limiter: Limiter, out: readonly Float32Array[], offset: number): void {
    const parts = this.parts;
    const sumL = this.sumL;
    const sumR = this.sumR;
    sumL.fill(0, 0, n);
    sumR.fill(0, 0, n);
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k];
      this.reverbs[k].process(p.send, p.left, p.right, n);
      for (let i = 0; i < n; i++) {
        sumL[i] += p.left[i];
        sumR[i] += p.right[i];
      }
    }
    const g = this.gains;
    limiter.gainsInto(sumL, sumR, n, makeup, g);
    put(sumL, sumR, g, makeup, out[0], out[1], offset, n, bounded);
    for (let k = 0; k < parts.length; k++) put(parts[k].left, parts[k].right, g, makeup, out[2 + 2 * k], out[3 + 2 * k], offset, n, finite);
  }

  /** Frame-start housekeeping of the reverbs (see Reverb.settle). */
  settle(): void {
    for (const r of this.reverbs) r.settle();
  }

  reset(): void {
    for (const r of this.reverbs) r.reset();
  }
}

type Guard = (y: number) => number;

function put(left: Float64Array, right: Float64Array, gains: Float64Array, makeup: number, outL: Float32Array, outR: Float32Array, offset: number, n: number, guard: Guard): void {
  for (let i = 0; i < n; i++) {
    const m = makeup * gains[i];
    outL[offset + i] = guard(left[i] * m);
    outR[offset + i] = guard(right[i] * m);
  }
}

/**
 * A stem is not clamped at full scale: where the other instruments cancel
 * it in the mix, it may pass 1 (float takes keep it, as a DAW's float
 * tracks do), and clamping it would break the sum. Only a NaN or an
 * infinity from upstream is caught, as in the mix.
 */
function finite(y: number): number {
  return Math.abs(y) < Infinity ? y : bounded(y);
}
