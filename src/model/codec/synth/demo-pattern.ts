/**
 * A dense, musical full-band pattern built with the layout encoders: all four
 * instruments, piano and guitar both on chords and on melody. The benchmark
 * times it, the tests use it as the worst realistic load, and it is the quick
 * way to hear the synthesizer.
 */

import { FRAMES_PER_BAR } from '../../../constants.js';
import {
  type ChordInstrument,
  type ChordQuality,
  type DrumVoice,
  encodeBass,
  encodeDrums,
  encodeHarmony,
  encodeMelody,
  HOLD,
  NUM_CODEBOOKS,
  REST,
} from '../../tinyband/layout.js';

/** Am - F - C - G, then Dm7 - G7 - Cmaj7 - E7: roots as pitch classes. */
const PROGRESSION: readonly { root: number; quality: ChordQuality }[] = [
  { root: 9, quality: 'min' },
  { root: 5, quality: 'maj' },
  { root: 0, quality: 'maj' },
  { root: 7, quality: 'maj' },
  { root: 2, quality: 'min7' },
  { root: 7, quality: 'dom7' },
  { root: 0, quality: 'maj7' },
  { root: 4, quality: 'dom7' },
];

/** Bass line per bar as (position, semitones above the root; null = rest). */
const BASS_LINE: readonly [number, number | null][] = [
  [0, 0],
  [3, 0],
  [6, 7],
  [8, 0],
  [10, 12],
  [11, null],
  [12, 7],
  [14, 5],
];

/** Melody rhythm per bar: (position, scale degree offset, length in frames). */
const MELODY_RHYTHM: readonly [number, number, number][] = [
  [0, 4, 3],
  [4, 2, 2],
  [6, 0, 2],
  [8, 1, 4],
  [12, 4, 2],
  [14, 5, 2],
];

/** A minor / C major scale, MIDI, inside the melody range. */
const SCALE = [57, 59, 60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79];

export function densePattern(bars: number): Uint16Array[] {
  const frames = bars * FRAMES_PER_BAR;
  const tokens = Array.from({ length: NUM_CODEBOOKS }, () => new Uint16Array(frames));
  for (let bar = 0; bar < bars; bar++) {
    const chord = PROGRESSION[bar % PROGRESSION.length];
    const base = bar * FRAMES_PER_BAR;
    // Piano comps and the guitar sings for four bars, then they swap.
    const comp: ChordInstrument = Math.floor(bar / 4) % 2 === 0 ? 'piano' : 'guitar';
    const lead: ChordInstrument = comp === 'piano' ? 'guitar' : 'piano';
    const ride = Math.floor(bar / 8) % 2 === 1;
    for (let pos = 0; pos < FRAMES_PER_BAR; pos++) {
      const t = base + pos;
      const hits = new Set<DrumVoice>();
      if (pos === 0 || pos === 6 || pos === 8 || (pos === 11 && bar % 2 === 1)) hits.add('kick');
      if (pos === 4 || pos === 12) hits.add('snare');
      if (pos === 12 && bar % 4 === 3) hits.add('clap');
      if (ride) {
        if (pos % 4 === 0 || pos % 4 === 3) hits.add('ride');
      } else if (pos === 14) hits.add('openHat');
      else if (pos % 2 === 0 || bar % 2 === 1) hits.add('closedHat');
      if (pos === 0 && bar % 4 === 0) hits.add('crash');
      if (pos === 15 && bar % 4 === 3) hits.add('snare');
      tokens[0][t] = encodeDrums(hits);

      tokens[1][t] = HOLD;
      tokens[2][t] = HOLD;
      tokens[3][t] = HOLD;
    }
    for (const [pos, step] of BASS_LINE) {
      tokens[1][base + pos] = step === null ? REST : encodeBass({ kind: 'note', pitch: 33 + ((chord.root + 3) % 12) + step });
    }
    const strikes = comp === 'piano' ? [0, 6, 8, 14] : [0, 3, 6, 8, 10, 11, 14];
    for (const pos of strikes) {
      tokens[2][base + pos] = encodeHarmony({ kind: 'strike', instrument: comp, root: chord.root, quality: chord.quality });
    }
    if (comp === 'guitar') tokens[2][base + 13] = REST;
    for (const [pos, degree, length] of MELODY_RHYTHM) {
      const pitch = SCALE[(degree + 2 * (bar % 4) + 3) % SCALE.length];
      tokens[3][base + pos] = encodeMelody({ kind: 'note', instrument: lead, pitch });
      if (pos + length < FRAMES_PER_BAR && length < 4) tokens[3][base + pos + length] = REST;
    }
  }
  return tokens;
}
