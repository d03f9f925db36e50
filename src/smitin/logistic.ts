/**
 * Exact L2-regularised logistic regression, the probe fitted on every
 * attention head (docs/architecture.md, SMITIN as implemented): minimises
 *
 *   f(w, b) = sum_i [softplus(z_i) - y_i z_i] + (l2/2) ||w||^2,  z_i = w.x_i + b
 *
 * (sklearn's objective with C = 1/l2; the bias is not penalised). Newton's
 * method (IRLS) on the d+1 parameters: the Hessian is at most 129 x 129, so
 * a dense Cholesky solve is cheap next to the O(n d^2) pass that builds it,
 * and a handful of quadratically converging steps beat hundreds of gradient
 * steps at n = 20000. A backtracking line search keeps the steps honest far
 * from the optimum; on separable data the plain Newton step overshoots, and
 * only the penalty keeps the optimum finite.
 *
 * Standardising features is the caller's business: this is a pure solver,
 * so its answer can be checked against any other minimiser of f.
 */

export interface LogisticOptions {
  /** The penalty lambda on the weights (not the bias); > 0, default 1. */
  l2?: number;
  /** Newton steps at most; default 50. */
  maxIterations?: number;
  /** Stop when max |gradient of f| < tolerance * n; default 1e-8. */
  tolerance?: number;
}

export interface LogisticFit {
  weights: Float64Array;
  bias: number;
  /** Newton steps taken. */
  iterations: number;
  /** The gradient test passed (false: maxIterations ran out, or the line search stalled above the tolerance). */
  converged: boolean;
}

/** log(1 + e^z) without overflow for large z or loss of the tail for very negative z. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** 1 / (1 + e^-z), exponentiating only non-positive numbers. */
function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

function positiveInteger(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name}: expected an integer >= ${min}, got ${v}`);
}

function checkData(x: Float32Array, n: number, d: number, y: Uint8Array): void {
  positiveInteger('n', n, 2);
  positiveInteger('d', d, 1);
  if (!(x instanceof Float32Array)) throw new RangeError('x: expected a Float32Array');
  if (x.length !== n * d) throw new RangeError(`x: expected n*d = ${n * d} values (row-major ${n} x ${d}), got ${x.length}`);
  if (!(y instanceof Uint8Array)) throw new RangeError('y: expected a Uint8Array');
  if (y.length !== n) throw new RangeError(`y: expected n = ${n} labels, got ${y.length}`);
  for (let k = 0; k < x.length; k++) {
    if (!Number.isFinite(x[k])) throw new RangeError(`x: expected finite values, got ${x[k]} at row ${Math.floor(k / d)}, column ${k % d}`);
  }
  let ones = 0;
  for (let i = 0; i < n; i++) {
    if (y[i] > 1) throw new RangeError(`y: expected labels 0 or 1, got ${y[i]} at row ${i}`);
    ones += y[i];
  }
  if (ones === 0 || ones === n) throw new RangeError(`y: expected both classes present, got ${ones} ones in ${n} rows`);
}

/** Linear scores z = X w + b for the given parameters (theta[d] = bias). */
function scores(x: Float32Array, n: number, d: number, theta: Float64Array, z: Float64Array): void {
  for (let i = 0, o = 0; i < n; i++, o += d) {
    let s = theta[d];
    for (let j = 0; j < d; j++) s += theta[j] * x[o + j];
    z[i] = s;
  }
}

function objective(z: Float64Array, y: Uint8Array, theta: Float64Array, d: number, l2: number): number {
  let f = 0;
  for (let i = 0; i < z.length; i++) f += softplus(z[i]) - (y[i] ? z[i] : 0);
  let ww = 0;
  for (let j = 0; j < d; j++) ww += theta[j] * theta[j];
  return f + 0.5 * l2 * ww;
}

const BLOCK = 64;

/**
 * The loss part of the gradient, X'(p - y), and the lower triangle of the
 * Hessian, X' S X with S = diag(p(1-p)), over the bias-augmented rows. The
 * Hessian is the O(n d^2) cost of a Newton step: rows go through in blocks
 * of BLOCK, held column-major and scaled by sqrt(s), so every Hessian entry
 * is one dot product per block (four accumulators) rather than one
 * read-modify-write per row: under half the time at d = 128.
 */
function accumulate(x: Float32Array, n: number, d: number, y: Uint8Array, z: Float64Array, grad: Float64Array, hess: Float64Array, block: Float64Array): void {
  const m = d + 1;
  grad.fill(0);
  hess.fill(0);
  for (let start = 0; start < n; start += BLOCK) {
    const rows = Math.min(BLOCK, n - start);
    // A short last block leaves stale rows behind: zero them, so the unrolled loop can always run to BLOCK.
    if (rows < BLOCK) block.fill(0);
    for (let b = 0; b < rows; b++) {
      const i = start + b;
      const o = i * d;
      const p = sigmoid(z[i]);
      const r = p - y[i];
      const rs = Math.sqrt(p * (1 - p));
      for (let j = 0; j < d; j++) {
        const xj = x[o + j];
        grad[j] += r * xj;
        block[j * BLOCK + b] = rs * xj;
      }
      grad[d] += r;
      block[d * BLOCK + b] = rs;
    }
    for (let j = 0; j < m; j++) {
      const cj = j * BLOCK;
      for (let k = 0; k <= j; k++) {
        const ck = k * BLOCK;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let b = 0; b < BLOCK; b += 4) {
          a0 += block[cj + b] * block[ck + b];
          a1 += block[cj + b + 1] * block[ck + b + 1];
          a2 += block[cj + b + 2] * block[ck + b + 2];
          a3 += block[cj + b + 3] * block[ck + b + 3];
        }
        hess[j * m + k] += a0 + a1 + (a2 + a3);
      }
    }
  }
}

/**
 * In-place Cholesky of the symmetric m x m matrix a (row-major, lower
 * triangle read and overwritten with L). False when a pivot is not
 * positive: the matrix is not numerically positive definite.
 */
function cholesky(a: Float64Array, m: number): boolean {
  for (let j = 0; j < m; j++) {
    let s = a[j * m + j];
    for (let k = 0; k < j; k++) s -= a[j * m + k] * a[j * m + k];
    if (!(s > 0)) return false;
    const ljj = Math.sqrt(s);
    a[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let t = a[i * m + j];
      for (let k = 0; k < j; k++) t -= a[i * m + k] * a[j * m + k];
      a[i * m + j] = t / ljj;
    }
  }
  return true;
}

/** Solves L L^T out = rhs with the factor from cholesky(). */
function choleskySolve(l: Float64Array, m: number, rhs: Float64Array, out: Float64Array): void {
  for (let i = 0; i < m; i++) {
    let s = rhs[i];
    for (let k = 0; k < i; k++) s -= l[i * m + k] * out[k];
    out[i] = s / l[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = out[i];
    for (let k = i + 1; k < m; k++) s -= l[k * m + i] * out[k];
    out[i] = s / l[i * m + i];
  }
}

export function fitLogistic(x: Float32Array, n: number, d: number, y: Uint8Array, options: LogisticOptions = {}): LogisticFit {
  checkData(x, n, d, y);
  const l2 = options.l2 ?? 1;
  const maxIterations = options.maxIterations ?? 50;
  const tolerance = options.tolerance ?? 1e-8;
  if (!(Number.isFinite(l2) && l2 > 0)) throw new RangeError(`options.l2: expected a finite number > 0 (it keeps the optimum finite on separable data), got ${l2}`);
  positiveInteger('options.maxIterations', maxIterations, 1);
  if (!(Number.isFinite(tolerance) && tolerance >= 0)) throw new RangeError(`options.tolerance: expected a finite number >= 0, got ${tolerance}`);

  const m = d + 1;
  const theta = new Float64Array(m);
  let ones = 0;
  for (let i = 0; i < n; i++) ones += y[i];
  // Start at the best intercept-only model: the first Newton step then only has to find the weights.
  theta[d] = Math.log(ones / (n - ones));

  const z = new Float64Array(n);
  const zTrial = new Float64Array(n);
  const grad = new Float64Array(m);
  const hess = new Float64Array(m * m);
  const step = new Float64Array(m);
  const trial = new Float64Array(m);
  const negGrad = new Float64Array(m);
  const block = new Float64Array(m * BLOCK);
  const limit = tolerance * n;

  scores(x, n, d, theta, z);
  let f = objective(z, y, theta, d, l2);
  let iterations = 0;
  let converged = false;

  for (;;) {
    accumulate(x, n, d, y, z, grad, hess, block);
    let gmax = 0;
    for (let j = 0; j < m; j++) {
      if (j < d) grad[j] += l2 * theta[j];
      gmax = Math.max(gmax, Math.abs(grad[j]));
    }
    if (gmax < limit) {
      converged = true;
      break;
    }
    if (iterations >= maxIterations) break;

    for (let j = 0; j < d; j++) hess[j * m + j] += l2;
    // Saturated probabilities can underflow p(1-p) to 0 and leave the bias pivot at 0: add a growing ridge until it factors.
    const factor = new Float64Array(hess);
    let ridge = 0;
    let factored = cholesky(factor, m);
    // Bounded: a Hessian that overflowed (features near the float32 limit) never factors, and must not hang the caller.
    for (let tries = 0; !factored && tries < 30; tries++) {
      ridge = ridge === 0 ? 1e-12 * Math.max(1, ...Array.from({ length: m }, (_, j) => hess[j * m + j])) : ridge * 10;
      factor.set(hess);
      for (let j = 0; j < m; j++) factor[j * m + j] += ridge;
      factored = cholesky(factor, m);
    }
    if (!factored) break;
    for (let j = 0; j < m; j++) negGrad[j] = -grad[j];
    choleskySolve(factor, m, negGrad, step);

    let slope = 0;
    for (let j = 0; j < m; j++) slope += grad[j] * step[j];
    // Armijo backtracking: the full Newton step is accepted near the optimum, so convergence stays quadratic.
    let t = 1;
    let accepted = false;
    for (let halvings = 0; halvings < 60; halvings++, t *= 0.5) {
      for (let j = 0; j < m; j++) trial[j] = theta[j] + t * step[j];
      scores(x, n, d, trial, zTrial);
      const fTrial = objective(zTrial, y, trial, d, l2);
      if (fTrial <= f + 1e-4 * t * slope) {
        theta.set(trial);
        z.set(zTrial);
        f = fTrial;
        accepted = true;
        break;
      }
    }
    iterations++;
    // No decrease even for a tiny step: f is flat to rounding here, so this is as close as float64 gets.
    if (!accepted) break;
  }

  return { weights: theta.slice(0, d), bias: theta[d], iterations, converged };
}

/** sigmoid(w . x_row + b) for row `row` of the row-major x (d = weights.length). */
export function probability(fit: { weights: ArrayLike<number>; bias: number }, x: Float32Array, row: number): number {
  const d = fit.weights.length;
  const rows = d > 0 ? Math.floor(x.length / d) : 0;
  if (!Number.isInteger(row) || row < 0 || row >= rows) throw new RangeError(`row: expected an integer in [0, ${rows}), got ${row}`);
  let s = fit.bias;
  const o = row * d;
  for (let j = 0; j < d; j++) s += fit.weights[j] * x[o + j];
  return sigmoid(s);
}

/** Share of the n rows whose thresholded probability (p >= 0.5 means 1) equals the label. */
export function accuracy(fit: { weights: ArrayLike<number>; bias: number }, x: Float32Array, n: number, y: Uint8Array): number {
  const d = fit.weights.length;
  positiveInteger('n', n, 1);
  if (x.length !== n * d) throw new RangeError(`x: expected n*d = ${n * d} values (row-major ${n} x ${d}), got ${x.length}`);
  if (y.length !== n) throw new RangeError(`y: expected n = ${n} labels, got ${y.length}`);
  let right = 0;
  for (let i = 0; i < n; i++) if ((probability(fit, x, i) >= 0.5 ? 1 : 0) === y[i]) right++;
  return right / n;
}
