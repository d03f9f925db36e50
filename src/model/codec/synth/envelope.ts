/**
 * The amplitude envelope of the tonal voices (bass, piano, guitar).
 *
 * Every start is a short linear ramp and every stop a linear ramp to exactly
 * zero, so no note begins or ends with a step (a click), and a released voice
 * is finished on a known sample rather than after an open-ended exponential
 * tail. Between the two, the level moves exponentially toward a sustain
 * level; piano and guitar use sustain 1 because their natural decay lives in
 * the oscillators themselves.
 */

export const enum EnvStage {
  Idle = 0,
  /** Waiting to start (a strummed string that has not been reached yet). */
  Delay = 1,
  Attack = 2,
  Sustain = 3,
  Release = 4,
}

export interface EnvelopeShape {
  /** Samples before the attack starts (the level holds meanwhile). */
  delay: number;
  /** Attack ramp length in samples (at least 1). */
  attack: number;
  /** Level reached at the end of the attack. */
  peak: number;
  /** Per-sample factor of the exponential approach to the sustain level (1 = stay at peak). */
  decayCoef: number;
  sustain: number;
}

export class Envelope {
  stage: EnvStage = EnvStage.Idle;
  level = 0;
  private delayLeft = 0;
  private attackLeft = 0;
  private attackInc = 0;
  private decayCoef = 1;
  private sustain = 0;
  private releaseLeft = 0;
  private releaseDec = 0;

  get active(): boolean {
    return this.stage !== EnvStage.Idle;
  }

  /** Starts from the current level, so a retrigger of a sounding voice does not jump. */
  trigger(shape: EnvelopeShape): void {
    const attack = Math.max(1, Math.round(shape.attack));
    this.delayLeft = Math.max(0, Math.round(shape.delay));
    this.attackLeft = attack;
    this.attackInc = (shape.peak - this.level) / attack;
    this.decayCoef = shape.decayCoef;
    this.sustain = shape.sustain;
    this.stage = this.delayLeft > 0 ? EnvStage.Delay : EnvStage.Attack;
  }

  /** Linear ramp from the current level to zero over `samples`. */
  release(samples: number): void {
    if (this.stage === EnvStage.Idle || this.stage === EnvStage.Release) return;
    if (this.stage === EnvStage.Delay && this.level === 0) {
      // Never sounded: nothing to ramp down.
      this.stop();
      return;
    }
    const n = Math.max(1, Math.round(samples));
    this.releaseLeft = n;
    this.releaseDec = this.level / n;
    this.stage = EnvStage.Release;
  }

  stop(): void {
    this.stage = EnvStage.Idle;
    this.level = 0;
  }

  /**
   * The level when it cannot change before the next trigger or release (a
   * settled sustain), else -1: lets a voice skip the per-sample envelope.
   */
  steadyLevel(): number {
    if (this.stage === EnvStage.Sustain && (this.level === this.sustain || this.decayCoef === 1)) return this.level;
    return -1;
  }

  /** Writes the next n gains into out[0..n). */
  render(out: Float64Array, n: number): void {
    let level = this.level;
    let i = 0;
    while (i < n) {
      switch (this.stage) {
        case EnvStage.Idle:
          for (; i < n; i++) out[i] = 0;
          break;
        case EnvStage.Delay: {
          // Holds the current level (zero for a voice starting from silence).
          const m = Math.min(n - i, this.delayLeft);
          for (let j = 0; j < m; j++) out[i++] = level;
          this.delayLeft -= m;
          if (this.delayLeft === 0) this.stage = EnvStage.Attack;
          break;
        }
        case EnvStage.Attack: {
          const m = Math.min(n - i, this.attackLeft);
          const inc = this.attackInc;
          for (let j = 0; j < m; j++) {
            level += inc;
            out[i++] = level;
          }
          this.attackLeft -= m;
          if (this.attackLeft === 0) this.stage = EnvStage.Sustain;
          break;
        }
        case EnvStage.Sustain: {
          const k = this.decayCoef;
          const s = this.sustain;
          if (level === s || k === 1) {
            // Settled (piano and guitar always are): a constant.
            out.fill(level, i, n);
            i = n;
            break;
          }
          for (; i < n; i++) {
            level = s + (level - s) * k;
            out[i] = level;
          }
          break;
        }
        case EnvStage.Release: {
          const m = Math.min(n - i, this.releaseLeft);
          const dec = this.releaseDec;
          for (let j = 0; j < m; j++) {
            level -= dec;
            out[i++] = level > 0 ? level : 0;
          }
          this.releaseLeft -= m;
          if (this.releaseLeft === 0) {
            level = 0;
            this.stage = EnvStage.Idle;
          }
          break;
        }
      }
    }
    this.level = level;
  }
}

/** Per-sample factor of an exponential decay with time constant `seconds`. */
export function decayPerSample(seconds: number, sampleRate: number): number {
  return Math.exp(-1 / (seconds * sampleRate));
}

/** Per-sample factor that loses 60 dB in `seconds`. */
export function t60PerSample(seconds: number, sampleRate: number): number {
  return Math.exp(-6.907755278982137 / (seconds * sampleRate));
}
