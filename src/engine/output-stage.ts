/**
 * The audio side of the ring: what the output device pulls each buffer.
 * It never waits for the worker. An empty ring while playing is an
 * underrun: the last samples there are faded out (no click), silence
 * follows, the event is counted, and the next audio fades in. Stop fades
 * out and drops what was queued, so play never starts with stale audio.
 *
 * It also measures the control latency: the worker marks the ring position
 * from which audio was generated with a new control value, stamped with
 * the time the value was set; when the output has taken that sample, the
 * latency is now minus the stamp (the device's own buffer comes on top, and
 * is reported by the device).
 *
 * And it keeps the music's position as heard: the worker marks the ring
 * position of every 16th-note line with its time in beats, and the mark
 * becomes the heard position when the output takes that sample; listeners
 * (the sync follower, src/sync/) learn when each line was handed out.
 *
 * A play after a stop waits for the worker's mark of where the music made
 * after it begins and drops what was queued before it: a frame the worker
 * wrote just as the stop came would otherwise play and run dry while the
 * worker parks for a fresh bar. If no mark comes (a worker that never
 * stopped), it plays on after RESUME_WAIT_MS.
 *
 * A cue (a start on a DAW's grid) fades out what sounds, waits for the
 * worker's mark of where the cued music starts, drops everything before it,
 * and hands that sample out at the cue's time: early, it pads with silence;
 * late, it skips into the music, so the grid stays where the DAW's is.
 */
import { nowMs } from './control-block.js';
import type { StereoRing } from './ring.js';

const STAMP_MOD = 2 ** 31;
/** How long a play after a stop waits for the worker's resume mark before it plays what the ring holds. */
export const RESUME_WAIT_MS = 250;

export class OutputStage {
  underruns = 0;
  /** Control latencies measured so far (ms), the most recent last; capped. */
  readonly latencies: number[] = [];
  /** When each marked sample was handed out (nowMs clock mod 2^31), with its stamp: benchmarks measure from their own send time. */
  readonly handed: { stamp: number; at: number }[] = [];
  private buffer = new Float32Array(0);
  private sounding = false;
  private playing = true;
  private fadeOutPending = false;
  /** A stop no pull has honoured yet: a play that follows it within one block must not resume the stale audio queued before it. */
  private stopPending = false;
  private readonly fadeFrames: number;
  private readonly marks: { stamp: number; position: number }[] = [];
  private readonly grid: { beats: number; position: number }[] = [];
  /** Beats of music handed to the device so far (at 16th-note resolution); the device's own latency comes on top. */
  heardBeats = 0;
  private measureAll = true;
  private measureAfter: number | null = null;
  /** Listeners for every block handed out (the WAV tee, meters). */
  private readonly taps: ((block: Float32Array) => void)[] = [];
  /** Listeners for every 16th-note line handed out: its beats and when (performance.now() ms, within the block). */
  private readonly gridTaps: ((beats: number, at: number) => void)[] = [];
  /** A start on a DAW's grid: hand out ring position `position` (null: until the worker marks it) at `at`. */
  private cue: { at: number; position: number | null } | null = null;
  /** A play after a stop (at `since`, performance.now() ms): play from ring position `position` on (null: until the worker marks it). */
  private resume: { since: number; position: number | null } | null = null;

  constructor(
    private readonly ring: StereoRing,
    readonly sampleRate: number,
    fadeMs = 5,
  ) {
    this.fadeFrames = Math.max(1, Math.round((fadeMs / 1000) * sampleRate));
  }

  /** Audio queued in the ring, ms. */
  ringMs(): number {
    return (1000 * this.ring.available()) / this.sampleRate;
  }

  /** The ring sample being handed out now: what is heard (the device's buffer aside). Frames are marked in the same count. */
  readPosition(): number {
    return this.ring.read();
  }

  setPlaying(on: boolean): void {
    if (this.playing && !on && this.sounding) this.fadeOutPending = true;
    if (on && !this.playing) this.resume = { since: performance.now(), position: null };
    this.playing = on;
    if (!on) {
      this.cue = null;
      this.resume = null;
      this.stopPending = true;
    }
  }

  /** Plays from the worker's next cue mark on, handing its first sample out at `at` (performance.now() ms). */
  cueAt(at: number): void {
    if (this.playing && this.sounding) this.fadeOutPending = true;
    this.playing = true;
    // the cue drops what was queued before its mark itself
    this.stopPending = false;
    this.resume = null;
    this.cue = { at, position: null };
  }

  /** The worker's mark: the music made after a play starts at ring position `position`; whatever was queued before it is stale. */
  resumeMark(position: number): void {
    if (this.resume && this.resume.position === null) this.resume.position = position;
  }

  /** The worker's mark: the cued music starts at ring position `position`; whatever was queued before it is stale. */
  cueMark(position: number): void {
    if (!this.cue || this.cue.position !== null) return;
    this.cue.position = position;
    this.grid.length = 0;
    this.marks.length = 0;
  }

  /**
   * Control latency is a figure about a performer's moves: from here on only
   * changes stamped at or after `stamp` are measured (null: none until it is
   * called again). The preset's own values at start are then no "latency".
   */
  measureFrom(stamp: number | null): void {
    this.measureAfter = stamp === null ? null : Math.floor(stamp) % STAMP_MOD;
    this.measureAll = false;
  }

  mark(stamp: number, position: number): void {
    this.marks.push({ stamp, position });
    if (this.marks.length > 64) this.marks.shift();
  }

  gridMark(beats: number, position: number): void {
    this.grid.push({ beats, position });
    // a ring holds at most a few hundred ms: marks beyond a few seconds would mean nobody pulls
    if (this.grid.length > 512) this.grid.shift();
  }

  tap(listener: (block: Float32Array) => void): () => void {
    return addListener(this.taps, listener);
  }

  /** Calls `listener(beats, at)` for every 16th-note line of the music as it is handed out. */
  tapGrid(listener: (beats: number, at: number) => void): () => void {
    return addListener(this.gridTaps, listener);
  }

  /** Interleaved channels a frame: 2, or the mix and the stems (--outputs stems). */
  get channels(): number {
    return this.ring.channels;
  }

  /** `frames` interleaved frames of `channels`; the returned array is reused by the next call. */
  pull(frames: number): Float32Array {
    if (this.buffer.length !== frames * this.ring.channels) this.buffer = new Float32Array(frames * this.ring.channels);
    const out = this.buffer;
    out.fill(0);
    // A stop and a play within one block (a controller's flood, a double tap) is still a stop: the worker parks
    // and starts from a fresh bar, so the audio queued before it would play on into an underrun.
    if (!this.playing || this.stopPending) {
      this.stopPending = false;
      this.fadeOutQueued(out, frames);
      this.ring.clear();
      // what was queued is dropped, never heard: the position stays where the music stopped
      this.grid.length = 0;
      // a change made while stopped is heard only after play: its "latency" would be the pause, not the engine's
      this.marks.length = 0;
      this.sounding = false;
      this.emit(out);
      return out;
    }
    const now = performance.now();
    if (this.resume && !this.resumed(now)) {
      this.emit(out);
      return out;
    }
    const pad = this.cue ? this.startCue(out, frames, now) : 0;
    if (pad === frames) {
      this.emit(out);
      return out;
    }
    const readFrom = this.ring.read();
    const padded = out.subarray(this.ring.channels * pad);
    const got = this.ring.readInto(padded, frames - pad) + pad;
    if (got > pad && !this.sounding) {
      this.fadeIn(padded, got - pad);
      this.sounding = true;
    }
    if (got < frames && this.sounding) {
      this.fadeOut(out, got, Math.min(got, this.fadeFrames));
      this.sounding = false;
      this.underruns++;
    }
    this.checkMarks();
    this.checkGrid(readFrom, pad, now);
    this.emit(out);
    return out;
  }

  /**
   * The first pull of a cue: silence until the worker's mark; then the stale audio before it is dropped and the
   * cued audio placed at its time. Returns the frames of silence that come first (all of them: not yet).
   */
  private startCue(out: Float32Array, frames: number, now: number): number {
    const cue = this.cue!;
    if (cue.position === null) {
      this.fadeOutQueued(out, frames);
      return frames;
    }
    const stale = (cue.position - this.ring.read()) >>> 0;
    if (stale < 2 ** 31) this.ring.discard(stale);
    // samples of the cued music that should have been handed out before this block's first one
    const due = Math.round(((now - cue.at) / 1000) * this.sampleRate);
    if (due < -frames) return frames;
    // late: wait (silent) until the worker has made the music up to where it should be, unless the ring cannot hold it
    if (due >= 0 && this.ring.available() < due + frames && due + frames <= this.ring.capacity) return frames;
    this.cue = null;
    this.sounding = false;
    if (due >= 0) this.ring.discard(due);
    return Math.max(0, -due);
  }

  /** Whether a play after a stop may hand audio out: its mark has come (what was queued before it is dropped), or the wait is over. */
  private resumed(now: number): boolean {
    const { position, since } = this.resume!;
    if (position === null && now - since < RESUME_WAIT_MS) return false;
    if (position !== null) {
      const stale = (position - this.ring.read()) >>> 0;
      if (stale < 2 ** 31) {
        this.ring.discard(stale);
        // marks of the dropped audio were never heard
        const kept = (m: { position: number }) => !passed(position, m.position);
        this.grid.splice(0, this.grid.length, ...this.grid.filter(kept));
        this.marks.splice(0, this.marks.length, ...this.marks.filter(kept));
      }
    }
    this.resume = null;
    return true;
  }

  /** While stopping: the queued audio's first few ms, faded to nothing (no click). */
  private fadeOutQueued(out: Float32Array, frames: number): void {
    if (!this.fadeOutPending) return;
    const got = this.ring.readInto(out, Math.min(frames, this.fadeFrames));
    this.fadeOut(out, got, got);
    this.fadeOutPending = false;
    this.sounding = false;
  }

  /** Grid lines handed out in this block (which began at ring position `readFrom`, after `pad` frames of silence, at `now`). */
  private checkGrid(readFrom: number, pad: number, now: number): void {
    const read = this.ring.read();
    while (this.grid.length && passed(read, this.grid[0].position)) {
      const { beats, position } = this.grid.shift()!;
      this.heardBeats = beats;
      // a line skipped by a late cue was due before this block: a negative offset
      const at = now + (1000 * (pad + ((position - readFrom) | 0))) / this.sampleRate;
      for (const t of this.gridTaps) t(beats, at);
    }
  }

  private emit(out: Float32Array): void {
    for (const t of this.taps) t(out);
  }

  private checkMarks(): void {
    const read = this.ring.read();
    while (this.marks.length && passed(read, this.marks[0].position)) {
      const { stamp } = this.marks.shift()!;
      if (!this.measured(stamp)) continue;
      const now = Math.floor(nowMs()) % STAMP_MOD;
      this.latencies.push((now - stamp + STAMP_MOD) % STAMP_MOD);
      this.handed.push({ stamp, at: nowMs() % STAMP_MOD });
      if (this.latencies.length > 1000) this.latencies.shift();
      if (this.handed.length > 1000) this.handed.shift();
    }
  }

  private measured(stamp: number): boolean {
    if (this.measureAll) return true;
    if (this.measureAfter === null) return false;
    // stamps wrap at 2^31 ms: "at or after" is a forward distance of less than half the circle
    return (stamp - this.measureAfter + STAMP_MOD) % STAMP_MOD < STAMP_MOD / 2;
  }

  private fadeIn(out: Float32Array, got: number): void {
    const n = Math.min(got, this.fadeFrames);
    const ch = this.ring.channels;
    for (let i = 0; i < n; i++) {
      const g = i / n;
      for (let c = 0; c < ch; c++) out[ch * i + c] *= g;
    }
  }

  /** Fades the last `length` of the first `got` frames down to 0. */
  private fadeOut(out: Float32Array, got: number, length: number): void {
    const ch = this.ring.channels;
    for (let i = 0; i < length; i++) {
      const g = 1 - (i + 1) / length;
      const at = (got - length + i) * ch;
      for (let c = 0; c < ch; c++) out[at + c] *= g;
    }
  }
}

/** Adds a listener; the returned remover is idempotent (a second call must not remove another listener). */
function addListener<T>(list: T[], listener: T): () => void {
  list.push(listener);
  return () => {
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  };
}

/** Whether the ring's read counter (mod 2^32) has moved past `position`: the sample there has been handed out. */
function passed(read: number, position: number): boolean {
  return ((read - position) >>> 0) < 2 ** 31 && read !== position;
}
