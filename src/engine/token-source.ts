/**
 * What the generation loop asks of whatever makes token frames: the seam
 * between the token source (the model and SMITIN's steering) and the frame
 * renderer (the codec). Token frames of a few integers cross it one way and
 * controls the other, so a source running elsewhere (a GPU server,
 * docs/architecture.md) can take the in-process one's place.
 *
 * Threading: called from one thread (the generation worker), one call at a
 * time; next() and reprime() must be awaited before the next call.
 */
import type { FeatureTelemetry } from '../protocol.js';

/** Model steps taken and the milliseconds they took. */
export interface StepTiming {
  steps: number;
  ms: number;
}

export interface TokenSource {
  /** The most frames of context a re-prime continues from (the share of its window it keeps). */
  readonly contextFrames: number;
  /**
   * The next frame, one id per codebook. `beforeStep` runs before each
   * model step (a delay pattern takes a few steps for the first frames), so
   * a knob read there reaches the step it would reach in-process; a source
   * elsewhere may call it once per frame.
   */
  next(beforeStep?: () => void): Promise<number[]>;
  /** The last `count` frames it holds (fewer when it holds fewer), its context included, codebook-major. */
  completed(count: number): Uint16Array[];
  /** Starts afresh on `prompt`, continuing from `context` (codebook-major; no frames: from silence). */
  reprime(prompt: string, context: readonly Uint16Array[]): Promise<void>;
  /** Knob strengths, by feature name; the steering applies them from the next step. */
  setStrengths(names: readonly string[], values: ArrayLike<number>): void;
  /** Per-feature alphas (a preset's maxima); features left out return to the steering settings' own. */
  setAlphas(alphas: Readonly<Record<string, number>>): void;
  setTemperature(value: number): void;
  setGuidance(value: number): void;
  /** Each steered feature's strength, monitor value and gain now (none without steering). */
  steering(): FeatureTelemetry[];
  /** The steps taken since the last call, and their time (the telemetry's step ms). */
  takeStepTiming(): StepTiming;
}
