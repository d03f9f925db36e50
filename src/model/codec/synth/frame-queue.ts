/**
 * The frames waiting to be rendered: four token ids and a length in samples
 * each, in a ring buffer that grows by doubling (allocation happens only when
 * a caller queues more than ever before, never in the audio path).
 */

export class FrameQueue {
  private tokens: Float64Array;
  private lengths: Int32Array;
  private head = 0;
  private count = 0;
  private total = 0;

  constructor(capacity = 64) {
    this.tokens = new Float64Array(capacity * 4);
    this.lengths = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Samples of all queued frames together. */
  get samples(): number {
    return this.total;
  }

  /** Token ids are stored as doubles so pad, negative or fractional ids survive as they came. */
  push(t0: number, t1: number, t2: number, t3: number, length: number): void {
    if (this.count === this.lengths.length) this.grow();
    const cap = this.lengths.length;
    const slot = (this.head + this.count) % cap;
    this.tokens[slot * 4] = t0;
    this.tokens[slot * 4 + 1] = t1;
    this.tokens[slot * 4 + 2] = t2;
    this.tokens[slot * 4 + 3] = t3;
    this.lengths[slot] = length;
    this.count++;
    this.total += length;
  }

  /** Moves the oldest frame's tokens into `into` and returns its length, or -1 when empty. */
  shift(into: number[]): number {
    if (this.count === 0) return -1;
    const slot = this.head;
    into[0] = this.tokens[slot * 4];
    into[1] = this.tokens[slot * 4 + 1];
    into[2] = this.tokens[slot * 4 + 2];
    into[3] = this.tokens[slot * 4 + 3];
    const length = this.lengths[slot];
    this.head = (this.head + 1) % this.lengths.length;
    this.count--;
    this.total -= length;
    return length;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
    this.total = 0;
  }

  private grow(): void {
    const cap = this.lengths.length;
    const tokens = new Float64Array(cap * 8);
    const lengths = new Int32Array(cap * 2);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) % cap;
      tokens.set(this.tokens.subarray(from * 4, from * 4 + 4), i * 4);
      lengths[i] = this.lengths[from];
    }
    this.tokens = tokens;
    this.lengths = lengths;
    this.head = 0;
  }
}
