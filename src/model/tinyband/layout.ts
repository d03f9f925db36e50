/**
 * The tinyband token layout: one frame is a 16th note, described by four
 * codebooks as in MusicGen. This module is the only place that knows what a
 * token means; the composer, the synthesizer, the dataset writer and the
 * probes all go through it.
 *
 *   codebook 0  drums     bitmask of the drum voices hit on this 16th (0 = none)
 *   codebook 1  bass      0 rest, 1 hold, 2.. note-on of a bass pitch
 *   codebook 2  harmony   0 silence, 1 hold, 2.. a chord strike by piano or guitar
 *   codebook 3  melody    0 rest, 1 hold, 2.. a melody note by piano or guitar
 *
 * Codebooks 2 and 3 are shared by piano and guitar: the instrument is part of
 * the token, so "is the guitar playing" has to be read out of shared streams,
 * as in real audio. A "hold" keeps whatever the stream last started sounding.
 *
 * All codebooks share one id space of VOCAB_SIZE ids (MusicGen has one
 * vocab_size for every codebook); ids at or above a codebook's own size are
 * never produced by the composer and decode as silence. PAD_ID = VOCAB_SIZE is
 * the delay-pattern pad and the BOS id, as MusicGen's pad_token_id.
 */

export const NUM_CODEBOOKS = 4;

export const INSTRUMENTS = ['drums', 'bass', 'piano', 'guitar'] as const;
export type Instrument = (typeof INSTRUMENTS)[number];
export const CHORD_INSTRUMENTS = ['piano', 'guitar'] as const;
export type ChordInstrument = (typeof CHORD_INSTRUMENTS)[number];

export const enum Codebook {
  Drums = 0,
  Bass = 1,
  Harmony = 2,
  Melody = 3,
}

// ---------------------------------------------------------------- drums
export const DRUM_VOICES = ['kick', 'snare', 'clap', 'closedHat', 'openHat', 'ride', 'crash'] as const;
export type DrumVoice = (typeof DRUM_VOICES)[number];
/** 2^7 combinations of the seven voices; 0 = no hit. */
export const DRUM_VOCAB = 1 << DRUM_VOICES.length;

// ---------------------------------------------------------------- pitched streams
export const REST = 0;
export const HOLD = 1;
/** First id of a note-on or strike in codebooks 1..3. */
export const FIRST_NOTE = 2;

/** Bass range E1..B3 (MIDI 28..59): 32 pitches. */
export const BASS_LOW = 28;
export const BASS_PITCHES = 32;
export const BASS_VOCAB = FIRST_NOTE + BASS_PITCHES;

/** Melody range G3..D6 (MIDI 55..86): 32 pitches per instrument. */
export const MELODY_LOW = 55;
export const MELODY_PITCHES = 32;
export const MELODY_VOCAB = FIRST_NOTE + CHORD_INSTRUMENTS.length * MELODY_PITCHES;

export const CHORD_QUALITIES = ['maj', 'min', 'dom7', 'maj7', 'min7', 'dim', 'sus4'] as const;
export type ChordQuality = (typeof CHORD_QUALITIES)[number];
/** Semitones above the root of each chord quality. */
export const CHORD_INTERVALS: Record<ChordQuality, readonly number[]> = {
  maj: [0, 4, 7],
  min: [0, 3, 7],
  dom7: [0, 4, 7, 10],
  maj7: [0, 4, 7, 11],
  min7: [0, 3, 7, 10],
  dim: [0, 3, 6],
  sus4: [0, 5, 7],
};
const STRIKES_PER_INSTRUMENT = 12 * CHORD_QUALITIES.length;
export const HARMONY_VOCAB = FIRST_NOTE + CHORD_INSTRUMENTS.length * STRIKES_PER_INSTRUMENT;

/** Size of each codebook's own id range. */
export const CODEBOOK_SIZES: readonly number[] = [DRUM_VOCAB, BASS_VOCAB, HARMONY_VOCAB, MELODY_VOCAB];
/** One id space for all codebooks, as MusicGen's vocab_size. */
export const VOCAB_SIZE = Math.max(...CODEBOOK_SIZES);
/** Delay-pattern pad and BOS id (MusicGen: pad_token_id = decoder_start_token_id = vocab_size). */
export const PAD_ID = VOCAB_SIZE;

// ---------------------------------------------------------------- events
export type DrumEvent = ReadonlySet<DrumVoice>;
export type BassEvent = { kind: 'rest' } | { kind: 'hold' } | { kind: 'note'; pitch: number };
export type ChordEvent =
  | { kind: 'rest' }
  | { kind: 'hold' }
  | { kind: 'strike'; instrument: ChordInstrument; root: number; quality: ChordQuality };
export type MelodyEvent =
  | { kind: 'rest' }
  | { kind: 'hold' }
  | { kind: 'note'; instrument: ChordInstrument; pitch: number };

export interface FrameEvents {
  drums: DrumEvent;
  bass: BassEvent;
  harmony: ChordEvent;
  melody: MelodyEvent;
}

/** One frame: four token ids, codebook order. */
export type FrameTokens = readonly [number, number, number, number];

function rangeError(what: string, value: unknown, expected: string): RangeError {
  return new RangeError(`${what} must be ${expected}, got: ${String(value)}`);
}

function checkInt(what: string, value: number, lo: number, hi: number): void {
  if (!Number.isInteger(value) || value < lo || value > hi) throw rangeError(what, value, `an integer in [${lo}, ${hi}]`);
}

export function encodeDrums(hits: DrumEvent): number {
  let token = 0;
  for (const voice of hits) {
    const bit = DRUM_VOICES.indexOf(voice);
    if (bit < 0) throw rangeError('drum voice', voice, `one of ${DRUM_VOICES.join(', ')}`);
    token |= 1 << bit;
  }
  return token;
}

export function decodeDrums(token: number): Set<DrumVoice> {
  const hits = new Set<DrumVoice>();
  if (!isValidToken(Codebook.Drums, token)) return hits;
  DRUM_VOICES.forEach((voice, bit) => {
    if (token & (1 << bit)) hits.add(voice);
  });
  return hits;
}

export function encodeBass(event: BassEvent): number {
  if (event.kind === 'rest') return REST;
  if (event.kind === 'hold') return HOLD;
  checkInt('bass pitch', event.pitch, BASS_LOW, BASS_LOW + BASS_PITCHES - 1);
  return FIRST_NOTE + event.pitch - BASS_LOW;
}

export function decodeBass(token: number): BassEvent {
  if (token === HOLD) return { kind: 'hold' };
  if (token < FIRST_NOTE || !isValidToken(Codebook.Bass, token)) return { kind: 'rest' };
  return { kind: 'note', pitch: BASS_LOW + token - FIRST_NOTE };
}

function instrumentIndex(instrument: ChordInstrument): number {
  const i = CHORD_INSTRUMENTS.indexOf(instrument);
  if (i < 0) throw rangeError('chord instrument', instrument, `one of ${CHORD_INSTRUMENTS.join(', ')}`);
  return i;
}

export function encodeHarmony(event: ChordEvent): number {
  if (event.kind === 'rest') return REST;
  if (event.kind === 'hold') return HOLD;
  checkInt('chord root', event.root, 0, 11);
  const q = CHORD_QUALITIES.indexOf(event.quality);
  if (q < 0) throw rangeError('chord quality', event.quality, `one of ${CHORD_QUALITIES.join(', ')}`);
  return FIRST_NOTE + instrumentIndex(event.instrument) * STRIKES_PER_INSTRUMENT + event.root * CHORD_QUALITIES.length + q;
}

export function decodeHarmony(token: number): ChordEvent {
  if (token === HOLD) return { kind: 'hold' };
  if (token < FIRST_NOTE || !isValidToken(Codebook.Harmony, token)) return { kind: 'rest' };
  const id = token - FIRST_NOTE;
  const instrument = CHORD_INSTRUMENTS[Math.floor(id / STRIKES_PER_INSTRUMENT)];
  const within = id % STRIKES_PER_INSTRUMENT;
  return {
    kind: 'strike',
    instrument,
    root: Math.floor(within / CHORD_QUALITIES.length),
    quality: CHORD_QUALITIES[within % CHORD_QUALITIES.length],
  };
}

export function encodeMelody(event: MelodyEvent): number {
  if (event.kind === 'rest') return REST;
  if (event.kind === 'hold') return HOLD;
  checkInt('melody pitch', event.pitch, MELODY_LOW, MELODY_LOW + MELODY_PITCHES - 1);
  return FIRST_NOTE + instrumentIndex(event.instrument) * MELODY_PITCHES + event.pitch - MELODY_LOW;
}

export function decodeMelody(token: number): MelodyEvent {
  if (token === HOLD) return { kind: 'hold' };
  if (token < FIRST_NOTE || !isValidToken(Codebook.Melody, token)) return { kind: 'rest' };
  const id = token - FIRST_NOTE;
  return {
    kind: 'note',
    instrument: CHORD_INSTRUMENTS[Math.floor(id / MELODY_PITCHES)],
    pitch: MELODY_LOW + (id % MELODY_PITCHES),
  };
}

export function encodeFrame(events: FrameEvents): FrameTokens {
  return [encodeDrums(events.drums), encodeBass(events.bass), encodeHarmony(events.harmony), encodeMelody(events.melody)];
}

export function decodeFrame(tokens: FrameTokens): FrameEvents {
  return {
    drums: decodeDrums(tokens[0]),
    bass: decodeBass(tokens[1]),
    harmony: decodeHarmony(tokens[2]),
    melody: decodeMelody(tokens[3]),
  };
}

/** True when `token` is an id the codebook defines (pad and out-of-range ids are not). */
export function isValidToken(codebook: number, token: number): boolean {
  return Number.isInteger(token) && token >= 0 && token < CODEBOOK_SIZES[codebook];
}

/** Pitches (MIDI) sounded by a chord strike, root position from `root` in octave `octave`. */
export function chordPitches(root: number, quality: ChordQuality, baseMidi = 48): number[] {
  return CHORD_INTERVALS[quality].map((i) => baseMidi + root + i);
}

/** Which instrument, if any, owns the sound a shared-stream token starts. */
function streamOwner(codebook: Codebook, token: number): ChordInstrument | null {
  if (codebook === Codebook.Harmony) {
    const e = decodeHarmony(token);
    return e.kind === 'strike' ? e.instrument : null;
  }
  const e = decodeMelody(token);
  return e.kind === 'note' ? e.instrument : null;
}

/**
 * Per-frame "is sounding" flags for each instrument, read from tokens alone.
 * Drums sound on frames with a hit; bass, harmony and melody sound from a
 * note-on through its holds. Tokens are codebook-major: tokens[k][t].
 * Returns one Uint8Array per instrument, in INSTRUMENTS order.
 */
export function soundingInstruments(tokens: readonly ArrayLike<number>[]): Uint8Array[] {
  const frames = tokens[0].length;
  const out = INSTRUMENTS.map(() => new Uint8Array(frames));
  const [drums, bass, piano, guitar] = out;
  let bassOn = false;
  const owner: (ChordInstrument | null)[] = [null, null]; // harmony, melody
  for (let t = 0; t < frames; t++) {
    if (decodeDrums(tokens[0][t]).size > 0) drums[t] = 1;
    const b = tokens[1][t];
    bassOn = b === HOLD ? bassOn : decodeBass(b).kind === 'note';
    if (bassOn) bass[t] = 1;
    for (const [slot, cb] of [
      [0, Codebook.Harmony],
      [1, Codebook.Melody],
    ] as const) {
      const token = tokens[cb][t];
      if (token !== HOLD) owner[slot] = streamOwner(cb, token);
      if (owner[slot] === 'piano') piano[t] = 1;
      if (owner[slot] === 'guitar') guitar[t] = 1;
    }
  }
  return out;
}

/**
 * The same tokens with one instrument's events removed (stem removal):
 * its note-ons become rests and so do the holds that continued them.
 * Tokens are codebook-major: tokens[k][t]; the input is not modified.
 */
export function removeInstrument(tokens: readonly ArrayLike<number>[], instrument: Instrument): Uint16Array[] {
  const out = tokens.map((row) => Uint16Array.from(row as ArrayLike<number>));
  const frames = out[0].length;
  if (instrument === 'drums') {
    out[Codebook.Drums].fill(0);
  } else if (instrument === 'bass') {
    out[Codebook.Bass].fill(REST);
  } else {
    for (const cb of [Codebook.Harmony, Codebook.Melody]) {
      let removing = false;
      const row = out[cb];
      for (let t = 0; t < frames; t++) {
        if (row[t] !== HOLD) removing = streamOwner(cb, row[t]) === instrument;
        if (removing) row[t] = REST;
      }
    }
  }
  return out;
}

export function isInstrument(name: string): name is Instrument {
  return (INSTRUMENTS as readonly string[]).includes(name);
}
