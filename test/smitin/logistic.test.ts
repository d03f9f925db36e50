import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { accuracy, fitLogistic, probability, type LogisticFit } from '../../src/smitin/logistic.js';
import { pythonWithNumpy } from '../helpers/python.js';

/** A deterministic pseudo-random stream. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

interface Data { x: Float32Array; n: number; d: number; y: Uint8Array }

/** Gaussian features; labels drawn from sigmoid(x . w + b), or thresholded (separable) when `separable`. */
function synthetic(seed: number, n: number, d: number, w: number[], b: number, separable = false): Data {
  const r = rng(seed);
  const x = new Float32Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let z = b;
    for (let j = 0; j < d; j++) {
      x[i * d + j] = gaussian(r);
      z += w[j] * x[i * d + j];
    }
    y[i] = separable ? Number(z > 0) : Number(r() < 1 / (1 + Math.exp(-z)));
  }
  return { x, n, d, y };
}

function randomWeights(seed: number, d: number): number[] {
  const r = rng(seed);
  return Array.from({ length: d }, () => gaussian(r));
}

/** The objective and its gradient, written out plainly (no shared code with the solver). */
function objectiveAndGradient(data: Data, w: ArrayLike<number>, b: number, l2: number): { f: number; g: number[] } {
  const { x, n, d, y } = data;
  const g = new Array<number>(d + 1).fill(0);
  let f = 0;
  for (let i = 0; i < n; i++) {
    let z = b;
    for (let j = 0; j < d; j++) z += w[j] * x[i * d + j];
    f += Math.max(z, 0) + Math.log(1 + Math.exp(-Math.abs(z))) - y[i] * z;
    const p = 1 / (1 + Math.exp(-z));
    for (let j = 0; j < d; j++) g[j] += (p - y[i]) * x[i * d + j];
    g[d] += p - y[i];
  }
  for (let j = 0; j < d; j++) {
    f += 0.5 * l2 * w[j] * w[j];
    g[j] += l2 * w[j];
  }
  return { f, g };
}

const maxAbs = (v: number[]): number => Math.max(...v.map(Math.abs));

const cases: { label: string; data: Data; l2: number }[] = [
  { label: 'noisy labels, d = 6', data: synthetic(1, 300, 6, randomWeights(11, 6), 0.3), l2: 1 },
  { label: 'noisy labels, d = 24, weak penalty', data: synthetic(2, 500, 24, randomWeights(12, 24), -0.5), l2: 0.01 },
  { label: 'separable, d = 5', data: synthetic(3, 200, 5, randomWeights(13, 5), 0.2, true), l2: 1 },
  { label: 'separable, d = 8, weak penalty', data: synthetic(4, 200, 8, randomWeights(14, 8), 0, true), l2: 1e-3 },
];

describe('fitLogistic', () => {
  for (const { label, data, l2 } of cases) {
    it(`reaches a zero gradient (${label})`, () => {
      const fit = fitLogistic(data.x, data.n, data.d, data.y, { l2 });
      expect(fit.converged).toBe(true);
      expect(fit.iterations).toBeLessThan(30);
      const { g } = objectiveAndGradient(data, fit.weights, fit.bias, l2);
      expect(maxAbs(g)).toBeLessThan(1e-6 * data.n);
    });

    it(`beats nearby points (${label})`, () => {
      const fit = fitLogistic(data.x, data.n, data.d, data.y, { l2 });
      const best = objectiveAndGradient(data, fit.weights, fit.bias, l2).f;
      const r = rng(99);
      for (let trial = 0; trial < 20; trial++) {
        const scale = 10 ** -(1 + (trial % 4)); // 0.1 .. 1e-4
        const w = Array.from(fit.weights, (v) => v + scale * (r() - 0.5));
        const b = fit.bias + scale * (r() - 0.5);
        expect(objectiveAndGradient(data, w, b, l2).f).toBeGreaterThan(best);
      }
    });
  }

  it('stays finite on separable data and separates it', () => {
    const data = cases[3].data;
    const fit = fitLogistic(data.x, data.n, data.d, data.y, { l2: 1e-3 });
    expect(Array.from(fit.weights).every(Number.isFinite)).toBe(true);
    expect(accuracy(fit, data.x, data.n, data.y)).toBe(1);
  });

  it('recovers the direction of a planted weight vector', () => {
    const d = 24;
    const planted = randomWeights(21, d);
    const data = synthetic(22, 20000, d, planted, 0.4);
    const fit = fitLogistic(data.x, data.n, data.d, data.y);
    expect(fit.converged).toBe(true);
    let dot = 0;
    let a = 0;
    let c = 0;
    for (let j = 0; j < d; j++) {
      dot += fit.weights[j] * planted[j];
      a += fit.weights[j] ** 2;
      c += planted[j] ** 2;
    }
    expect(dot / Math.sqrt(a * c)).toBeGreaterThan(0.95);
    expect(Math.abs(fit.bias - 0.4)).toBeLessThan(0.2);
  });

  it('reports non-convergence when the step budget is too small', () => {
    const { data, l2 } = cases[1];
    const fit = fitLogistic(data.x, data.n, data.d, data.y, { l2, maxIterations: 1 });
    expect(fit.iterations).toBe(1);
    expect(fit.converged).toBe(false);
  });

  const python = pythonWithNumpy();
  // An independent minimiser: numpy's own Newton iteration with np.linalg.solve, from zero, with plain full steps after a few damped gradient steps.
  const reference = `
import json, sys
import numpy as np
cases = json.load(sys.stdin)
out = []
for c in cases:
    n, d, l2 = c['n'], c['d'], c['l2']
    X = np.array(c['x'], dtype=np.float64).reshape(n, d)
    y = np.array(c['y'], dtype=np.float64)
    A = np.hstack([X, np.ones((n, 1))])
    P = np.diag(np.r_[np.full(d, l2), 0.0])
    def f(t):
        z = A @ t
        return np.sum(np.logaddexp(0, z) - y * z) + 0.5 * t @ P @ t
    t = np.zeros(d + 1)
    for _ in range(200):
        z = A @ t
        p = 0.5 * (1 + np.tanh(0.5 * z))
        g = A.T @ (p - y) + P @ t
        if np.max(np.abs(g)) < 1e-11 * n:
            break
        H = A.T @ (A * (p * (1 - p))[:, None]) + P
        s = -np.linalg.solve(H, g)
        a = 1.0
        while f(t + a * s) > f(t) + 1e-4 * a * (g @ s) and a > 1e-12:
            a /= 2
        t = t + a * s
    out.append({'w': t[:d].tolist(), 'b': float(t[d])})
print(json.dumps(out))
`;

  it.skipIf(!python)('matches a numpy reference minimiser', () => {
    const payload = cases.map(({ data, l2 }) => ({ n: data.n, d: data.d, l2, x: Array.from(data.x), y: Array.from(data.y) }));
    const r = spawnSync(python!, ['-c', reference], { input: JSON.stringify(payload), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const expected = JSON.parse(r.stdout) as { w: number[]; b: number }[];
    cases.forEach(({ data, l2 }, k) => {
      const fit: LogisticFit = fitLogistic(data.x, data.n, data.d, data.y, { l2 });
      const scale = Math.max(1, maxAbs(expected[k].w));
      for (let j = 0; j < data.d; j++) expect(Math.abs(fit.weights[j] - expected[k].w[j]) / scale).toBeLessThan(1e-5);
      expect(Math.abs(fit.bias - expected[k].b) / scale).toBeLessThan(1e-5);
    });
  });
});

describe('probability and accuracy', () => {
  it('evaluate the fitted model row by row', () => {
    const x = new Float32Array([1, 2, -1, 0, 800, 0, -800, 0]);
    const fit = { weights: [1, -1], bias: 0.5 };
    expect(probability(fit, x, 0)).toBeCloseTo(1 / (1 + Math.exp(0.5)), 12);
    expect(probability(fit, x, 2)).toBe(1); // no overflow for large |z|
    expect(probability(fit, x, 3)).toBe(0);
    expect(accuracy(fit, x, 4, new Uint8Array([0, 0, 1, 0]))).toBe(1);
    expect(accuracy(fit, x, 4, new Uint8Array([1, 1, 1, 0]))).toBe(0.5);
    expect(() => probability(fit, x, 4)).toThrow(/row/);
    expect(() => accuracy(fit, x, 3, new Uint8Array(3))).toThrow(/x: expected n\*d = 6/);
    expect(() => accuracy(fit, x, 4, new Uint8Array(3))).toThrow(/y: expected n = 4/);
  });
});

describe('fitLogistic input checks', () => {
  const x = new Float32Array([0, 1, 1, 0, 2, 2]);
  const y = new Uint8Array([0, 1, 1]);
  const bad: [string, () => unknown, RegExp][] = [
    ['n too small', () => fitLogistic(new Float32Array(2), 1, 2, new Uint8Array([1])), /^n: expected an integer >= 2/],
    ['n not an integer', () => fitLogistic(x, 2.5, 2, y), /^n: /],
    ['d zero', () => fitLogistic(x, 3, 0, y), /^d: expected an integer >= 1/],
    ['x length', () => fitLogistic(x.subarray(1), 3, 2, y), /^x: expected n\*d = 6 .* got 5/],
    ['x not finite', () => fitLogistic(new Float32Array([0, 1, NaN, 0, 2, 2]), 3, 2, y), /^x: expected finite values, got NaN at row 1, column 0/],
    ['x infinite', () => fitLogistic(new Float32Array([0, 1, 1, 0, 2, Infinity]), 3, 2, y), /^x: expected finite values, got Infinity at row 2, column 1/],
    ['y length', () => fitLogistic(x, 3, 2, new Uint8Array([0, 1])), /^y: expected n = 3 labels, got 2/],
    ['y not 0/1', () => fitLogistic(x, 3, 2, new Uint8Array([0, 2, 1])), /^y: expected labels 0 or 1, got 2 at row 1/],
    ['one class', () => fitLogistic(x, 3, 2, new Uint8Array([1, 1, 1])), /^y: expected both classes present/],
    ['l2 zero', () => fitLogistic(x, 3, 2, y, { l2: 0 }), /^options\.l2: expected a finite number > 0/],
    ['l2 NaN', () => fitLogistic(x, 3, 2, y, { l2: NaN }), /^options\.l2: /],
    ['maxIterations', () => fitLogistic(x, 3, 2, y, { maxIterations: 0 }), /^options\.maxIterations: expected an integer >= 1/],
    ['tolerance', () => fitLogistic(x, 3, 2, y, { tolerance: -1 }), /^options\.tolerance: expected a finite number >= 0/],
  ];
  for (const [label, call, message] of bad) {
    it(`rejects ${label}`, () => {
      expect(call).toThrow(RangeError);
      expect(call).toThrow(message);
    });
  }
});
