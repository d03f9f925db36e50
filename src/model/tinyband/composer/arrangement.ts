/**
 * Arrangement: a piece is cut into sections of 4 or 8 bars (2 as an option)
 * and each instrument enters or leaves at section boundaries. The entry probability
 * sets the unsteered baseline that SMITIN is compared against ("how often
 * does an absent instrument come in anyway"), so it is tuned to keep that
 * baseline moderate: see entryBaseline() in stats.ts.
 */
import type { Instrument } from '../layout.js';
import { INSTRUMENTS } from '../layout.js';
import type { Rng } from '../../../util/rng.js';
import type { Section } from './piece.js';

export interface ArrangementOptions {
  /** Chance an instrument plays in the first section. */
  startProbability: number;
  /** Chance an absent instrument enters at a boundary. */
  enterProbability: number;
  /** Chance a present instrument leaves at a boundary. */
  leaveProbability: number;
  /** Chance a section is 8 bars rather than 4. */
  longSectionProbability: number;
  /**
   * Chance a section is 2 bars (drawn before the 8-bar chance): instruments
   * then come and go every 2 bars as well. Off in the shipped data; a
   * training variant for issue 11 (can a knob take an instrument out
   * mid-section when the model has heard that happen).
   */
  shortSectionProbability: number;
}

export const DEFAULT_ARRANGEMENT: ArrangementOptions = {
  startProbability: 0.55,
  enterProbability: 0.3,
  leaveProbability: 0.25,
  longSectionProbability: 0.5,
  shortSectionProbability: 0,
};

function sectionLengths(bars: number, rng: Rng, opts: ArrangementOptions): number[] {
  const lengths: number[] = [];
  let left = bars;
  while (left > 0) {
    // The first section never takes the whole piece: every piece needs a boundary.
    const canBeLong = left >= 8 && (lengths.length > 0 || left > 8);
    // drawn only when asked, so the shipped data's random stream is unchanged
    const short = opts.shortSectionProbability > 0 && rng.chance(opts.shortSectionProbability);
    const len = short ? 2 : Math.min(left, canBeLong && rng.chance(opts.longSectionProbability) ? 8 : 4);
    lengths.push(len);
    left -= len;
  }
  return lengths;
}

function countPlaying(playing: Record<Instrument, boolean>): number {
  return INSTRUMENTS.filter((i) => playing[i]).length;
}

export function arrange(bars: number, rng: Rng, opts: ArrangementOptions = DEFAULT_ARRANGEMENT): Section[] {
  const lengths = sectionLengths(bars, rng, opts);
  const sections: Section[] = [];
  let startBar = 0;
  let prev: Record<Instrument, boolean> | null = null;
  for (const len of lengths) {
    const playing = {} as Record<Instrument, boolean>;
    for (const inst of INSTRUMENTS) {
      if (prev === null) playing[inst] = rng.chance(opts.startProbability);
      else playing[inst] = prev[inst] ? !rng.chance(opts.leaveProbability) : rng.chance(opts.enterProbability);
    }
    // A band of nobody is no music: keep (or bring in) one player.
    if (countPlaying(playing) === 0) playing[prev ? rng.pick(INSTRUMENTS.filter((i) => prev![i])) : rng.pick(INSTRUMENTS)] = true;
    sections.push({ startBar, bars: len, playing });
    startBar += len;
    prev = playing;
  }
  ensureSomeChange(sections, rng);
  return sections;
}

/** Every piece has at least one entry or exit, so each one teaches the model what a change sounds like. */
function ensureSomeChange(sections: Section[], rng: Rng): void {
  if (sections.length < 2) return;
  const changed = sections.some((s, i) => i > 0 && INSTRUMENTS.some((inst) => s.playing[inst] !== sections[i - 1].playing[inst]));
  if (changed) return;
  const at = rng.int(1, sections.length - 1);
  const before = sections[at - 1].playing;
  const absent = INSTRUMENTS.filter((i) => !before[i]);
  // Bring someone in if anyone is out; otherwise let one player rest (others keep playing).
  const inst = absent.length > 0 ? rng.pick(absent) : rng.pick(INSTRUMENTS);
  for (let s = at; s < sections.length; s++) sections[s].playing[inst] = !before[inst];
}
