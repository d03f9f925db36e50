import { Rng } from '../../util/rng.js';

/** Picks one id from a row of scores (masked entries are -Infinity). */
export interface Sampler {
  readonly name: string;
  sample(row: Float32Array): number;
}

/** The highest score; ties go to the lower id. */
export class Greedy implements Sampler {
  readonly name = 'greedy';

  sample(row: Float32Array): number {
    let best = 0;
    for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
    return best;
  }
}

/**
 * Draws from softmax(row) with a seeded generator: one uniform number per
 * draw, walked along the unnormalised weights, so the same seed and scores
 * give the same id everywhere.
 */
export class Multinomial implements Sampler {
  readonly name = 'multinomial';

  constructor(private readonly rng: Rng) {}

  sample(row: Float32Array): number {
    let max = -Infinity;
    let last = -1;
    for (let i = 0; i < row.length; i++) {
      if (row[i] > max) max = row[i];
      if (row[i] !== -Infinity) last = i;
    }
    if (last < 0 || !Number.isFinite(max)) {
      throw new RangeError(`cannot sample: no finite score in a row of ${row.length} (every id masked, or NaN/Infinity logits)`);
    }
    let total = 0;
    for (let i = 0; i < row.length; i++) total += Math.exp(row[i] - max);
    let r = this.rng.next() * total;
    for (let i = 0; i < row.length; i++) {
      r -= Math.exp(row[i] - max);
      if (r < 0) return i;
    }
    return last; // rounding left r a hair above 0: the last id that had any weight
  }
}

export function makeSampler(doSample: boolean, seed: number): Sampler {
  return doSample ? new Multinomial(new Rng(seed)) : new Greedy();
}
