import type { LogitsProcessor } from './processor.js';

/**
 * Keeps exactly the k highest scores and masks the rest. Ties at the
 * boundary go to the lower id, so the kept set never grows past k and is the
 * same on every platform (transformers keeps every tie, which makes "k" a
 * lower bound only). k = 0 disables it, as in transformers.
 *
 * A min-heap of k ids holds the best so far: O(V log k) per row, with its
 * storage allocated once.
 */
export class TopK implements LogitsProcessor {
  readonly name = 'top-k';
  private readonly heap: Int32Array;
  private readonly keep: Uint8Array;
  private row: Float32Array = new Float32Array(0);

  constructor(
    readonly k: number,
    vocabSize: number,
  ) {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`top-k must be an integer >= 0, got: ${k}`);
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new RangeError(`vocabSize must be a positive integer, got: ${vocabSize}`);
    this.heap = new Int32Array(Math.min(k, vocabSize));
    this.keep = new Uint8Array(vocabSize);
  }

  apply(row: Float32Array): void {
    const k = this.k;
    if (k === 0 || k >= row.length) return;
    const heap = this.heap;
    this.row = row;
    for (let i = 0; i < k; i++) heap[i] = i;
    for (let i = (k >> 1) - 1; i >= 0; i--) this.siftDown(i, k);
    for (let id = k; id < row.length; id++) {
      if (this.below(heap[0], id)) {
        heap[0] = id;
        this.siftDown(0, k);
      }
    }
    const keep = this.keep;
    keep.fill(0);
    for (let i = 0; i < k; i++) keep[heap[i]] = 1;
    for (let id = 0; id < row.length; id++) if (!keep[id]) row[id] = -Infinity;
  }

  /** "a ranks below b": a lower score, or the same score and a higher id. */
  private below(a: number, b: number): boolean {
    const row = this.row;
    return row[a] < row[b] || (row[a] === row[b] && a > b);
  }

  private siftDown(i: number, n: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const c = r < n && this.below(heap[r], heap[l]) ? r : l;
      if (!this.below(heap[c], heap[i])) return;
      const t = heap[c];
      heap[c] = heap[i];
      heap[i] = t;
      i = c;
    }
  }
}
