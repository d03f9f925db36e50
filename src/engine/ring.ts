/**
 * A lock-free single-producer single-consumer ring of float32 frames of one
 * stereo pair (the mix) or more (the mix, then stems: --outputs stems) in
 * shared memory: the generation worker writes, the audio side reads, and
 * neither ever waits for the other. Positions are frame counters that only
 * grow (wrapping at 2^32, so differences stay right), published with Atomics
 * after the samples they cover are written, so a reader never sees a
 * position ahead of its data.
 */
const WRITE = 0;
const READ = 1;
const PAIRS = 2;
const HEADER_INTS = 3;

/** One stereo pair's samples: the mix, or a stem. */
export interface StereoPair {
  readonly left: Float32Array;
  readonly right: Float32Array;
}

export class StereoRing {
  readonly capacity: number;
  /** Interleaved channels per frame: 2 per pair. */
  readonly channels: number;
  private readonly positions: Int32Array;
  private readonly data: Float32Array;

  /** Wraps a buffer made by StereoRing.allocate (possibly in another thread). */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.positions = new Int32Array(buffer, 0, HEADER_INTS);
    this.data = new Float32Array(buffer, HEADER_INTS * 4);
    this.channels = 2 * this.positions[PAIRS];
    this.capacity = this.data.length / this.channels;
  }

  /** `pairs`: stereo pairs per frame (1: the mix; more: the mix, then stems). */
  static allocate(capacityFrames: number, pairs = 1): StereoRing {
    if (!Number.isInteger(capacityFrames) || capacityFrames < 1 || capacityFrames > 2 ** 28) {
      throw new RangeError(`ring capacity must be an integer number of frames in [1, 2^28], got: ${capacityFrames}`);
    }
    if (!Number.isInteger(pairs) || pairs < 1 || pairs > 32) throw new RangeError(`ring pairs must be an integer in [1, 32], got: ${pairs}`);
    const buffer = new SharedArrayBuffer(HEADER_INTS * 4 + capacityFrames * 2 * pairs * 4);
    new Int32Array(buffer, 0, HEADER_INTS)[PAIRS] = pairs;
    return new StereoRing(buffer);
  }

  /** Frames written and not yet read. */
  available(): number {
    return (Atomics.load(this.positions, WRITE) - Atomics.load(this.positions, READ)) >>> 0;
  }

  /** Frames that can be written now. */
  space(): number {
    return this.capacity - this.available();
  }

  /** Total frames written so far (mod 2^32): the producer's clock. */
  written(): number {
    return Atomics.load(this.positions, WRITE) >>> 0;
  }

  /** Total frames read so far (mod 2^32): the consumer's clock. */
  read(): number {
    return Atomics.load(this.positions, READ) >>> 0;
  }

  /** Producer (a one-pair ring): writes up to `count` frames from `from` (as many as fit); returns how many. */
  write(left: Float32Array, right: Float32Array, from = 0, count = left.length - from): number {
    return this.writePairs([{ left: left.subarray(from, from + count), right: right.subarray(from, from + count) }]);
  }

  /** Producer: writes up to pairs[0].left.length frames of every pair (as many as fit); returns how many. */
  writePairs(pairs: readonly StereoPair[]): number {
    const ch = this.channels;
    if (pairs.length * 2 !== ch) throw new Error(`this ring takes ${ch / 2} pairs a frame, got: ${pairs.length}`);
    const n = Math.min(pairs[0].left.length, this.space());
    const w = Atomics.load(this.positions, WRITE) >>> 0;
    const cap = this.capacity;
    for (let p = 0; p < pairs.length; p++) {
      const { left, right } = pairs[p];
      for (let i = 0; i < n; i++) {
        const at = ((w + i) % cap) * ch + 2 * p;
        this.data[at] = left[i];
        this.data[at + 1] = right[i];
      }
    }
    Atomics.store(this.positions, WRITE, (w + n) | 0);
    return n;
  }

  /** Consumer: reads up to `frames` frames interleaved (`channels` a frame) into out (from index 0); returns how many. */
  readInto(out: Float32Array, frames: number): number {
    const n = Math.min(frames, this.available());
    const r = Atomics.load(this.positions, READ) >>> 0;
    const cap = this.capacity;
    const ch = this.channels;
    if (ch === 2) {
      for (let i = 0; i < n; i++) {
        const at = ((r + i) % cap) * 2;
        out[2 * i] = this.data[at];
        out[2 * i + 1] = this.data[at + 1];
      }
    } else {
      for (let i = 0; i < n; i++) {
        const at = ((r + i) % cap) * ch;
        for (let c = 0; c < ch; c++) out[ch * i + c] = this.data[at + c];
      }
    }
    Atomics.store(this.positions, READ, (r + n) | 0);
    return n;
  }

  /** Consumer: drops up to `frames` of what is queued, oldest first (a start on a DAW's grid skips what is late); returns how many. */
  discard(frames: number): number {
    const n = Math.max(0, Math.min(frames, this.available()));
    Atomics.store(this.positions, READ, ((Atomics.load(this.positions, READ) >>> 0) + n) | 0);
    return n;
  }

  /** Consumer: drops everything queued (a stop or a flush). */
  clear(): void {
    Atomics.store(this.positions, READ, Atomics.load(this.positions, WRITE));
  }
}
