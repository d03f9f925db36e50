/**
 * Classifier-free guidance: the batch is doubled, the second half
 * unconditional, and the two rows of scores are combined as
 * uncond + g * (cond - uncond). g = 1 is the conditional row itself (copied
 * exactly, not recomputed), and then the runtime does not double the batch.
 */
export function checkGuidance(scale: number): void {
  if (!(Number.isFinite(scale) && scale >= 0 && scale <= 100)) {
    throw new RangeError(`guidance must be a number in [0, 100], got: ${scale}`);
  }
}

/** True when the scale needs the unconditional half. */
export function needsUnconditional(scale: number): boolean {
  return scale !== 1;
}

/** out = uncond + scale * (cond - uncond), element by element; out may alias neither input. */
export function combineGuidance(cond: ArrayLike<number>, uncond: ArrayLike<number>, scale: number, out: Float32Array): void {
  const n = out.length;
  if (cond.length < n || uncond.length < n) {
    throw new RangeError(`guidance rows must have at least ${n} scores, got: ${cond.length} and ${uncond.length}`);
  }
  if (scale === 1) {
    for (let i = 0; i < n; i++) out[i] = cond[i];
    return;
  }
  for (let i = 0; i < n; i++) {
    const u = uncond[i];
    out[i] = u + scale * (cond[i] - u);
  }
}
