/**
 * Follows a time source (time-source.ts): the DAW's tempo becomes the
 * engine's, its start becomes a cued play (the music restarts at the DAW's
 * song position, on the next 16th-note line of it, handed to the device
 * `startDelayMs` after the DAW is there), its stop a stop. From then on,
 * every beat handed out is compared with when the DAW was at that beat, and
 * the tempo is nudged (at most MAX_NUDGE) to take the error out over about
 * a bar: the device's clock and the DAW's drift apart, and a tempo known to
 * 0.02 BPM still slips a few ms a minute.
 *
 * The music is heard `startDelayMs` plus the output latency after the DAW's
 * beat: a fixed offset, which the DAW takes off the recording (docs/sync.md).
 */
import type { Subscription } from 'rxjs';
import { CONTROL_RANGES, type EngineCommand } from '../protocol.js';
import { DEFAULT_TEMPO } from '../constants.js';
import type { TimeSource } from './time-source.js';

/** The largest tempo nudge of the phase correction: 1% is a few cents of pitch nowhere (the synth plays notes, not resampled audio). */
const MAX_NUDGE = 0.01;
/** The phase error is taken out over this long: about a bar at 120 BPM, long against the ring's few hundred ms of delay. */
const CORRECT_OVER_MS = 2000;
/** A phase error this large is no drift: the music is restarted on the DAW's grid. */
const RESYNC_MS = 150;

export interface FollowStats {
  /** Phase error of each whole beat handed out (ms, positive: late against the DAW plus the start delay), the latest last; capped. */
  errorsMs: number[];
  /** Times the music was restarted on the grid (a start, or an error past RESYNC_MS). */
  cues: number;
}

export class TimeFollower {
  readonly stats: FollowStats = { errorsMs: [], cues: 0 };
  private readonly subs: Subscription[] = [];
  private dawTempo = DEFAULT_TEMPO;
  private sentTempo = NaN;
  /** Lines handed out before a cue's music are never compared: the output drops them at the cue (engine/output-stage.ts). */
  private playing = false;

  constructor(
    private readonly source: TimeSource,
    private readonly send: (cmd: EngineCommand) => void,
    private readonly startDelayMs: number,
    tapGrid: (listener: (beats: number, at: number) => void) => () => void,
  ) {
    this.subs.push(
      source.tempo$.subscribe((bpm) => {
        this.dawTempo = bpm;
        this.setTempo(bpm);
      }),
      source.transport$.subscribe((e) => {
        if (e.type === 'start') this.cue(e.beats, e.at);
        else {
          this.playing = false;
          this.send({ type: 'stop' });
        }
      }),
    );
    const untap = tapGrid((beats, at) => this.heard(beats, at));
    this.subs.push({ unsubscribe: untap } as Subscription);
  }

  /** The music restarts on the DAW's next 16th-note line after `beats` (where the DAW is at `at`). */
  private cue(beats: number, at: number): void {
    const line = Math.ceil(beats * 4 - 1e-6) / 4;
    const lineAt = at + ((line - beats) * 60_000) / this.dawTempo;
    this.playing = true;
    this.stats.cues++;
    this.setTempo(this.dawTempo);
    this.send({ type: 'play', cue: { beats: line, at: lineAt + this.startDelayMs } });
  }

  private heard(beats: number, at: number): void {
    if (!this.playing || !Number.isInteger(beats)) return;
    const due = this.source.timeOf(beats);
    if (due === null) return;
    const error = at - (due + this.startDelayMs);
    this.stats.errorsMs.push(error);
    if (this.stats.errorsMs.length > 1000) this.stats.errorsMs.shift();
    if (Math.abs(error) > RESYNC_MS) {
      const now = performance.now();
      const dawBeats = beats + ((now - due) * this.dawTempo) / 60_000;
      this.cue(dawBeats + 1, now + 60_000 / this.dawTempo);
      return;
    }
    const nudge = Math.max(-MAX_NUDGE, Math.min(MAX_NUDGE, error / CORRECT_OVER_MS));
    this.setTempo(this.dawTempo * (1 + nudge));
  }

  private setTempo(bpm: number): void {
    const { min, max } = CONTROL_RANGES.tempo;
    const clamped = Math.min(max, Math.max(min, bpm));
    if (Math.abs(clamped - this.sentTempo) < 0.001) return;
    this.sentTempo = clamped;
    this.send({ type: 'tempo', bpm: clamped });
  }

  /** The performer's tempo: to a source that takes one (Link), which brings it back as its tempo. False: the source's tempo is the DAW's alone. */
  proposeTempo(bpm: number): boolean {
    if (!this.source.proposeTempo) return false;
    this.source.proposeTempo(bpm);
    return true;
  }

  close(): void {
    this.subs.forEach((s) => s.unsubscribe());
    this.source.close();
  }
}
