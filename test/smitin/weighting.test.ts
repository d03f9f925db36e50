import { describe, expect, it } from 'vitest';
import { formatWeighting, headWeights, parseWeighting, topHeads } from '../../src/smitin/weighting.js';

// 3 layers x 2 heads
const acc = [0.99, 0.6, 0.7, 0.9, 0.8, 0.5];

describe('headWeights', () => {
  it('soft: ((acc - min) / (max - min))^3 over the heads from fromLayer on, 0 below it', () => {
    const w = headWeights(acc, 2, { kind: 'soft' }, 1);
    expect(w[0]).toBe(0);
    expect(w[1]).toBe(0);
    // eligible heads: 0.7, 0.9, 0.8, 0.5 -> min 0.5, max 0.9
    expect(w[2]).toBeCloseTo(((0.7 - 0.5) / 0.4) ** 3, 6);
    expect(w[3]).toBeCloseTo(1, 6);
    expect(w[4]).toBeCloseTo(((0.8 - 0.5) / 0.4) ** 3, 6);
    expect(w[5]).toBe(0);
  });

  it('soft with layer 0 spans all heads', () => {
    const w = headWeights(acc, 2, { kind: 'soft' }, 0);
    expect(w[0]).toBeCloseTo(1, 6);
    expect(w[5]).toBe(0);
    expect(w[3]).toBeCloseTo(((0.9 - 0.5) / 0.49) ** 3, 5);
  });

  it('top-K: weight 1 on the K most accurate heads outside the left-out layers', () => {
    expect(Array.from(headWeights(acc, 2, { kind: 'topk', k: 2 }, 1))).toEqual([0, 0, 0, 1, 1, 0]);
    expect(Array.from(headWeights(acc, 2, { kind: 'topk', k: 2 }, 0))).toEqual([1, 0, 0, 1, 0, 0]);
    expect(Array.from(headWeights(acc, 2, { kind: 'topk', k: 100 }, 2))).toEqual([0, 0, 0, 0, 1, 1]);
  });

  it('refuses shapes and settings that cannot work', () => {
    expect(() => headWeights(acc, 4, { kind: 'soft' })).toThrow(/not a whole number of layers of 4 heads/);
    expect(() => headWeights(acc, 2, { kind: 'soft' }, 3)).toThrow(/fromLayer 3 leaves no heads/);
    expect(() => headWeights(acc, 2, { kind: 'topk', k: 0 })).toThrow(/K >= 1/);
  });
});

describe('parseWeighting / topHeads', () => {
  it('reads soft and topk:K, refuses the rest', () => {
    expect(parseWeighting('soft')).toEqual({ kind: 'soft' });
    expect(parseWeighting('topk:16')).toEqual({ kind: 'topk', k: 16 });
    expect(formatWeighting(parseWeighting('topk:8'))).toBe('topk:8');
    for (const bad of ['top', 'topk:', 'topk:0', 'topk:-1', 'hard']) expect(() => parseWeighting(bad)).toThrow(/soft or topk:K/);
  });

  it('ranks heads best first', () => {
    expect(topHeads(acc, 3)).toEqual([0, 3, 4]);
  });
});
