/**
 * The model seam SMITIN steers through: what a model family's decoder gives
 * the step hooks that run around each of its runs. MusicGen's DecoderSession
 * (musicgen/decoder-session.ts) implements it; a next family's decoder
 * implements the same, and SMITIN (smitin/steerer.ts) runs on it unchanged.
 *
 * Layout: SMITIN works on the attention heads' outputs, taken before each
 * layer's output projection (the heads.{l} outputs and iti.{l} inputs that
 * `smitin prepare` adds to a graph). One layer's values are a row-major
 * [conditioning rows, heads * headDim] Float32Array: row r holds head h's
 * headDim values at r * heads * headDim + h * headDim. The conditioning rows
 * are the conditional half first, then, with classifier-free guidance, the
 * unconditional half (as many rows again).
 *
 * This file imports nothing from a model family: the families depend on it.
 */

/** One decoder run, as a StepHook sees it. */
export interface DecoderRun {
  /** Runs before this one in this generator. */
  index: number;
  /** Positions fed: 1, or more on a window's first run (the prompt and the context kept at a slide). */
  length: number;
  /** The input ids of the run, in the decoder's own layout, for a hook that runs its own pass (SteerableDecoder.peek). */
  ids: BigInt64Array;
}

/**
 * A decoder with a KV cache whose head outputs can be read and shifted.
 *
 * A shift is a vector added to the head outputs of one layer (every head's
 * slice, at every position the run feeds) before that layer's output
 * projection, in the layout above: the push of inference-time
 * intervention. The decoder owns one shift buffer per layer; callers write
 * them in place, and they are added only while shifting is on.
 */
export interface SteerableDecoder {
  /**
   * True when the decoder has the shift inputs and head outputs (a MusicGen
   * graph after `smitin prepare`). A decoder that is not steerable has no
   * shifts, heads() throws and setShifting(true) throws.
   */
  readonly steerable: boolean;
  /**
   * Per layer, the shift buffer [conditioning rows, heads * headDim]
   * (empty when not steerable). Written in place; read by every run while
   * shifting is on, and never by a run while it is off.
   */
  readonly shifts: readonly Float32Array[];
  /** Adds the shift buffers (true) or nothing (false) from the next run on. */
  setShifting(on: boolean): void;
  /**
   * Layer `layer`'s head outputs [conditioning rows, heads * headDim] at the
   * last position of the last run (forward or peek), taken before that
   * layer's shift was added (earlier layers' shifts do reach them). The
   * buffer is the decoder's own, overwritten by the next run: read it, do
   * not keep it.
   */
  heads(layer: number): Float32Array;
  /** Positions held in the cache: the next run's inputs start at this position. */
  readonly length: number;
  /**
   * Runs `length` new positions from `ids` (a DecoderRun's ids) as the
   * decoder's own run does, but leaves the cache as it was: nothing is
   * committed, `length` does not move, and the next run sees no trace of
   * this one except through heads(), which now holds this run's head
   * outputs. The monitor's clean pass: what the model computes here with
   * the shifting set as it is (off, for a clean read). Resolves to the
   * run's logits, in the decoder's own form.
   */
  peek(ids: BigInt64Array, length: number): Promise<unknown>;
}

/**
 * Code that runs around every decoder run: SMITIN's intervention writes the
 * decoder's shifts before and its monitor reads the head outputs after.
 */
export interface StepHook {
  before(run: DecoderRun, decoder: SteerableDecoder): Promise<void> | void;
  after(run: DecoderRun, decoder: SteerableDecoder): void;
}
