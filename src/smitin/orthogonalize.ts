/**
 * Push directions orthogonal to other features' (issue 11, "each knob moves
 * its own feature and nothing else"): a feature's push along its probe
 * direction also moves every other probe whose direction it is not
 * orthogonal to. Projecting the push off the span of the other features'
 * directions (Gram-Schmidt) leaves their probes' readings where they were,
 * to first order, at the heads it is taken over:
 * - `head`: per head, the head's unit direction projected off the other
 *   features' unit directions at that head and renormalised to unit length
 *   (the push keeps its weight * sigma per head).
 * - `layer`: per layer, the layer's whole push vector (the heads'
 *   weight * sigma * theta concatenated) projected off the other features'
 *   directions of that layer, concatenated over the heads the push reaches,
 *   and renormalised to the push's own length: one constraint per other
 *   feature and layer in place of one per head, so less of the push is lost.
 * A direction inside the others' span has nothing left: its push there is 0.
 */

export const ORTHOGONALIZE = ['none', 'head', 'layer'] as const;
export type Orthogonalize = (typeof ORTHOGONALIZE)[number];

/** Residuals shorter than this, relative to the vector, count as inside the span (float32 directions). */
const DEGENERATE = 1e-6;

/**
 * An orthonormal basis of `vectors` (modified Gram-Schmidt in float64),
 * leaving out vectors that add no new dimension.
 */
export function orthonormalBasis(vectors: readonly ArrayLike<number>[]): Float64Array[] {
  const basis: Float64Array[] = [];
  for (const v of vectors) {
    const r = Float64Array.from(v);
    const norm0 = Math.hypot(...r);
    if (norm0 === 0) continue;
    for (const b of basis) subtractProjection(r, b);
    const norm = Math.hypot(...r);
    if (norm <= DEGENERATE * norm0) continue;
    for (let j = 0; j < r.length; j++) r[j] /= norm;
    basis.push(r);
  }
  return basis;
}

/**
 * `v` projected off the span of the orthonormal `basis`, scaled to length
 * `length`; all zeros when nothing of `v` is left outside the span.
 */
export function projectOff(v: ArrayLike<number>, basis: readonly Float64Array[], length: number): Float64Array {
  const r = Float64Array.from(v);
  const norm0 = Math.hypot(...r);
  if (norm0 === 0) return r;
  // twice: one pass of modified Gram-Schmidt leaves float error of the order of the projections removed
  for (let pass = 0; pass < 2; pass++) for (const b of basis) subtractProjection(r, b);
  const norm = Math.hypot(...r);
  if (norm <= DEGENERATE * norm0) return r.fill(0);
  for (let j = 0; j < r.length; j++) r[j] *= length / norm;
  return r;
}

function subtractProjection(r: Float64Array, b: Float64Array): void {
  let dot = 0;
  for (let j = 0; j < r.length; j++) dot += r[j] * b[j];
  for (let j = 0; j < r.length; j++) r[j] -= dot * b[j];
}

/**
 * Per head (flat layer * heads + h), `dir` [layers * heads * headDim] made
 * unit and orthogonal to `others`' directions at the same head.
 */
export function orthogonalHeads(dir: Float32Array, others: readonly Float32Array[], headDim: number): Float32Array {
  const out = new Float32Array(dir.length);
  for (let o = 0; o < dir.length; o += headDim) {
    const basis = orthonormalBasis(others.map((d) => d.subarray(o, o + headDim)));
    out.set(projectOff(dir.subarray(o, o + headDim), basis, 1), o);
  }
  return out;
}

/**
 * One layer's push `unit` [heads * headDim] projected off `others`' directions
 * of that layer ([heads * headDim] each, the layer's slice), each taken over
 * the heads `unit` reaches only (a head it does not push stays unpushed),
 * with `unit`'s length.
 */
export function orthogonalLayer(unit: Float32Array, others: readonly Float32Array[], headDim: number): Float32Array {
  const reached = new Float32Array(unit.length);
  for (let o = 0; o < unit.length; o += headDim) {
    if (unit.subarray(o, o + headDim).some((x) => x !== 0)) reached.fill(1, o, o + headDim);
  }
  const basis = orthonormalBasis(others.map((d) => d.map((x, j) => x * reached[j])));
  return Float32Array.from(projectOff(unit, basis, Math.hypot(...unit)));
}
