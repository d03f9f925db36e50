/**
 * The band's notes to a MIDI port, in time with the audio that is heard: a
 * frame's notes are due when the output hands the frame's first sample to
 * the device, plus the device's own latency (plus where in the block that
 * sample lies). Due notes wait in one queue, in order, on one timer.
 *
 * Nothing here can stop the audio: sends go through MidiOutput, which counts
 * a failure as an issue and never throws, and the timer only sends.
 * stop() and close() leave no note hanging: an off for every note sent and
 * not yet ended, then All Notes Off (CC 123) on every band channel.
 *
 * Threading model: main thread only (the output's tap and the session).
 */
import { INSTRUMENTS } from '../model/tinyband/layout.js';
import { BAND_CHANNELS } from './band-channels.js';
import type { NoteEvent } from './note-decoder.js';
import { SoundingNotes } from './sounding-notes.js';

/** The part of control/midi-source.ts's MidiOutput used here (channels 0..15 there). */
export interface NoteSink {
  sendNote(channel: number, note: number, velocity: number): void;
  sendCc(channel: number, controller: number, value: number): void;
  close(): void;
}

export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

const realClock: Clock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** MIDI's All Notes Off controller. */
const ALL_NOTES_OFF = 123;

export class LiveNotesOut {
  private queue: { due: number; event: NoteEvent }[] = [];
  private timer: unknown = null;
  private readonly sent = new SoundingNotes();
  private closed = false;

  constructor(
    private readonly sink: NoteSink,
    private readonly options: { sampleRate: number; /** The device's own latency, ms. */ latencyMs: number; clock?: Clock },
  ) {}

  private get clock(): Clock {
    return this.options.clock ?? realClock;
  }

  /** A frame's events, its first sample `offset` samples into the block the output has just handed to the device. */
  heard(events: readonly NoteEvent[], offset: number): void {
    if (this.closed || events.length === 0) return;
    const last = this.queue.at(-1)?.due ?? -Infinity;
    // never before what is already queued: the order of the music is the order sent
    const due = Math.max(last, this.clock.now() + this.options.latencyMs + (1000 * offset) / this.options.sampleRate);
    for (const event of events) this.queue.push({ due, event });
    this.arm();
  }

  /** Playing stopped: what is queued is dropped, what sounds is ended. */
  stop(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    this.queue = [];
    for (const { event } of this.sent.releaseAll()) this.sink.sendNote(event.channel - 1, event.note, 0);
    for (const inst of INSTRUMENTS) this.sink.sendCc(BAND_CHANNELS[inst] - 1, ALL_NOTES_OFF, 0);
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    this.closed = true;
    this.sink.close();
  }

  private arm(): void {
    if (this.timer !== null || this.queue.length === 0) return;
    this.timer = this.clock.setTimer(() => this.flush(), Math.max(0, this.queue[0].due - this.clock.now()));
  }

  private flush(): void {
    this.timer = null;
    const now = this.clock.now();
    let i = 0;
    for (; i < this.queue.length && this.queue[i].due <= now + 0.5; i++) {
      const { event } = this.queue[i];
      if (this.sent.apply(event, undefined)) this.sink.sendNote(event.channel - 1, event.note, event.velocity);
    }
    this.queue = this.queue.slice(i);
    this.arm();
  }
}
