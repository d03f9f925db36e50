/**
 * MusicGen's delay pattern, defined once: the generator, the probe
 * activations and the continuation NLL all lay tokens out with it, and a
 * model only sounds right (and only matches transformers.js) when every one
 * of them does it the same way.
 *
 * Codebook k runs k positions behind codebook 0. The decoder input at
 * position q of codebook k is frame q-1-k of that codebook: BOS at q = 0,
 * the pad id while q-1-k < 0 (the codebook has not started), else the
 * frame. The output at position q scores frame q-k of codebook k, so frame
 * f comes out over positions f..f+K-1 and is complete at q = f + K - 1.
 *
 * For K = 4 and three frames a0 a1 a2 of codebook 0 (b, c, d the others),
 * B = BOS and P = pad:
 *
 *   q:    0  1  2  3  4  5  6
 *   k=0:  B  a0 a1 a2 P  P  P
 *   k=1:  B  P  b0 b1 b2 P  P
 *   k=2:  B  P  P  c0 c1 c2 P
 *   k=3:  B  P  P  P  d0 d1 d2
 *
 * The same grid is the generated sequence (each output is the next
 * position's input), which is what transformers.js filters back to frames.
 * The pads after a codebook's last frame complete the grid, as MusicGen's
 * own delay mask does; the generator, the probes and the NLL never read
 * that far (they feed a codebook's frames only once they are known).
 */

/** The two ids the layout adds (a ModelSpec is one). */
export interface DelayIds {
  /** Position 0 of every codebook (decoder_start_token_id). */
  bosId: number;
  /** Positions before a codebook's first frame (pad_token_id). */
  padId: number;
}

/** The frame of codebook k the decoder reads at position q (negative: BOS or pad, no frame). */
export function inputFrame(q: number, k: number): number {
  return q - 1 - k;
}

/** The frame of codebook k the output at position q scores (negative: none yet). */
export function outputFrame(q: number, k: number): number {
  return q - k;
}

/** The position whose output scores frame f of codebook k. */
export function outputPosition(f: number, k: number): number {
  return f + k;
}

/**
 * Positions whose inputs are all known when codebook 0 holds `frames`
 * frames and each codebook k at least frames - k (all that the delay has
 * let out of it): BOS and codebook 0's frames. A later codebook's last
 * frames are read only past these, so they are fed as they come out.
 */
export function knownPositions(frames: number): number {
  return frames + 1;
}

/** Positions it takes to have `frames` frames out of all K codebooks (the last one K - 1 positions late). */
export function positionsFor(frames: number, codebooks: number): number {
  return frames + codebooks - 1;
}

/** The decoder input of codebook k at position q, where `row` holds codebook k's frames (pad before and after them). */
export function delayedInput(q: number, k: number, row: ArrayLike<number>, ids: DelayIds): number {
  if (q === 0) return ids.bosId;
  const f = inputFrame(q, k);
  return f < 0 || f >= row.length ? ids.padId : row[f];
}

/**
 * Writes positions [start, start + length) of every codebook's input into
 * `out`, an input_ids array [rows, length] (row = b * K + k), rows
 * firstRow .. firstRow + K - 1, from `frames[k][f]` (codebook-major).
 * Allocates nothing, as it runs on every generator step.
 */
export function writeDelayed(
  out: BigInt64Array,
  firstRow: number,
  frames: readonly ArrayLike<number>[],
  start: number,
  length: number,
  ids: DelayIds,
): void {
  for (let k = 0; k < frames.length; k++) {
    const at = (firstRow + k) * length;
    for (let t = 0; t < length; t++) out[at + t] = BigInt(delayedInput(start + t, k, frames[k], ids));
  }
}

/**
 * The frames a delayed grid holds, undone: `grid` is [K, positions] from
 * position 0 (input_ids, or a generated sequence), and the result is
 * codebook-major, the frames every codebook has (positions - K of them).
 */
export function undelay(grid: ArrayLike<number | bigint>, codebooks: number, positions: number): Int32Array[] {
  if (grid.length !== codebooks * positions) {
    throw new RangeError(`a delayed grid of ${codebooks} codebooks x ${positions} positions has ${codebooks * positions} ids, got: ${grid.length}`);
  }
  const frames = Math.max(0, positions - codebooks);
  return Array.from({ length: codebooks }, (_, k) => {
    const row = new Int32Array(frames);
    for (let f = 0; f < frames; f++) row[f] = Number(grid[k * positions + f + 1 + k]);
    return row;
  });
}
