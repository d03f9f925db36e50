/**
 * Continuous controls in shared memory: per-feature strengths and the
 * sampling settings, written by the main thread as knobs move and read by
 * the generation worker once per step, never blocking either side. Values
 * are fixed-point int32 (1e-6 steps) so every read and write is one atomic
 * access. A sequence number, bumped after each write with the time it was
 * made, lets the worker tag the audio a change first affects and the
 * output measure the control latency.
 */
const SCALE = 1e6;
const SEQ = 0;
/** Milliseconds (performance.timeOrigin + now, mod 2^31) of the last change. */
const STAMP = 1;
const TEMPERATURE = 2;
const GUIDANCE = 3;
const FIRST_FEATURE = 4;

export class ControlBlock {
  private readonly ints: Int32Array;
  readonly features: readonly string[];

  constructor(
    readonly buffer: SharedArrayBuffer,
    features: readonly string[],
  ) {
    this.features = features;
    this.ints = new Int32Array(buffer);
    if (this.ints.length !== FIRST_FEATURE + features.length) {
      throw new RangeError(`control block holds ${this.ints.length - FIRST_FEATURE} features, ${features.length} named`);
    }
  }

  static allocate(features: readonly string[], temperature: number, guidance: number): ControlBlock {
    const block = new ControlBlock(new SharedArrayBuffer((FIRST_FEATURE + features.length) * 4), features);
    block.setTemperature(temperature);
    block.setGuidance(guidance);
    return block;
  }

  private set(index: number, value: number): void {
    Atomics.store(this.ints, index, Math.round(value * SCALE));
    Atomics.store(this.ints, STAMP, Math.floor(nowMs()) % 2 ** 31);
    Atomics.add(this.ints, SEQ, 1);
  }

  private get(index: number): number {
    return Atomics.load(this.ints, index) / SCALE;
  }

  /** Sets a feature's strength (clamped to [-1, 1]); unknown names are a RangeError naming the known ones. */
  setStrength(feature: string, value: number): void {
    const i = this.features.indexOf(feature);
    if (i < 0) throw new RangeError(`unknown feature ${feature} (the model's probes have: ${this.features.join(', ')})`);
    if (!Number.isFinite(value)) throw new RangeError(`strength of ${feature} must be a finite number, got: ${value}`);
    this.set(FIRST_FEATURE + i, Math.max(-1, Math.min(1, value)));
  }

  strength(feature: string): number {
    return this.get(FIRST_FEATURE + this.features.indexOf(feature));
  }

  /** All strengths, in `features` order, into `out`. */
  readStrengths(out: Float64Array): Float64Array {
    for (let i = 0; i < this.features.length; i++) out[i] = this.get(FIRST_FEATURE + i);
    return out;
  }

  setTemperature(value: number): void {
    this.set(TEMPERATURE, value);
  }

  temperature(): number {
    return this.get(TEMPERATURE);
  }

  setGuidance(value: number): void {
    this.set(GUIDANCE, value);
  }

  guidance(): number {
    return this.get(GUIDANCE);
  }

  /** Changes made so far: the worker re-reads when it moved. */
  sequence(): number {
    return Atomics.load(this.ints, SEQ);
  }

  /** When the last change was made (ms, nowMs() clock mod 2^31). */
  stamp(): number {
    return Atomics.load(this.ints, STAMP);
  }
}

/** A clock both threads share: performance.timeOrigin differs per thread, their sum does not. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
