/**
 * Piano and guitar share the harmony and melody streams. Per section this
 * decides who strikes the chords and who plays the melody: with both in the
 * band one comps and the other sings; alone, one does both now and then.
 */
import type { ChordInstrument } from '../layout.js';
import type { Rng } from '../../../util/rng.js';
import type { Section } from './piece.js';

export interface Roles {
  harmony: ChordInstrument | null;
  melody: ChordInstrument | null;
}

export function assignRoles(sections: Section[], rng: Rng): Roles[] {
  // One preference per piece, so roles stay put from section to section.
  const comper: ChordInstrument = rng.chance(0.5) ? 'piano' : 'guitar';
  const singer: ChordInstrument = comper === 'piano' ? 'guitar' : 'piano';
  return sections.map((s) => {
    const { piano, guitar } = s.playing;
    if (piano && guitar) return { harmony: comper, melody: singer };
    const only: ChordInstrument | null = piano ? 'piano' : guitar ? 'guitar' : null;
    if (only === null) return { harmony: null, melody: null };
    return { harmony: only, melody: rng.chance(0.5) ? only : null };
  });
}
