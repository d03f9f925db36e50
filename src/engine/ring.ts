/**
 * A lock-free single-producer single-consumer ring of stereo float32 frames
 * in shared memory: the generation worker writes, the audio side reads, and
 * neither ever waits for the other. Positions are frame counters that only
 * grow (wrapping at 2^32, so differences stay right), published with Atomics
 * after the samples they cover are written, so a reader never sees a
 * position ahead of its data.
 */
const WRITE = 0;
const READ = 1;
const HEADER_INTS = 2;

export class StereoRing {
  readonly capacity: number;
  private readonly positions: Int32Array;
  private readonly data: Float32Array;

  /** Wraps a buffer made by StereoRing.allocate (possibly in another thread). */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.positions = new Int32Array(buffer, 0, HEADER_INTS);
    this.data = new Float32Array(buffer, HEADER_INTS * 4);
    this.capacity = this.data.length / 2;
  }

  static allocate(capacityFrames: number): StereoRing {
    if (!Number.isInteger(capacityFrames) || capacityFrames < 1 || capacityFrames > 2 ** 28) {
      throw new RangeError(`ring capacity must be an integer number of frames in [1, 2^28], got: ${capacityFrames}`);
    }
    return new StereoRing(new SharedArrayBuffer(HEADER_INTS * 4 + capacityFrames * 2 * 4));
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

  /** Producer: writes up to left.length frames (as many as fit); returns how many. */
  write(left: Float32Array, right: Float32Array, from = 0, count = left.length - from): number {
    const n = Math.min(count, this.space());
    const w = Atomics.load(this.positions, WRITE) >>> 0;
    const cap = this.capacity;
    for (let i = 0; i < n; i++) {
      const at = ((w + i) % cap) * 2;
      this.data[at] = left[from + i];
      this.data[at + 1] = right[from + i];
    }
    Atomics.store(this.positions, WRITE, (w + n) | 0);
    return n;
  }

  /** Consumer: reads up to `frames` frames interleaved into out (from index 0); returns how many. */
  readInto(out: Float32Array, frames: number): number {
    const n = Math.min(frames, this.available());
    const r = Atomics.load(this.positions, READ) >>> 0;
    const cap = this.capacity;
    for (let i = 0; i < n; i++) {
      const at = ((r + i) % cap) * 2;
      out[2 * i] = this.data[at];
      out[2 * i + 1] = this.data[at + 1];
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
