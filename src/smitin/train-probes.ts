/**
 * Probe training: run the model over labelled segments, keep every head's
 * output at the last position (heads.{l}, the out_proj input), and fit one
 * L2 logistic regression per (layer, head) on a train split; validation
 * accuracy on held-out pieces ranks the heads.
 */
import { DecoderSession, encodeText, type MusicgenModel } from '../model/musicgen/index.js';
import { knownPositions, writeDelayed } from '../model/musicgen/delay-pattern.js';
import { accuracy, fitLogistic } from './logistic.js';
import type { FeatureProbes } from './probe-set.js';
import type { ProbeExample } from './probe-example.js';
import { UsageError } from '../util/errors.js';
import { quoted } from '../util/printable.js';

export interface Activations {
  /** [examples, layers, H*Dh]: every head's output at the segment's last position. */
  data: Float32Array;
  count: number;
  layers: number;
  width: number;
}

/**
 * Head outputs for every example, in the examples' order. Examples of equal
 * length run together, `batch` at a time, each row with its own text and no
 * guidance (the conditional half is what the monitor reads).
 */
export async function collectActivations(
  model: MusicgenModel,
  examples: readonly ProbeExample[],
  options: { batch?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<Activations> {
  const { spec } = model;
  const { layers, heads, headDim, codebooks: K } = spec.dims;
  const width = heads * headDim;
  const batch = options.batch ?? 32;
  const data = new Float32Array(examples.length * layers * width);
  const byLength = new Map<number, number[]>();
  examples.forEach((e, i) => {
    const n = e.tokens[0].length;
    if (e.tokens.length !== K) throw new RangeError(`example ${i} has ${e.tokens.length} codebooks, the model ${K}`);
    if (n + K > spec.maxFrames) throw new RangeError(`example ${i} holds ${n} frames, more than the model's window (${spec.maxFrames})`);
    byLength.set(n, [...(byLength.get(n) ?? []), i]);
  });
  let done = 0;
  for (const [frames, all] of byLength) {
    for (let b0 = 0; b0 < all.length; b0 += batch) {
      const group = all.slice(b0, b0 + batch);
      const conditioning = await encodeText(model, group.map((i) => examples[i].text), 1);
      const decoder = new DecoderSession(model.decoder, spec.dims, conditioning);
      if (!decoder.steerable) throw new Error(`${model.decoder.path}: is not prepared for steering: run smitin prepare`);
      // laid out as the generator feeds it, so the heads read what they read while playing
      const T = knownPositions(frames);
      const ids = new BigInt64Array(group.length * K * T);
      group.forEach((ex, b) => writeDelayed(ids, b * K, examples[ex].tokens, 0, T, spec));
      await decoder.forward(ids, T);
      for (let l = 0; l < layers; l++) {
        const h = decoder.heads(l);
        group.forEach((ex, b) => data.set(h.subarray(b * width, (b + 1) * width), (ex * layers + l) * width));
      }
      done += group.length;
      options.onProgress?.(done, examples.length);
    }
  }
  return { data, count: examples.length, layers, width };
}

/** Validation pieces: every fifth piece (the split is by piece, so no segment of a validation piece is trained on). */
export function isValidationPiece(piece: number): boolean {
  return piece % 5 === 0;
}

export interface FitOptions {
  /** L2 penalty (sklearn's 1/C). */
  l2?: number;
}

/** Fits every head's probe for one feature; `examples[i]` labels row i of `acts`. */
export function fitFeatureProbes(
  name: string,
  description: string,
  acts: Activations,
  examples: readonly ProbeExample[],
  heads: number,
  options: FitOptions = {},
): FeatureProbes {
  const { layers, width, count } = acts;
  const headDim = width / heads;
  const n = layers * heads;
  const trainRows: number[] = [];
  const valRows: number[] = [];
  examples.forEach((e, i) => (isValidationPiece(e.piece) ? valRows : trainRows).push(i));
  if (examples.length !== count) throw new RangeError(`${count} activation rows for ${examples.length} examples`);
  for (const [rows, split] of [[trainRows, 'training'], [valRows, 'validation (every fifth piece)']] as const) {
    if (rows.length === 0) throw new UsageError(`feature ${quoted(name)}: no ${split} examples among its ${count}: its probes cannot be ${split === 'training' ? 'fitted' : 'ranked'}`);
  }
  const labels = (rows: number[]) => Uint8Array.from(rows, (i) => examples[i].label);
  const yTrain = labels(trainRows);
  const yVal = labels(valRows);
  const out: FeatureProbes = {
    name,
    description,
    train: trainRows.length,
    validation: valRows.length,
    accuracy: new Float32Array(n),
    bias: new Float32Array(n),
    sigma: new Float32Array(n),
    massMeanSigma: new Float32Array(n),
    weights: new Float32Array(n * headDim),
    direction: new Float32Array(n * headDim),
    massMeanDirection: new Float32Array(n * headDim),
  };
  const slice = (rows: number[], l: number, h: number): Float32Array => {
    const x = new Float32Array(rows.length * headDim);
    rows.forEach((r, j) => x.set(acts.data.subarray((r * layers + l) * width + h * headDim, (r * layers + l) * width + (h + 1) * headDim), j * headDim));
    return x;
  };
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      const i = l * heads + h;
      const xTrain = slice(trainRows, l, h);
      const fit = fitLogistic(xTrain, trainRows.length, headDim, yTrain, { l2: options.l2 ?? 1 });
      out.accuracy[i] = accuracy(fit, slice(valRows, l, h), valRows.length, yVal);
      out.bias[i] = fit.bias;
      out.weights.set(fit.weights, i * headDim);
      const dir = unit(fit.weights);
      out.direction.set(dir, i * headDim);
      out.sigma[i] = projectedStd(xTrain, trainRows.length, dir);
      const mm = unit(massMean(xTrain, yTrain, headDim));
      out.massMeanDirection.set(mm, i * headDim);
      out.massMeanSigma[i] = projectedStd(xTrain, trainRows.length, mm);
    }
  }
  return out;
}

function unit(v: ArrayLike<number>): Float32Array {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += v[i] * v[i];
  norm = Math.sqrt(norm);
  return Float32Array.from(v, (x) => (norm > 0 ? x / norm : 0));
}

/** mean(positive rows) - mean(negative rows). */
function massMean(x: Float32Array, y: Uint8Array, d: number): Float64Array {
  const sums = [new Float64Array(d), new Float64Array(d)];
  const counts = [0, 0];
  for (let r = 0; r < y.length; r++) {
    counts[y[r]]++;
    for (let j = 0; j < d; j++) sums[y[r]][j] += x[r * d + j];
  }
  return Float64Array.from({ length: d }, (_, j) => sums[1][j] / Math.max(1, counts[1]) - sums[0][j] / Math.max(1, counts[0]));
}

/** Std of the rows of x projected on `dir` (ITI's sigma). */
function projectedStd(x: Float32Array, rows: number, dir: Float32Array): number {
  const d = dir.length;
  let sum = 0;
  let sq = 0;
  for (let r = 0; r < rows; r++) {
    let p = 0;
    for (let j = 0; j < d; j++) p += x[r * d + j] * dir[j];
    sum += p;
    sq += p * p;
  }
  const mean = sum / rows;
  return Math.sqrt(Math.max(0, sq / rows - mean * mean));
}
