/** What every part writer of the composer reads: the piece's plan so far. */
import type { Rng } from '../../../util/rng.js';
import type { Chord, Key } from '../theory.js';
import type { Energy, Style } from '../styles.js';
import type { Section } from './piece.js';

export interface CompositionContext {
  rng: Rng;
  style: Style;
  key: Key;
  energy: Energy;
  frames: number;
  sections: Section[];
  /** Chord at each frame. */
  chords: Chord[];
}

/** A pattern index for this energy, with a little variety: sparse styles at low energy, dense at high. */
export function patternIndex(count: number, energy: Energy, ctx: CompositionContext): number {
  const centre = (energy / 2) * (count - 1);
  const jitter = ctx.rng.pick([-1, 0, 0, 1]);
  return Math.max(0, Math.min(count - 1, Math.round(centre + jitter)));
}

export function sameChord(a: Chord, b: Chord): boolean {
  return a.root === b.root && a.quality === b.quality;
}
