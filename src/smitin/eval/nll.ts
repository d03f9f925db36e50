/**
 * Mean per-token negative log-likelihood of continuations under the
 * unsteered model: the conditional half only (the item's text, no
 * guidance), one forward pass over BOS + prompt + continuation laid out
 * with the delay pattern exactly as the generator feeds it (the same
 * helper, model/musicgen/delay-pattern.ts: position q of codebook k holds
 * frame q-1-k, BOS at q = 0, the pad id before a codebook starts). The
 * logits at position q for codebook k score frame q-k of that codebook.
 * Only continuation frames are scored, and only those whose position q
 * does not pass the last given frame (q <= frames), so no pad stands in
 * for a frame the generator had actually sampled: the last frame of
 * codebook 2 and the last two of codebook 3 are not scored (3 of 256
 * tokens of a 64-frame continuation). The log-softmax runs over the ids the
 * generator may sample for that codebook (tinyband's per-codebook ranges).
 */
import { codecTraits } from '../../model/codec/traits.js';
import { DecoderSession, encodeText, type MusicgenModel } from '../../model/musicgen/index.js';
import { knownPositions, outputPosition, writeDelayed } from '../../model/musicgen/delay-pattern.js';
import { halfToFloat32 } from '../../model/onnx/float16.js';

export interface NllItem {
  text: string;
  /** Codebook-major prompt frames. */
  prompt: readonly ArrayLike<number>[];
  /** Codebook-major continuation frames (scored). */
  continuation: readonly ArrayLike<number>[];
}

/** Mean NLL (nats per scored token) of each item's continuation, in the items' order. */
export async function continuationNll(model: MusicgenModel, items: readonly NllItem[], options: { batch?: number } = {}): Promise<Float64Array> {
  const { spec } = model;
  const { codebooks: K, vocab: V } = spec.dims;
  const limits = codecTraits(spec.codec).codebookLimits ?? Array.from({ length: K }, () => V);
  const batch = options.batch ?? 16;
  const out = new Float64Array(items.length);
  // items of equal length run together
  const byLength = new Map<string, number[]>();
  items.forEach((it, i) => {
    const key = `${it.prompt[0]?.length ?? 0}:${it.continuation[0].length}`;
    byLength.set(key, [...(byLength.get(key) ?? []), i]);
  });
  for (const group of byLength.values()) {
    for (let b0 = 0; b0 < group.length; b0 += batch) {
      const ids0 = group.slice(b0, b0 + batch);
      const P = items[ids0[0]].prompt[0]?.length ?? 0;
      const C = items[ids0[0]].continuation[0].length;
      const frames = P + C;
      if (frames + K > spec.maxFrames) throw new RangeError(`${frames} frames do not fit the model's window (${spec.maxFrames})`);
      const T = knownPositions(frames);
      const conditioning = await encodeText(model, ids0.map((i) => items[i].text), 1);
      const decoder = new DecoderSession(model.decoder, spec.dims, conditioning);
      const ids = new BigInt64Array(ids0.length * K * T);
      // each item's prompt then continuation, as one run of frames per codebook
      const rows = ids0.map((i) => {
        const it = items[i];
        return Array.from({ length: K }, (_, k) => Array.from({ length: frames }, (_, f) => (f < P ? it.prompt[k][f] : it.continuation[k][f - P])));
      });
      rows.forEach((frame, b) => writeDelayed(ids, b * K, frame, 0, T, spec));
      const logits = await decoder.forward(ids, T);
      const raw = logits.data as Float32Array | Uint16Array;
      const data = raw instanceof Uint16Array ? halfToFloat32(raw) : raw;
      const Vout = logits.dims[2];
      ids0.forEach((i, b) => {
        const frame = rows[b];
        let sum = 0;
        let count = 0;
        for (let k = 0; k < K; k++) {
          const limit = Math.min(limits[k], Vout);
          for (let f = P; f < frames; f++) {
            const q = outputPosition(f, k);
            if (q > frames) continue;
            const at = ((b * K + k) * T + q) * Vout;
            let max = -Infinity;
            for (let v = 0; v < limit; v++) max = Math.max(max, data[at + v]);
            let z = 0;
            for (let v = 0; v < limit; v++) z += Math.exp(data[at + v] - max);
            const token = frame[k][f];
            sum += max + Math.log(z) - data[at + token];
            count++;
          }
        }
        out[i] = sum / count;
      });
    }
  }
  return out;
}
