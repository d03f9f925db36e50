/**
 * The band's notes, live: every generated frame is decoded into notes as it
 * arrives from the worker (the decoder follows the synth, which plays every
 * frame), and its notes wait until the output hands the frame's audio to
 * the device. Then they go to the MIDI port (`--midi-notes-out`), due after
 * the device's latency, and into the MIDI file (`--record-midi`) at the
 * output sample they were heard at, the clock the WAV takes record by.
 *
 * Stop drops what is queued in the ring (it is never heard) and ends every
 * note; close does the same, then writes the file. Nothing here throws
 * into the audio path: a port that fails is counted by MidiOutput, a file
 * that cannot be written is said when the session ends.
 *
 * Threading model: main thread only (the output's tap, the engine's
 * messages, the session's commands).
 */
import type { Observable, Subscription } from 'rxjs';
import type { IssueLog } from '../control/issues.js';
import { openMidiOutput } from '../control/midi-source.js';
import type { TokenFrame } from '../engine/live-engine.js';
import { LiveNotesOut, type Clock, type NoteSink } from './live-notes-out.js';
import { MidiTake } from './midi-take.js';
import { NoteDecoder, type NoteEvent } from './note-decoder.js';
import { NotesFile } from './notes-file.js';
import { Playout } from './playout.js';

export interface BandNotesOptions {
  tokens$: Observable<TokenFrame>;
  /** The output stage: its tap (after each pull) and the ring position handed out so far. */
  output: { tap(listener: (block: Float32Array) => void): () => void; readPosition(): number; sampleRate: number };
  /** The device's own latency, ms: notes are due this long after their audio leaves the ring. */
  deviceLatencyMs: number;
  /** The tempo the session starts at (the file's first tempo). */
  tempo: number;
  /** --midi-notes-out, opened (null: none). */
  port: NoteSink | null;
  /** --record-midi, claimed (null: none). */
  take: MidiTake | null;
  /** Where a failure in the audio path's tap is counted. */
  issues?: IssueLog;
  /** The clock the port's sends are timed by (tests: virtual time). */
  clock?: Clock;
}

export class BandNotes {
  private readonly decoder = new NoteDecoder();
  private readonly playout = new Playout<{ events: NoteEvent[]; tempo: number }>();
  private readonly live: LiveNotesOut | null;
  private readonly file: NotesFile | null;
  private readonly sub: Subscription;
  private readonly untap: () => void;
  private playing = true;
  private closed = false;

  constructor(private readonly options: BandNotesOptions) {
    const { output } = options;
    this.live = options.port ? new LiveNotesOut(options.port, { sampleRate: output.sampleRate, latencyMs: options.deviceLatencyMs, clock: options.clock }) : null;
    this.file = options.take ? new NotesFile(output.sampleRate, options.tempo) : null;
    this.sub = options.tokens$.subscribe((f) => this.playout.add(f.position, { events: this.decoder.push(f.frame, f.index, f.dice), tempo: f.tempo }));
    this.untap = output.tap((block) => this.heard(block.length / 2));
  }

  /** Transport: stop ends every note and drops the frames still in the ring; play goes on with the next frames heard. */
  setPlaying(on: boolean): void {
    if (!on && this.playing) {
      this.playout.drop();
      this.live?.stop();
      this.file?.releaseAt(this.playout.samples);
    }
    this.playing = on;
  }

  /** The MIDI file being recorded, if any. */
  get filePath(): string | null {
    return this.options.take?.path ?? null;
  }

  /** Notes in the file so far. */
  get fileNotes(): number {
    return this.file?.count ?? 0;
  }

  /** Ends every note, closes the port and writes the file (after the output has stopped pulling). Returns the file written, if any; throws when it could not be. */
  close(): string | null {
    if (this.closed) return null;
    this.closed = true;
    this.untap();
    this.sub.unsubscribe();
    this.live?.close();
    const { take } = this.options;
    if (!take || !this.file) return null;
    take.write(this.file.bytes(this.playout.samples));
    return take.path;
  }

  private heard(frames: number): void {
    try {
      for (const h of this.playout.advance(frames, this.options.output.readPosition(), this.playing)) {
        this.live?.heard(h.item.events, h.offset);
        this.file?.frame(h.sample, h.item.tempo, h.item.events);
      }
    } catch (err) {
      // called from the output's pull: whatever went wrong here, the audio goes on
      this.options.issues?.report('midi', 'notes-failed', `MIDI notes: ${(err as Error).message}`);
    }
  }
}

/** `--midi-notes-out` and `--record-midi` as the session asked for them. */
export interface BandNotesConfig {
  /** MIDI output port for the notes (part of its name, as --midi-out). */
  port?: string;
  /** The MIDI file of the session, start to stop. */
  record?: string;
  /** --overwrite: the MIDI file may replace the user's own file. */
  overwrite: boolean;
}

/**
 * Opens the notes' outputs: a port that will not open is reported (the
 * music goes on without it, as for --midi-out); a file that cannot be
 * claimed throws (the session is still starting: nothing plays yet).
 */
export function openBandNotes(
  config: BandNotesConfig,
  parts: Omit<BandNotesOptions, 'port' | 'take' | 'issues'> & { issues: IssueLog; openPort?: (name: string, issues: IssueLog) => NoteSink },
): BandNotes {
  let port: NoteSink | null = null;
  if (config.port !== undefined) {
    try {
      port = (parts.openPort ?? ((name, issues) => openMidiOutput(name, { issues })))(config.port, parts.issues);
    } catch (err) {
      parts.issues.report('midi', 'open-failed', `--midi-notes-out: ${(err as Error).message}`);
    }
  }
  const take = config.record !== undefined ? MidiTake.claim(config.record, config.overwrite) : null;
  return new BandNotes({ ...parts, port, take });
}
