/**
 * The band's notes as a standard MIDI file (format 1, written with the
 * `midi-file` library): a tempo track (the tempo map, 4/4) and one track
 * per instrument on its own channel, named after it.
 *
 * Time is the output's: a frame's notes sit at the output sample where the
 * frame was heard (see playout.ts), converted to ticks through the tempo
 * map. So the file lines up with the audio take of the same span, pauses
 * and underruns included; while the music plays without a gap, frame n
 * starts on tick n * PPQ / 4 exactly.
 *
 * Threading model: main thread only. Nothing is written until the end
 * (bytes()): encoding a long take is too slow for the thread that pulls the
 * audio.
 */
import { writeMidi, type MidiData, type MidiEvent } from 'midi-file';
import { BEATS_PER_BAR, FRAMES_PER_BEAT } from '../constants.js';
import { INSTRUMENTS, type Instrument } from '../model/tinyband/layout.js';
import { BAND_CHANNELS, GM_PROGRAMS } from './band-channels.js';
import type { NoteEvent } from './note-decoder.js';
import { SoundingNotes } from './sounding-notes.js';

/** Ticks per quarter note: a 16th (a frame) is 120 ticks. */
export const PPQ = 480;

interface Note {
  instrument: Instrument;
  channel: number;
  note: number;
  velocity: number;
  tick: number;
  length: number;
}

export class NotesFile {
  private readonly notes: Note[] = [];
  private readonly tempos: { tick: number; bpm: number }[] = [];
  private readonly sounding = new SoundingNotes<number>();
  /** The tempo map's last anchor: output sample, its tick, the tempo from there on. */
  private anchor: { sample: number; tick: number; bpm: number };
  private end = 0;

  constructor(
    private readonly sampleRate: number,
    tempo: number,
  ) {
    this.anchor = { sample: 0, tick: 0, bpm: tempo };
    this.tempos.push({ tick: 0, bpm: tempo });
  }

  /** A frame heard at output sample `sample`, played at `tempo`, with its note events. */
  frame(sample: number, tempo: number, events: readonly NoteEvent[]): void {
    if (tempo !== this.anchor.bpm) {
      const tick = this.tickAt(sample);
      this.anchor = { sample, tick, bpm: tempo };
      if (this.tempos.at(-1)!.tick === tick) this.tempos.at(-1)!.bpm = tempo;
      else this.tempos.push({ tick, bpm: tempo });
    }
    const tick = this.tickAt(sample);
    for (const e of events) {
      const started = this.sounding.apply(e, tick);
      if (started !== true && started !== null) this.close(started.event, started.data, tick);
    }
    this.end = Math.max(this.end, tick);
  }

  /** Ends every sounding note at output sample `sample` (playing stopped, or the take ends). */
  releaseAt(sample: number): void {
    const tick = this.tickAt(sample);
    for (const { event, data } of this.sounding.releaseAll()) this.close(event, data, tick);
    this.end = Math.max(this.end, tick);
  }

  /** Notes so far (ended ones), in the order they ended. */
  get count(): number {
    return this.notes.length;
  }

  /** The file: every note still sounding ends at output sample `sample`, the end of the take. */
  bytes(sample: number): Uint8Array {
    this.releaseAt(sample);
    const tempoMap: { tick: number; event: MidiEvent }[] = [
      { tick: 0, event: { deltaTime: 0, meta: true, type: 'trackName', text: 'smitin-live tinyband' } },
      { tick: 0, event: { deltaTime: 0, meta: true, type: 'timeSignature', numerator: BEATS_PER_BAR, denominator: 4, metronome: 24, thirtyseconds: 8 } },
      ...this.tempos.map((t) => ({ tick: t.tick, event: { deltaTime: 0, meta: true, type: 'setTempo', microsecondsPerBeat: Math.round(60_000_000 / t.bpm) } as MidiEvent })),
    ];
    const tracks = [withDeltas(tempoMap, this.end)];
    for (const inst of INSTRUMENTS) tracks.push(withDeltas(this.trackEvents(inst), this.end));
    return encode(tracks);
  }

  private trackEvents(inst: Instrument): { tick: number; event: MidiEvent }[] {
    const channel = BAND_CHANNELS[inst] - 1;
    const head: { tick: number; event: MidiEvent }[] = [{ tick: 0, event: { deltaTime: 0, meta: true, type: 'trackName', text: inst } }];
    if (inst !== 'drums') head.push({ tick: 0, event: { deltaTime: 0, type: 'programChange', channel, programNumber: GM_PROGRAMS[inst] } });
    const body: { tick: number; off: boolean; event: MidiEvent }[] = [];
    for (const n of this.notes) {
      if (n.instrument !== inst) continue;
      body.push({ tick: n.tick, off: false, event: { deltaTime: 0, type: 'noteOn', channel, noteNumber: n.note, velocity: n.velocity } });
      body.push({ tick: n.tick + n.length, off: true, event: { deltaTime: 0, type: 'noteOff', channel, noteNumber: n.note, velocity: 0 } });
    }
    // on one tick, offs before ons: a key struck again on the tick its last note ends is a new note, not an empty one
    body.sort((a, b) => a.tick - b.tick || Number(b.off) - Number(a.off));
    return [...head, ...body];
  }

  private close(on: NoteEvent, tick: number, endTick: number): void {
    if (endTick <= tick) return;
    this.notes.push({ instrument: on.instrument, channel: on.channel, note: on.note, velocity: on.velocity, tick, length: endTick - tick });
  }

  private tickAt(sample: number): number {
    const { anchor } = this;
    return anchor.tick + Math.round(((sample - anchor.sample) * anchor.bpm * PPQ) / (60 * this.sampleRate));
  }
}

/** A frame in ticks (a 16th). */
export const TICKS_PER_FRAME = PPQ / FRAMES_PER_BEAT;

/** Events at absolute ticks (in order) as a track: delta times, and the end of track at `end` or after the last event. */
function withDeltas(events: { tick: number; event: MidiEvent }[], end: number): MidiEvent[] {
  let last = 0;
  const out = events.map(({ tick, event }) => {
    const e = { ...event, deltaTime: tick - last };
    last = tick;
    return e;
  });
  out.push({ deltaTime: Math.max(0, end - last), meta: true, type: 'endOfTrack' });
  return out;
}

/** Events per slice handed to writeMidi: its cost grows with the square of a track's length (below). */
const SLICE_EVENTS = 1024;

/**
 * The file's bytes, format 1. midi-file's writer appends each variable-length
 * number (every delta of 128 ticks or more) by copying the whole track so
 * far: an hour-long dense session took 112 s to encode in one piece. So each
 * track's events are encoded in slices (writeMidi here writes no running
 * status, so every slice stands on its own) and the slices joined into one
 * track chunk.
 */
function encode(tracks: MidiEvent[][]): Uint8Array {
  const header = chunkOf(writeMidi({ header: { format: 1, numTracks: tracks.length, ticksPerBeat: PPQ }, tracks: [] }), 0);
  // writeMidi counts the tracks it was given (none here)
  new DataView(header.buffer, header.byteOffset).setUint16(10, tracks.length);
  const chunks = [header];
  for (const track of tracks) {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < track.length; i += SLICE_EVENTS) {
      const data: MidiData = { header: { format: 0, numTracks: 1, ticksPerBeat: PPQ }, tracks: [track.slice(i, i + SLICE_EVENTS)] };
      parts.push(chunkOf(writeMidi(data, { running: false }), 1).subarray(8));
    }
    const body = Buffer.concat(parts);
    const head = new Uint8Array(8);
    head.set([0x4d, 0x54, 0x72, 0x6b]); // MTrk
    new DataView(head.buffer).setUint32(4, body.length);
    chunks.push(head, body);
  }
  return Buffer.concat(chunks);
}

/** Chunk `index` (header and data) of an SMF's bytes. */
function chunkOf(bytes: number[], index: number): Uint8Array {
  const all = Uint8Array.from(bytes);
  const view = new DataView(all.buffer);
  let at = 0;
  for (let i = 0; i < index; i++) at += 8 + view.getUint32(at + 4);
  return all.subarray(at, at + 8 + view.getUint32(at + 4));
}
