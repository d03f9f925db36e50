/** Just enough music theory for the composer and its checks: keys, scales, diatonic chords. */
import type { ChordQuality } from './layout.js';
import { CHORD_INTERVALS } from './layout.js';

export type Mode = 'major' | 'minor';
export interface Key {
  /** Pitch class of the tonic, 0 = C. */
  tonic: number;
  mode: Mode;
}

export const NOTE_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'] as const;

/** Semitone offsets of the scale degrees (natural minor: the composer stays diatonic). */
export const SCALE_STEPS: Record<Mode, readonly number[]> = {
  major: [0, 2, 4, 5, 7, 9, 11],
  minor: [0, 2, 3, 5, 7, 8, 10],
};

/** Triad and seventh qualities on each scale degree. */
const DIATONIC: Record<Mode, readonly { triad: ChordQuality; seventh: ChordQuality }[]> = {
  major: [
    { triad: 'maj', seventh: 'maj7' },
    { triad: 'min', seventh: 'min7' },
    { triad: 'min', seventh: 'min7' },
    { triad: 'maj', seventh: 'maj7' },
    { triad: 'maj', seventh: 'dom7' },
    { triad: 'min', seventh: 'min7' },
    { triad: 'dim', seventh: 'dim' },
  ],
  minor: [
    { triad: 'min', seventh: 'min7' },
    { triad: 'dim', seventh: 'dim' },
    { triad: 'maj', seventh: 'maj7' },
    { triad: 'min', seventh: 'min7' },
    { triad: 'min', seventh: 'min7' },
    { triad: 'maj', seventh: 'maj7' },
    { triad: 'maj', seventh: 'dom7' },
  ],
};

export interface Chord {
  /** Pitch class of the root. */
  root: number;
  quality: ChordQuality;
}

export function keyName(key: Key): string {
  return `${NOTE_NAMES[key.tonic]} ${key.mode}`;
}

export function pitchClass(midi: number): number {
  return ((midi % 12) + 12) % 12;
}

export function scalePitchClasses(key: Key): number[] {
  return SCALE_STEPS[key.mode].map((s) => (key.tonic + s) % 12);
}

export function inKey(midi: number, key: Key): boolean {
  return scalePitchClasses(key).includes(pitchClass(midi));
}

/** The chord on a scale degree (0-based), as a triad or a seventh chord. */
export function diatonicChord(key: Key, degree: number, seventh: boolean): Chord {
  const d = ((degree % 7) + 7) % 7;
  const q = DIATONIC[key.mode][d];
  return { root: (key.tonic + SCALE_STEPS[key.mode][d]) % 12, quality: seventh ? q.seventh : q.triad };
}

export function chordPitchClasses(chord: Chord): number[] {
  return CHORD_INTERVALS[chord.quality].map((i) => (chord.root + i) % 12);
}

export function isChordTone(midi: number, chord: Chord): boolean {
  return chordPitchClasses(chord).includes(pitchClass(midi));
}

/** All MIDI pitches in [lo, hi] whose pitch class is in `classes`, ascending. */
export function pitchesIn(classes: readonly number[], lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let p = lo; p <= hi; p++) if (classes.includes(pitchClass(p))) out.push(p);
  return out;
}
