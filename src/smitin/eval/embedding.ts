/**
 * Token-statistics embedding of a tinyband passage (the Frechet distance's
 * analogue of FAD's VGGish embedding), 46 values, all read from the tokens:
 *
 *   0-3    frame share of each instrument (drums, bass, piano, guitar)
 *   4-7    onsets per frame per codebook (drum hits, bass note-ons,
 *          chord strikes, melody note-ons)
 *   8-14   drum hits per frame of each voice (kick, snare, clap, closed
 *          hat, open hat, ride, crash)
 *   15-26  bass note-on pitch classes relative to the best-fitting key's
 *          tonic, as shares (all zero without bass notes)
 *   27-38  the same for the melody
 *   39-45  chord strikes of each quality (maj, min, dom7, maj7, min7, dim,
 *          sus4), as shares (all zero without chords)
 *
 * Also here: bass on chord tones read from the passage's own chords (a
 * generated passage has no composer chords to check against).
 */
import { bestKey } from '../../model/tinyband/quality.js';
import { CHORD_QUALITIES, decodeBass, decodeDrums, decodeHarmony, decodeMelody, DRUM_VOICES, HOLD, INSTRUMENTS, soundingInstruments } from '../../model/tinyband/layout.js';
import { isChordTone, pitchClass, type Chord } from '../../model/tinyband/theory.js';

export const EMBEDDING_NAMES: readonly string[] = [
  ...INSTRUMENTS.map((i) => `share.${i}`),
  ...['drums', 'bass', 'harmony', 'melody'].map((c) => `onsets.${c}`),
  ...DRUM_VOICES.map((v) => `drum.${v}`),
  ...Array.from({ length: 12 }, (_, i) => `bass.pc${i}`),
  ...Array.from({ length: 12 }, (_, i) => `melody.pc${i}`),
  ...CHORD_QUALITIES.map((q) => `chord.${q}`),
];
export const EMBEDDING_SIZE = EMBEDDING_NAMES.length;

export function tokenEmbedding(tokens: readonly ArrayLike<number>[]): Float64Array {
  const e = new Float64Array(EMBEDDING_SIZE);
  const frames = tokens[0].length;
  if (frames === 0) return e;
  const sounding = soundingInstruments(tokens);
  sounding.forEach((row, i) => (e[i] = row.reduce((a, b) => a + b, 0) / frames));
  const tonic = bestKey(tokens).key.tonic;
  const bassPc = new Float64Array(12);
  const melodyPc = new Float64Array(12);
  const qualities = new Float64Array(CHORD_QUALITIES.length);
  for (let t = 0; t < frames; t++) {
    const hits = decodeDrums(tokens[0][t]);
    e[4] += hits.size / frames;
    for (const v of hits) e[8 + DRUM_VOICES.indexOf(v)] += 1 / frames;
    const b = decodeBass(tokens[1][t]);
    if (b.kind === 'note') {
      e[5] += 1 / frames;
      bassPc[(pitchClass(b.pitch) - tonic + 12) % 12]++;
    }
    const h = decodeHarmony(tokens[2][t]);
    if (h.kind === 'strike') {
      e[6] += 1 / frames;
      qualities[CHORD_QUALITIES.indexOf(h.quality)]++;
    }
    const m = decodeMelody(tokens[3][t]);
    if (m.kind === 'note') {
      e[7] += 1 / frames;
      melodyPc[(pitchClass(m.pitch) - tonic + 12) % 12]++;
    }
  }
  const put = (at: number, hist: Float64Array) => {
    const total = hist.reduce((a, b) => a + b, 0);
    if (total > 0) hist.forEach((x, i) => (e[at + i] = x / total));
  };
  put(15, bassPc);
  put(27, melodyPc);
  put(39, qualities);
  return e;
}

/** Bass note-ons that are tones of the chord the passage itself sounds at that frame (NaN without any such note-on). */
export function bassOnOwnChords(tokens: readonly ArrayLike<number>[]): number {
  let chord: Chord | null = null;
  let hits = 0;
  let total = 0;
  for (let t = 0; t < tokens[0].length; t++) {
    const token = tokens[2][t];
    if (token !== HOLD) {
      const h = decodeHarmony(token);
      chord = h.kind === 'strike' ? { root: h.root, quality: h.quality } : null;
    }
    const b = decodeBass(tokens[1][t]);
    if (b.kind !== 'note' || !chord) continue;
    total++;
    if (isChordTone(b.pitch, chord)) hits++;
  }
  return total ? hits / total : NaN;
}
