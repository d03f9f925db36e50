/**
 * The evaluation's material, all from the tinyband composer with fixed
 * seeds: continuation prompts that lack a feature (steering must add it),
 * prompts that have an instrument throughout (steering must remove it), and
 * windows of real pieces that have the feature (the Frechet reference).
 *
 * Every prompt is the first 2 bars of an 8-bar piece; the composer's own
 * bars 3-6 of that piece are kept as the "real continuation" (the
 * reference row: how often the feature really enters).
 */
import { FRAMES_PER_BAR } from '../../constants.js';
import { compose } from '../../model/tinyband/composer/index.js';
import type { StyleName } from '../../model/tinyband/styles.js';
import { DENSE_THRESHOLD, featureAmount, featurePresent, TINYBAND_FEATURES, type TinybandFeature } from '../tinyband-features.js';

export const PROMPT_BARS = 2;
export const CONTINUATION_BARS = 4;
export const PROMPT_FRAMES = PROMPT_BARS * FRAMES_PER_BAR;
export const CONTINUATION_FRAMES = CONTINUATION_BARS * FRAMES_PER_BAR;
const PIECE_BARS = 8;

export interface EvalItem {
  /** The composer seed of the piece the prompt is cut from. */
  pieceSeed: number;
  /** The sampling seed of every method's continuation of this item (identical across methods). */
  samplingSeed: number;
  style: StyleName;
  /** Codebook-major prompt tokens, PROMPT_FRAMES frames. */
  prompt: Uint16Array[];
  /** The composer's own next CONTINUATION_FRAMES frames of the same piece. */
  real: Uint16Array[];
}

/** A prompt lacks the feature: not present, and little of it (an instrument in at most 5 % of frames, at most a quarter minor chords, at most 0.75 of the dense threshold). */
export function lacksFeature(feature: TinybandFeature, tokens: readonly ArrayLike<number>[]): boolean {
  if (featurePresent(feature, tokens)) return false;
  const a = featureAmount(feature, tokens);
  if (feature === 'minor') return Number.isFinite(a) && a <= 0.25;
  if (feature === 'dense') return a <= 0.75 * DENSE_THRESHOLD;
  return a <= 0.05;
}

/** An instrument sounds throughout: in at least a quarter of the frames of every bar. */
export function hasThroughout(feature: TinybandFeature, tokens: readonly Uint16Array[]): boolean {
  const bars = tokens[0].length / FRAMES_PER_BAR;
  for (let b = 0; b < bars; b++) {
    const bar = tokens.map((r) => r.subarray(b * FRAMES_PER_BAR, (b + 1) * FRAMES_PER_BAR));
    if (!(featureAmount(feature, bar) >= 0.25)) return false;
  }
  return true;
}

function collect(feature: TinybandFeature, n: number, seed: number, salt: number, keep: (prompt: Uint16Array[]) => boolean): EvalItem[] {
  const fi = TINYBAND_FEATURES.indexOf(feature);
  const base = seed * 1_000_000 + salt + fi * 20_000;
  const out: EvalItem[] = [];
  for (let j = 0; out.length < n; j++) {
    if (j > 20_000) throw new Error(`found only ${out.length} of ${n} composer prompts for ${feature}`);
    const piece = compose({ seed: base + j, bars: PIECE_BARS });
    const prompt = piece.tokens.map((r) => r.slice(0, PROMPT_FRAMES));
    if (!keep(prompt)) continue;
    out.push({
      pieceSeed: base + j,
      samplingSeed: 1 + salt + fi * 10_000 + out.length,
      style: piece.style,
      prompt,
      real: piece.tokens.map((r) => r.slice(PROMPT_FRAMES, PROMPT_FRAMES + CONTINUATION_FRAMES)),
    });
  }
  return out;
}

/** n prompts that lack the feature (steering adds it). */
export function additionItems(feature: TinybandFeature, n: number, seed: number): EvalItem[] {
  return collect(feature, n, seed, 0, (p) => lacksFeature(feature, p));
}

/** n prompts with the instrument sounding throughout (steering removes it). */
export function removalItems(feature: TinybandFeature, n: number, seed: number): EvalItem[] {
  return collect(feature, n, seed, 200_000, (p) => hasThroughout(feature, p));
}

/** Continuation-length windows (starting on bars 0, 2 and 4 of 8-bar pieces) of real composer pieces that have the feature. */
export function referenceWindows(feature: TinybandFeature, count: number, seed: number): Uint16Array[][] {
  const fi = TINYBAND_FEATURES.indexOf(feature);
  const base = seed * 1_000_000 + 500_000 + fi * 20_000;
  const out: Uint16Array[][] = [];
  for (let j = 0; out.length < count; j++) {
    if (j > 20_000) throw new Error(`found only ${out.length} of ${count} reference windows with ${feature}`);
    const piece = compose({ seed: base + j, bars: PIECE_BARS });
    for (let start = 0; start + CONTINUATION_FRAMES <= piece.frames && out.length < count; start += 2 * FRAMES_PER_BAR) {
      const w = piece.tokens.map((r) => r.slice(start, start + CONTINUATION_FRAMES));
      if (featurePresent(feature, w)) out.push(w);
    }
  }
  return out;
}
