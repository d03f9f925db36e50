import { describe, expect, it } from 'vitest';
import { fitGaussian, frechetDistance, jacobiEigen, matMul, sqrtPsd, type Gaussian } from '../../src/smitin/eval/frechet.js';
import { EMBEDDING_SIZE, tokenEmbedding, bassOnOwnChords } from '../../src/smitin/eval/embedding.js';
import { compose } from '../../src/model/tinyband/composer/index.js';
import { Rng } from '../../src/util/rng.js';

function randomSpd(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const a = Float64Array.from({ length: n * n }, () => rng.next() * 2 - 1);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) out[i * n + j] += a[i * n + k] * a[j * n + k];
  return out;
}

const g = (mean: number[], cov: number[]): Gaussian => ({ mean: Float64Array.from(mean), cov: Float64Array.from(cov) });

describe('Jacobi eigen solver and PSD square root', () => {
  it('decomposes a symmetric matrix: A v = lambda v for every pair, and V is orthonormal', () => {
    const n = 7;
    const a = randomSpd(n, 3);
    const { values, vectors } = jacobiEigen(a, n);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let k = 0; k < n; k++) av += a[i * n + k] * vectors[k * n + j];
        expect(av).toBeCloseTo(values[j] * vectors[i * n + j], 9);
      }
      for (let m = 0; m < n; m++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += vectors[i * n + j] * vectors[i * n + m];
        expect(dot).toBeCloseTo(j === m ? 1 : 0, 10);
      }
    }
  });

  it('finds the eigenvalues of a hand-worked 2 x 2 case', () => {
    const { values } = jacobiEigen([2, 1, 1, 2], 2);
    expect(Array.from(values).sort()).toEqual([expect.closeTo(1, 12), expect.closeTo(3, 12)]);
  });

  it('the square root squares back to the matrix (also a singular one)', () => {
    for (const [n, seed] of [
      [5, 1],
      [12, 2],
    ]) {
      const a = randomSpd(n, seed);
      const r = sqrtPsd(a, n);
      const back = matMul(r, r, n);
      for (let i = 0; i < n * n; i++) expect(back[i]).toBeCloseTo(a[i], 8);
    }
    // rank 1: v v^T
    const v = [1, 2, 3];
    const a = Float64Array.from({ length: 9 }, (_, i) => v[Math.floor(i / 3)] * v[i % 3]);
    const back = matMul(sqrtPsd(a, 3), sqrtPsd(a, 3), 3);
    for (let i = 0; i < 9; i++) expect(back[i]).toBeCloseTo(a[i], 8);
  });

  it('refuses a non-symmetric matrix', () => {
    expect(() => jacobiEigen([1, 2, 0, 1], 2)).toThrow(/not symmetric/);
  });
});

describe('Frechet distance', () => {
  it('is 0 between identical Gaussians', () => {
    const cov = randomSpd(6, 9);
    const mean = Array.from({ length: 6 }, (_, i) => i / 3);
    expect(frechetDistance(g(mean, Array.from(cov)), g(mean, Array.from(cov)))).toBeCloseTo(0, 8);
  });

  it('matches the 1-D formula (m1 - m2)^2 + (s1 - s2)^2', () => {
    expect(frechetDistance(g([1], [4]), g([3], [9]))).toBeCloseTo(4 + 1, 10);
    expect(frechetDistance(g([0], [0]), g([0], [2.25]))).toBeCloseTo(2.25, 10);
  });

  it('matches a hand-computed 2-D case', () => {
    // S1 = I, S2 = [[2,1],[1,2]] (eigenvalues 3, 1): tr sqrt(S2) = sqrt(3) + 1
    const d = frechetDistance(g([0, 0], [1, 0, 0, 1]), g([1, 2], [2, 1, 1, 2]));
    expect(d).toBeCloseTo(5 + 2 + 4 - 2 * (Math.sqrt(3) + 1), 10);
    // diagonal covariances: the sum of the 1-D distances
    expect(frechetDistance(g([0, 0], [1, 0, 0, 4]), g([0, 1], [9, 0, 0, 1]))).toBeCloseTo(4 + 1 + 1, 10);
    // symmetric in its arguments
    const a = g([0.3, -1], [2, 0.5, 0.5, 1]);
    const b = g([1, 0], [1, -0.3, -0.3, 3]);
    expect(frechetDistance(a, b)).toBeCloseTo(frechetDistance(b, a), 9);
  });

  it('fits mean and sample covariance', () => {
    const fit = fitGaussian([
      [1, 2],
      [3, 6],
    ]);
    expect(Array.from(fit.mean)).toEqual([2, 4]);
    expect(Array.from(fit.cov)).toEqual([2, 4, 4, 8]);
  });
});

describe('token-statistics embedding', () => {
  it('has documented parts that sum as documented', () => {
    const piece = compose({ seed: 4, bars: 8 });
    const e = tokenEmbedding(piece.tokens.map((r) => r.slice(0, 64)));
    expect(e.length).toBe(EMBEDDING_SIZE);
    expect(EMBEDDING_SIZE).toBe(46);
    for (let i = 0; i < 4; i++) expect(e[i]).toBeGreaterThanOrEqual(0);
    for (const [at, len] of [
      [15, 12],
      [27, 12],
      [39, 7],
    ]) {
      const s = Array.from(e.subarray(at, at + len)).reduce((a, b) => a + b, 0);
      expect(s === 0 || Math.abs(s - 1) < 1e-9).toBe(true);
    }
    // the composer's bass mostly plays tones of its own chords
    expect(bassOnOwnChords(piece.tokens)).toBeGreaterThan(0.6);
  });
});
