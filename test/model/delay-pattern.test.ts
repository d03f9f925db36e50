/** The delay pattern (model/musicgen/delay-pattern.ts): one layout for the generator, probe activations and the NLL. */
import { describe, expect, it } from 'vitest';
import { delayedInput, knownPositions, outputFrame, outputPosition, positionsFor, undelay, writeDelayed } from '../../src/model/musicgen/delay-pattern.js';

const B = 90; // BOS
const P = 99; // pad
const IDS = { bosId: B, padId: P };

/** K = 4 codebooks of 3 frames, ids that say where they come from: 10 * (k + 1) + f. */
const FRAMES = [
  [10, 11, 12],
  [20, 21, 22],
  [30, 31, 32],
  [40, 41, 42],
];

function grid(frames: number[][], positions: number, ids = IDS): number[][] {
  const out = new BigInt64Array(frames.length * positions);
  writeDelayed(out, 0, frames, 0, positions, ids);
  return frames.map((_, k) => Array.from(out.subarray(k * positions, (k + 1) * positions), Number));
}

describe('delay pattern', () => {
  it('lays 3 frames of K = 4 out with BOS at position 0 and codebook k k positions late, padded before it starts', () => {
    // written out by hand: 3 frames take positionsFor(3, 4) = 6 output positions; the 7 input positions hold them all
    expect(grid(FRAMES, 7)).toEqual([
      [B, 10, 11, 12, P, P, P],
      [B, P, 20, 21, 22, P, P],
      [B, P, P, 30, 31, 32, P],
      [B, P, P, P, 40, 41, 42],
    ]);
    // the probes and the NLL feed BOS and codebook 0's frames: the later codebooks' tails are not read
    expect(knownPositions(3)).toBe(4);
    expect(grid(FRAMES, knownPositions(3))).toEqual([
      [B, 10, 11, 12],
      [B, P, 20, 21],
      [B, P, P, 30],
      [B, P, P, P],
    ]);
  });

  it('keeps BOS and pad apart when a model gives them different ids', () => {
    expect(grid([[1], [2]], 3, { bosId: 7, padId: 8 })).toEqual([
      [7, 1, 8],
      [7, 8, 2],
    ]);
  });

  it('undoes the layout: frames -> delayed -> frames', () => {
    for (const K of [1, 2, 4]) {
      for (const n of [0, 1, 5, 17]) {
        const frames = Array.from({ length: K }, (_, k) => Array.from({ length: n }, (_, f) => (f * 7 + k * 13) % 50));
        const T = n + K; // the last frame of codebook K-1 sits at position n - 1 + 1 + K - 1
        const out = new BigInt64Array(K * T);
        writeDelayed(out, 0, frames, 0, T, IDS);
        expect(undelay(out, K, T).map((r) => Array.from(r))).toEqual(frames);
        expect(undelay(Array.from(out, Number), K, T).map((r) => Array.from(r))).toEqual(frames);
      }
    }
    expect(() => undelay(new BigInt64Array(7), 4, 2)).toThrow(/4 codebooks x 2 positions has 8 ids, got: 7/);
  });

  it('writes a window of positions into the rows of one batch item, as a generator step does', () => {
    const K = 4;
    const whole = new BigInt64Array(2 * K * 7);
    writeDelayed(whole, K, FRAMES, 0, 7, IDS);
    // one position at a time, into the second item's rows of a [2K, 1] step array
    for (let q = 0; q < 7; q++) {
      const step = new BigInt64Array(2 * K).fill(-1n);
      writeDelayed(step, K, FRAMES, q, 1, IDS);
      expect(Array.from(step.subarray(0, K))).toEqual([-1n, -1n, -1n, -1n]);
      for (let k = 0; k < K; k++) {
        expect(step[K + k]).toBe(whole[(K + k) * 7 + q]);
        expect(step[K + k]).toBe(BigInt(delayedInput(q, k, FRAMES[k], IDS)));
      }
    }
  });

  it('scores frame f of codebook k at position f + k, and frame f is out of every codebook at f + K - 1', () => {
    for (let k = 0; k < 4; k++) {
      for (let f = 0; f < 3; f++) {
        const q = outputPosition(f, k);
        expect(outputFrame(q, k)).toBe(f);
        // teacher forcing: the position that scores frame f reads frame f - 1 (BOS or pad before frame 0)
        expect(delayedInput(q, k, FRAMES[k], IDS)).toBe(f > 0 ? FRAMES[k][f - 1] : k === 0 ? B : P);
      }
    }
    expect(outputPosition(0, 3)).toBe(positionsFor(1, 4) - 1);
    expect(positionsFor(64, 4)).toBe(67);
  });
});
