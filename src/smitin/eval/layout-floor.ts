/**
 * The crosstalk the token layout itself implies between the two instruments
 * that share tinyband's harmony and melody streams: in the composer's music
 * (what the model learned), how much of the other instrument's presence a
 * section loses when piano or guitar joins it, against the same kind of
 * section with the other instrument alone. With both in the band one comps
 * and the other sings (composer/roles.ts); alone, one plays both streams now
 * and then, so joining costs the other a little share and almost no
 * presence. The crosstalk goal is judged against this floor, not zero.
 */
import { FRAMES_PER_BAR } from '../../constants.js';
import { compose } from '../../model/tinyband/composer/index.js';
import { CHORD_INSTRUMENTS, INSTRUMENTS, soundingInstruments } from '../../model/tinyband/layout.js';
import { INSTRUMENT_SUCCESS_SHARE } from '../tinyband-features.js';
import type { PresenceChange } from './presence.js';

export interface LayoutFloor {
  pieces: number;
  sections: number;
  /** "piano joins guitar": the change of guitar's share and present rate in a section when piano plays too. */
  joins: Record<string, PresenceChange>;
}

/** Composer pieces (seeds 1..pieces, 32 bars), every section's presence by which of piano and guitar the arrangement has in it. */
export function layoutFloor(pieces = 1000): LayoutFloor {
  // per arrangement ("piano", "guitar", "both"): sums of each instrument's share and present, and the count
  const acc = new Map<string, { n: number; share: number[]; present: number[] }>();
  let sections = 0;
  for (let seed = 1; seed <= pieces; seed++) {
    const piece = compose({ seed, bars: 32 });
    const sounding = soundingInstruments(piece.tokens);
    for (const s of piece.sections) {
      const which = CHORD_INSTRUMENTS.filter((i) => s.playing[i]);
      const key = which.length === 2 ? 'both' : which[0];
      sections++;
      if (!key) continue;
      const a = acc.get(key) ?? { n: 0, share: INSTRUMENTS.map(() => 0), present: INSTRUMENTS.map(() => 0) };
      acc.set(key, a);
      a.n++;
      const from = s.startBar * FRAMES_PER_BAR;
      const to = (s.startBar + s.bars) * FRAMES_PER_BAR;
      sounding.forEach((row, i) => {
        let on = 0;
        for (let t = from; t < to; t++) on += row[t];
        const share = on / (to - from);
        a.share[i] += share;
        a.present[i] += share >= INSTRUMENT_SUCCESS_SHARE ? 1 : 0;
      });
    }
  }
  const mean = (key: string, inst: string, field: 'share' | 'present') => {
    const a = acc.get(key);
    return a ? a[field][INSTRUMENTS.indexOf(inst as (typeof INSTRUMENTS)[number])] / a.n : NaN;
  };
  const joins: Record<string, PresenceChange> = {};
  for (const joiner of CHORD_INSTRUMENTS) {
    for (const other of CHORD_INSTRUMENTS.filter((i) => i !== joiner)) {
      joins[`${joiner} joins ${other}`] = {
        share: mean('both', other, 'share') - mean(other, other, 'share'),
        present: mean('both', other, 'present') - mean(other, other, 'present'),
      };
    }
  }
  return { pieces, sections, joins };
}
