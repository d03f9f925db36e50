import type { LogitsProcessor } from './processor.js';

/**
 * Masks ids a codebook must never produce: the ids past a codebook's own
 * range (tinyband's codebooks use different parts of one shared vocabulary)
 * and the pad/BOS id when it lies inside the logits (a sampled pad would be
 * fed back as if it were a delay-pattern pad).
 */
export class SuppressTokens implements LogitsProcessor {
  readonly name = 'suppress';

  /**
   * `limits[k]`: codebook k may produce ids below it (undefined: any id).
   * `ids`: ids no codebook may produce.
   */
  constructor(
    private readonly limits: readonly number[] | undefined,
    private readonly ids: readonly number[] = [],
  ) {}

  apply(row: Float32Array, codebook: number): void {
    const limit = this.limits?.[codebook];
    if (limit !== undefined && limit < row.length) row.fill(-Infinity, limit);
    for (const id of this.ids) if (id < row.length) row[id] = -Infinity;
  }
}
