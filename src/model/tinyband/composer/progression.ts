/** Chords: a progression per section (verse and chorus alternate), one or two chords per bar. */
import { FRAMES_PER_BAR } from '../../../constants.js';
import type { Chord, Key } from '../theory.js';
import { diatonicChord } from '../theory.js';
import type { Style } from '../styles.js';
import { PROGRESSIONS } from '../styles.js';
import type { Rng } from '../../../util/rng.js';
import type { Section } from './piece.js';

export function writeChords(key: Key, style: Style, sections: Section[], frames: number, rng: Rng): Chord[] {
  const pool = PROGRESSIONS[key.mode];
  // Two progressions per piece, alternating by section, so sections sound like verse and chorus.
  const progressions = [rng.pick(pool), rng.pick(pool)];
  const chords: Chord[] = new Array(frames);
  sections.forEach((section, s) => {
    const degrees = progressions[s % 2];
    const framesPerChord = rng.chance(style.twoChordsPerBar) ? FRAMES_PER_BAR / 2 : FRAMES_PER_BAR;
    const sevenths = degrees.map(() => rng.chance(style.sevenths));
    const first = section.startBar * FRAMES_PER_BAR;
    const last = Math.min(frames, (section.startBar + section.bars) * FRAMES_PER_BAR);
    for (let t = first; t < last; t++) {
      const i = Math.floor((t - first) / framesPerChord) % degrees.length;
      chords[t] = diatonicChord(key, degrees[i], sevenths[i]);
    }
  });
  return chords;
}
