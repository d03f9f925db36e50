/**
 * When generated frames are heard: frames arrive from the worker with the
 * ring position their audio starts at, long before the output hands that
 * audio to the device. After each pull, advance() hands back the frames
 * whose start the output has just handed out, each with its place in the
 * output's own count of samples (the clock of the takes: it keeps running
 * through underruns and pauses, as the recorded file does) and its offset
 * into the block just handed out.
 *
 * Frames the output never plays (the ring is flushed when playing stops) are
 * dropped, never handed back late.
 *
 * Threading model: main thread only, from the output's tap and the engine's
 * messages.
 */
export interface HeardItem<T> {
  item: T;
  /** Output samples before this frame's start, since the output started. */
  sample: number;
  /** Samples from the start of the block just handed out to this frame's start. */
  offset: number;
}

export class Playout<T> {
  private pending: { position: number; item: T }[] = [];
  /** The ring's read position after the last pull (null before the first). */
  private read: number | null = null;
  /** Output samples handed out so far. */
  private handed = 0;

  /** A frame whose audio starts at ring position `position` (the ring counts mod 2^32). */
  add(position: number, item: T): void {
    this.pending.push({ position: position >>> 0, item });
  }

  /** Output samples handed out so far: where the next block starts. */
  get samples(): number {
    return this.handed;
  }

  /**
   * After a pull of `frames` samples that left the ring's read position at
   * `read`: the frames that started in it. While `playing` is false the
   * ring is being flushed: what it held is dropped.
   */
  advance(frames: number, read: number, playing: boolean): HeardItem<T>[] {
    const from = this.read ?? (read - Math.min(frames, read)) >>> 0;
    const played = playing ? Math.min(frames, (read - from) >>> 0) : 0;
    const out: HeardItem<T>[] = [];
    let i = 0;
    for (; i < this.pending.length; i++) {
      const ahead = (this.pending[i].position - from) >>> 0;
      // positions behind `from` (wrapped: huge) were flushed; those past `read` are still queued
      if (ahead < 2 ** 31 && ahead >= ((read - from) >>> 0)) break;
      if (ahead < played) out.push({ item: this.pending[i].item, sample: this.handed + ahead, offset: ahead });
    }
    if (i > 0) this.pending = this.pending.slice(i);
    this.read = read >>> 0;
    this.handed += frames;
    return out;
  }

  /** Forgets the frames not yet heard (playing stopped: the ring is flushed), and returns how many there were. */
  drop(): number {
    const n = this.pending.length;
    this.pending = [];
    return n;
  }
}
