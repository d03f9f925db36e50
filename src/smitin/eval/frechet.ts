/**
 * The Frechet distance between two Gaussians (the FID / FAD formula):
 *   d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1^1/2 S2 S1^1/2)
 * The matrix square roots are of symmetric positive semi-definite matrices,
 * taken through a cyclic Jacobi eigen-decomposition (small matrices: the
 * token-statistics embedding has a few dozen dimensions). Using the
 * symmetric form S1^1/2 S2 S1^1/2 instead of sqrt(S1 S2) keeps every matrix
 * symmetric, so no general (non-symmetric) square root is needed.
 *
 * Matrices are dense, row-major, n x n Float64Arrays.
 */

export interface Eigen {
  /** Eigenvalues, in no particular order. */
  values: Float64Array;
  /** Eigenvectors as columns: vectors[i * n + j] is component i of vector j. */
  vectors: Float64Array;
}

/** Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi rotations. */
export function jacobiEigen(matrix: ArrayLike<number>, n: number, { tolerance = 1e-12, maxSweeps = 100 } = {}): Eigen {
  if (matrix.length !== n * n) throw new RangeError(`matrix must hold ${n} x ${n} = ${n * n} values, got: ${matrix.length}`);
  const a = Float64Array.from(matrix);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const x = a[i * n + j];
      const y = a[j * n + i];
      if (Math.abs(x - y) > 1e-9 * (1 + Math.abs(x) + Math.abs(y))) throw new RangeError(`matrix is not symmetric at (${i}, ${j}): ${x} vs ${y}`);
      a[i * n + j] = a[j * n + i] = (x + y) / 2;
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i] * a[i];
  scale = Math.sqrt(scale);
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (Math.sqrt(off) <= tolerance * Math.max(scale, 1e-300)) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // the rotation angle that zeroes a[p][q] (Numerical Recipes' stable form)
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** The symmetric PSD square root V diag(sqrt(max(lambda, 0))) V^T of a symmetric matrix. */
export function sqrtPsd(matrix: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = jacobiEigen(matrix, n);
  const out = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const r = Math.sqrt(Math.max(0, values[j]));
    if (r === 0) continue;
    for (let i = 0; i < n; i++) {
      const vi = vectors[i * n + j] * r;
      if (vi === 0) continue;
      for (let k = 0; k < n; k++) out[i * n + k] += vi * vectors[k * n + j];
    }
  }
  return out;
}

export function matMul(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}

export interface Gaussian {
  mean: Float64Array;
  /** n x n, row-major. */
  cov: Float64Array;
}

/** Mean and covariance (divided by rows - 1; by 1 for a single row) of equally long vectors. */
export function fitGaussian(rows: readonly ArrayLike<number>[]): Gaussian {
  if (rows.length === 0) throw new RangeError('fitGaussian needs at least one vector');
  const n = rows[0].length;
  const mean = new Float64Array(n);
  for (const r of rows) {
    if (r.length !== n) throw new RangeError(`vectors must all have ${n} values, got one with ${r.length}`);
    for (let i = 0; i < n; i++) mean[i] += r[i] / rows.length;
  }
  const cov = new Float64Array(n * n);
  const denom = Math.max(1, rows.length - 1);
  for (const r of rows) {
    for (let i = 0; i < n; i++) {
      const di = r[i] - mean[i];
      if (di === 0) continue;
      for (let j = 0; j < n; j++) cov[i * n + j] += (di * (r[j] - mean[j])) / denom;
    }
  }
  return { mean, cov };
}

/** The squared Frechet distance between two Gaussians of the same dimension. */
export function frechetDistance(a: Gaussian, b: Gaussian): number {
  const n = a.mean.length;
  if (b.mean.length !== n) throw new RangeError(`Gaussians of ${n} and ${b.mean.length} dimensions`);
  let d = 0;
  for (let i = 0; i < n; i++) d += (a.mean[i] - b.mean[i]) ** 2;
  let trA = 0;
  let trB = 0;
  for (let i = 0; i < n; i++) {
    trA += a.cov[i * n + i];
    trB += b.cov[i * n + i];
  }
  const ra = sqrtPsd(a.cov, n);
  const m = matMul(matMul(ra, b.cov, n), ra, n);
  // symmetrise away rounding before the eigen-decomposition
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = m[j * n + i] = (m[i * n + j] + m[j * n + i]) / 2;
  const { values } = jacobiEigen(m, n);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(0, v));
  return Math.max(0, d + trA + trB - 2 * trSqrt);
}
