/**
 * Which heads a feature is pushed through, and how hard: ITI's top-K (weight
 * 1 on the K most accurate heads) or SMITIN's soft weighting (every head,
 * w = ((acc - min) / (max - min))^3, so good probes dominate and chance-level
 * ones vanish). Layers below `fromLayer` are left out of both: a first
 * experiment found layer 0's "lexical" heads the most accurate yet harmful
 * to push (docs/architecture.md, SMITIN as implemented: layer 0).
 */
export type Weighting = { kind: 'topk'; k: number } | { kind: 'soft' };

/** "soft" or "topk:K" (the CLI's spelling). */
export function parseWeighting(text: string): Weighting {
  if (text === 'soft') return { kind: 'soft' };
  const m = /^topk:(\d+)$/.exec(text);
  if (m && Number(m[1]) >= 1) return { kind: 'topk', k: Number(m[1]) };
  throw new RangeError(`weighting must be soft or topk:K with K >= 1, got: ${text}`);
}

export function formatWeighting(w: Weighting): string {
  return w.kind === 'soft' ? 'soft' : `topk:${w.k}`;
}

/** Head weights [layers * heads] from validation accuracies [layers * heads]. */
export function headWeights(accuracy: ArrayLike<number>, heads: number, weighting: Weighting, fromLayer = 0): Float32Array {
  const n = accuracy.length;
  if (heads < 1 || n % heads !== 0) throw new RangeError(`accuracy has ${n} values, not a whole number of layers of ${heads} heads`);
  const first = fromLayer * heads;
  if (first >= n) throw new RangeError(`fromLayer ${fromLayer} leaves no heads (the probes cover ${n / heads} layers)`);
  const w = new Float32Array(n);
  if (weighting.kind === 'topk') {
    if (!Number.isInteger(weighting.k) || weighting.k < 1) throw new RangeError(`top-K needs an integer K >= 1, got: ${weighting.k}`);
    const order = Array.from({ length: n - first }, (_, i) => first + i).sort((a, b) => accuracy[b] - accuracy[a] || a - b);
    for (const i of order.slice(0, weighting.k)) w[i] = 1;
    return w;
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = first; i < n; i++) {
    min = Math.min(min, accuracy[i]);
    max = Math.max(max, accuracy[i]);
  }
  // all heads equal: nothing tells them apart, so all count fully
  for (let i = first; i < n; i++) w[i] = max > min ? ((accuracy[i] - min) / (max - min)) ** 3 : 1;
  return w;
}

/** The indices of the `count` most accurate heads (the monitor's readers), best first. */
export function topHeads(accuracy: ArrayLike<number>, count: number): number[] {
  return Array.from({ length: accuracy.length }, (_, i) => i)
    .sort((a, b) => accuracy[b] - accuracy[a] || a - b)
    .slice(0, count);
}
