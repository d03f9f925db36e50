/**
 * A logits processor changes one codebook's row of next-token scores in
 * place (MusicGen samples each codebook from its own row). Processors are
 * composed by a list, applied in order: the order matters (temperature before
 * top-p changes which tokens make up the nucleus), and it follows
 * transformers: guidance, suppression, temperature, top-k, top-p.
 *
 * Rows are Float32Array views; a processor keeps any scratch it needs, so
 * applying it allocates nothing on the per-step path. Masked-out entries are
 * -Infinity.
 */
export interface LogitsProcessor {
  readonly name: string;
  apply(row: Float32Array, codebook: number): void;
}

export function applyAll(processors: readonly LogitsProcessor[], row: Float32Array, codebook: number): void {
  for (let i = 0; i < processors.length; i++) processors[i].apply(row, codebook);
}
