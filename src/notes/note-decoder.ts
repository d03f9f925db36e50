/**
 * tinyband token frames -> MIDI note events, with the synthesizer's own
 * reading of every token: which drum voices a drum token hits (layout.ts),
 * which pitches a chord strike sounds on piano or guitar (the synth's
 * voicings), how long a note lasts (from its note-on through its holds, to
 * the next rest or note of its stream), and how hard it is played (the
 * synth's dynamics: bar accent, humanizing dice, up-strokes, a piano
 * chord's top voice). Drum hits last one frame (a 16th).
 *
 * Piano and guitar each play two streams (chords and melody) on one MIDI
 * channel. When both sound the same key, the latest strike owns it: the
 * earlier note ends there (off, then on; struck by both on the same frame,
 * it is one note), and the stream that lost it sends no second off later.
 * So on every channel and key, ons and offs alternate, and no note is
 * empty.
 *
 * One decoder follows one stream of frames in order, all of them (the synth
 * plays every frame it is given); the frame index is the synth's (its bar
 * position and its dice depend on it).
 */
import { Codebook, decodeBass, decodeDrums, decodeHarmony, decodeMelody, type ChordInstrument, type Instrument } from '../model/tinyband/layout.js';
import { drumHits, streamStrike, strum } from '../model/codec/synth/dynamics.js';
import { chordToneVelocity } from '../model/codec/synth/piano.js';
import { guitarVoicing, pianoVoicing } from '../model/codec/synth/voicing.js';
import { BAND_CHANNELS, GM_DRUM_NOTES, midiVelocity } from './band-channels.js';

export interface NoteEvent {
  type: 'on' | 'off';
  instrument: Instrument;
  /** 1..16 (drums on 10). */
  channel: number;
  note: number;
  /** 1..127 for an on, 0 for an off. */
  velocity: number;
  /** The frame at whose start it happens. */
  frame: number;
}

/** The streams that start notes: one slot each, holding what it sounds. */
const STREAMS = [Codebook.Drums, Codebook.Bass, Codebook.Harmony, Codebook.Melody] as const;

interface Sounding {
  instrument: Instrument;
  notes: number[];
}

export class NoteDecoder {
  private readonly sounding: (Sounding | null)[] = STREAMS.map(() => null);
  /** channel * 128 + note -> the stream that sounds it now, and the frame it was struck on. */
  private readonly owner = new Map<number, { stream: number; frame: number }>();

  /** The events at the start of frame `frame`: offs first, then ons; `dice`: the synth's index for its velocities (a loop replays a frame with its own). */
  push(tokens: readonly number[], frame: number, dice = frame): NoteEvent[] {
    const out: NoteEvent[] = [];
    const drums = decodeDrums(tokens[Codebook.Drums]);
    const bass = decodeBass(tokens[Codebook.Bass]);
    const chord = decodeHarmony(tokens[Codebook.Harmony]);
    const melody = decodeMelody(tokens[Codebook.Melody]);
    // drums ring one frame; a pitched stream's note ends on anything but a hold
    this.end(Codebook.Drums, frame, out);
    if (bass.kind !== 'hold') this.end(Codebook.Bass, frame, out);
    if (chord.kind !== 'hold') this.end(Codebook.Harmony, frame, out);
    if (melody.kind !== 'hold') this.end(Codebook.Melody, frame, out);

    const hits = drumHits(dice, drums);
    if (hits.length) this.start(Codebook.Drums, 'drums', hits.map((h) => [GM_DRUM_NOTES[h.voice], midiVelocity(h.level)]), frame, out);
    if (bass.kind === 'note') this.start(Codebook.Bass, 'bass', [[bass.pitch, midiVelocity(streamStrike(Codebook.Bass, dice).velocity)]], frame, out);
    if (chord.kind === 'strike') {
      const v = streamStrike(Codebook.Harmony, dice).velocity;
      this.start(Codebook.Harmony, chord.instrument, chordNotes(chord.instrument, chord.root, chord.quality, v, dice), frame, out);
    }
    if (melody.kind === 'note') this.start(Codebook.Melody, melody.instrument, [[melody.pitch, midiVelocity(streamStrike(Codebook.Melody, dice).velocity)]], frame, out);
    return out;
  }

  /** Offs, at frame `frame`, for every note still sounding (the stream ended, or playing stopped). */
  release(frame: number): NoteEvent[] {
    const out: NoteEvent[] = [];
    for (const stream of STREAMS) this.end(stream, frame, out);
    return out;
  }

  private end(stream: number, frame: number, out: NoteEvent[]): void {
    const s = this.sounding[stream];
    if (!s) return;
    const channel = BAND_CHANNELS[s.instrument];
    for (const note of s.notes) {
      const key = channel * 128 + note;
      if (this.owner.get(key)?.stream !== stream) continue;
      this.owner.delete(key);
      out.push({ type: 'off', instrument: s.instrument, channel, note, velocity: 0, frame });
    }
    this.sounding[stream] = null;
  }

  private start(stream: number, instrument: Instrument, notes: readonly (readonly [number, number])[], frame: number, out: NoteEvent[]): void {
    const channel = BAND_CHANNELS[instrument];
    for (const [note, velocity] of notes) {
      const key = channel * 128 + note;
      const held = this.owner.get(key);
      this.owner.set(key, { stream, frame });
      if (held?.frame === frame) continue;
      // the other stream of this instrument sounds the key: it is struck again, and the new note owns it
      if (held) out.push({ type: 'off', instrument, channel, note, velocity: 0, frame });
      out.push({ type: 'on', instrument, channel, note, velocity, frame });
    }
    this.sounding[stream] = { instrument, notes: notes.map(([n]) => n) };
  }
}

/** A chord strike's keys and velocities, as the synth voices and plays it. */
function chordNotes(instrument: ChordInstrument, root: number, quality: Parameters<typeof pianoVoicing>[1], velocity: number, frame: number): [number, number][] {
  if (instrument === 'piano') {
    const pitches = pianoVoicing(root, quality);
    return pitches.map((p, i) => [p, midiVelocity(chordToneVelocity(velocity, i, pitches.length))]);
  }
  const stroke = strum(velocity, frame).velocity;
  return guitarVoicing(root, quality).map((p) => [p, midiVelocity(stroke)]);
}
