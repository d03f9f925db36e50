/** A composed piece: tokens the model learns, plus everything known about how they were made. */
import type { Instrument } from '../layout.js';
import { INSTRUMENTS, NUM_CODEBOOKS, removeInstrument } from '../layout.js';
import type { Chord, Key } from '../theory.js';
import type { Energy, StyleName } from '../styles.js';

export interface Section {
  startBar: number;
  bars: number;
  /** Who plays in this section. */
  playing: Record<Instrument, boolean>;
}

export interface Piece {
  seed: number;
  style: StyleName;
  key: Key;
  energy: Energy;
  bars: number;
  frames: number;
  /** Conditioning words: style, mood, energy. */
  tags: string[];
  sections: Section[];
  /** The chord sounding at each frame. */
  chords: Chord[];
  /** Codebook-major tokens: tokens[k][t]. */
  tokens: Uint16Array[];
  /** Per-frame arrangement labels, one row per instrument in INSTRUMENTS order: 1 = part of the band here. */
  labels: Uint8Array[];
}

/** The same piece with one instrument's events and labels removed (stem removal, for probe data). */
export function withoutInstrument(piece: Piece, instrument: Instrument): Piece {
  const row = INSTRUMENTS.indexOf(instrument);
  if (row < 0) throw new RangeError(`instrument must be one of ${INSTRUMENTS.join(', ')}, got: ${instrument}`);
  const tokens = removeInstrument(piece.tokens, instrument);
  const labels = piece.labels.map((l, i) => (i === row ? new Uint8Array(l.length) : Uint8Array.from(l)));
  const sections = piece.sections.map((s) => ({ ...s, playing: { ...s.playing, [instrument]: false } }));
  return { ...piece, tokens, labels, sections };
}

/** Frames [start, end) of the piece, as a piece of its own. */
export function slicePiece(piece: Piece, start: number, end: number): Piece {
  return {
    ...piece,
    frames: end - start,
    chords: piece.chords.slice(start, end),
    tokens: piece.tokens.map((r) => r.slice(start, end)),
    labels: piece.labels.map((r) => r.slice(start, end)),
  };
}

export function emptyTokens(frames: number): Uint16Array[] {
  return Array.from({ length: NUM_CODEBOOKS }, () => new Uint16Array(frames));
}
