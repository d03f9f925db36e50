/**
 * What probe training learns from, whatever made it (the tinyband composer,
 * audio stems, a model's own music under two prompts, recordings): labelled
 * segments of a model's tokens, and the two ways every source cuts them.
 */
import type { Rng } from '../util/rng.js';

export interface ProbeExample {
  /** Codebook-major tokens of the segment. */
  tokens: Uint16Array[];
  label: 0 | 1;
  /** The piece (song, file, generation) it is cut from: the train / validation split is by piece. */
  piece: number;
  /** The conditioning text the activations are read under ('' for none); the same for both members of a pair. */
  text: string;
}

/** Frames [start, end) of every codebook. */
export function cutFrames(tokens: readonly Uint16Array[], start: number, end: number): Uint16Array[] {
  return tokens.map((row) => row.slice(start, end));
}

/** A segment of `frames` frames: its length drawn from [lo, hi] (each capped at `frames`), then its end anywhere after it. */
export function randomSegment(rng: Rng, frames: number, lo: number, hi: number): { start: number; end: number } {
  const length = rng.int(Math.min(lo, frames), Math.min(hi, frames));
  const end = rng.int(length, frames);
  return { start: end - length, end };
}
