import type { LogitsProcessor } from './processor.js';

/**
 * Nucleus sampling: keeps the most likely ids whose probabilities add up to
 * at least p (a token is kept while the mass ranked above it is below p, as
 * transformers' TopPLogitsWarper), always at least one. p = 1 keeps all.
 */
export class TopP implements LogitsProcessor {
  readonly name = 'top-p';
  private readonly order: Uint32Array;
  private row: Float32Array = new Float32Array(0);
  private readonly byScore = (a: number, b: number): number => this.row[b] - this.row[a] || a - b;

  constructor(
    readonly p: number,
    vocabSize: number,
  ) {
    if (!(Number.isFinite(p) && p > 0 && p <= 1)) throw new RangeError(`top-p must be a number > 0 and <= 1, got: ${p}`);
    this.order = new Uint32Array(vocabSize);
  }

  apply(row: Float32Array): void {
    if (this.p >= 1) return;
    let n = 0;
    let max = -Infinity;
    for (let i = 0; i < row.length; i++) {
      if (row[i] === -Infinity) continue;
      this.order[n++] = i;
      if (row[i] > max) max = row[i];
    }
    if (n <= 1) return;
    let total = 0;
    for (let j = 0; j < n; j++) total += Math.exp(row[this.order[j]] - max);
    this.row = row;
    const order = this.order.subarray(0, n).sort(this.byScore);
    let above = 0;
    let j = 0;
    for (; j < n && above < this.p; j++) above += Math.exp(row[order[j]] - max) / total;
    for (; j < n; j++) row[order[j]] = -Infinity;
  }
}
