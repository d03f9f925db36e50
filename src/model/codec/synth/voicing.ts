/**
 * How a chord token becomes notes, and how the bar position shapes dynamics.
 * Chord tones come from layout.ts (chordPitches); here they are only placed
 * in a register, the way a player would voice them.
 */

import { FRAMES_PER_BAR } from '../../../constants.js';
import { chordPitches, type ChordQuality } from '../../tinyband/layout.js';

/** Places each pitch class of `pcs` once in [low, low + 12), ascending. */
function closeVoicing(pcs: readonly number[], low: number): number[] {
  const out = pcs.map((pc) => low + ((((pc - low) % 12) + 12) % 12));
  return [...new Set(out)].sort((a, b) => a - b);
}

function pitchClasses(root: number, quality: ChordQuality): number[] {
  return chordPitches(root, quality, 0).map((p) => ((p % 12) + 12) % 12);
}

/**
 * Piano: close position between F3 and E4, so successive chords move by
 * small steps (good voice leading) and stay clear of the bass below and the
 * melody above.
 */
export function pianoVoicing(root: number, quality: ChordQuality): number[] {
  return closeVoicing(pitchClasses(root, quality), 53);
}

/**
 * Guitar: the root low (E2..D#3, on the bottom strings) and the chord tones in
 * close position a fourth or more above it, like an open-position or barre
 * shape (C: C3 G3 C4 E4; E: E2 B2 E3 G#3).
 */
export function guitarVoicing(root: number, quality: ChordQuality): number[] {
  const bass = 40 + ((((root - 4) % 12) + 12) % 12);
  return [bass, ...closeVoicing(pitchClasses(root, quality), bass + 5)];
}

/**
 * Emphasis by position in a 4/4 bar of 16ths: the downbeat strongest, then
 * beat 3, beats 2 and 4, the off-beat 8ths, and the 16ths in between.
 */
const ACCENTS = [1, 0.72, 0.8, 0.74, 0.9, 0.72, 0.8, 0.74, 0.95, 0.72, 0.8, 0.74, 0.9, 0.72, 0.8, 0.74];

export function accentAt(frameIndex: number): number {
  return ACCENTS[frameIndex % FRAMES_PER_BAR];
}
