/**
 * A time source: where the DAW's musical time comes from (MIDI clock, Ableton
 * Link, AbletonOSC's beat listener). Each says the same three things, so the
 * session follows whichever is configured (follow-time.ts): the tempo, the
 * transport (started at a song position, stopped), and when the DAW is at a
 * given beat (the phase). Times are performance.now() ms on the main thread.
 */
import type { Observable } from 'rxjs';

/** `--sync`: off (the session keeps its own time; a preset may still follow MIDI clock's tempo and start/stop), or a source. */
export const SYNC_SOURCES = ['off', 'midi', 'link', 'abletonosc'] as const;
export type SyncSource = (typeof SYNC_SOURCES)[number];

export type TransportEvent =
  /** The DAW plays, and is at song position `beats` (from bar 1's downbeat) at `at`. */
  | { type: 'start'; beats: number; at: number }
  | { type: 'stop' };

export interface TimeSource {
  /** For the performer: where the time comes from. */
  readonly name: string;
  /** The DAW's tempo (BPM, CONTROL_RANGES.tempo), when it changes. */
  readonly tempo$: Observable<number>;
  readonly transport$: Observable<TransportEvent>;
  /** When the DAW, playing, was or will be at song position `beats`; null while stopped or not yet known. */
  timeOf(beats: number): number | null;
  /** A source whose tempo the session may set (Link: any peer may): the performer's tempo goes there, not to the engine. */
  proposeTempo?(bpm: number): void;
  close(): void;
}
