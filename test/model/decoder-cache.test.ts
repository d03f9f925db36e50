/**
 * The KV cache must not change the music: logits from the cached,
 * step-by-step decoder equal one full-sequence pass without a past.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeText, loadModel, type Conditioning, type MusicgenModel } from '../../src/model/musicgen/index.js';
import { DecoderSession } from '../../src/model/musicgen/decoder-session.js';
import { writeDelayed, type DelayIds } from '../../src/model/musicgen/delay-pattern.js';
import { Rng } from '../../src/util/rng.js';
import { MODEL_DIR, NO_MODEL_REASON } from '../helpers/model.js';
import { maxDiff } from '../helpers/arrays.js';

const TOLERANCE = 1e-4;
const POSITIONS = 12;

/** Random frames laid out with the delay pattern: BOS at 0, pad before codebook k starts, random ids after. */
interface DelayedInputs {
  /** frames[k]: as many as `length` positions read of codebook k (its first at position 1 + k). */
  frames: number[][];
  special: DelayIds;
}

function delayedInputs(K: number, length: number, vocab: number, special: DelayIds, seed: number): DelayedInputs {
  const rng = new Rng(seed);
  return { frames: Array.from({ length: K }, (_, k) => Array.from({ length: Math.max(0, length - 1 - k) }, () => rng.int(0, vocab - 1))), special };
}

/** ids [rows, length] for positions [from, from + length): row = h * K + k, both halves the same tokens. */
function idsFor(inputs: DelayedInputs, halves: number, from: number, length: number): BigInt64Array {
  const K = inputs.frames.length;
  const ids = new BigInt64Array(halves * K * length);
  for (let h = 0; h < halves; h++) writeDelayed(ids, h * K, inputs.frames, from, length, inputs.special);
  return ids;
}

/** Logits of position t from a [rows, length, V] tensor, as one [rows, V] array. */
function at(data: Float32Array, rows: number, length: number, V: number, t: number): Float32Array {
  const out = new Float32Array(rows * V);
  for (let r = 0; r < rows; r++) out.set(data.subarray((r * length + t) * V, (r * length + t + 1) * V), r * V);
  return out;
}

describe.skipIf(!MODEL_DIR)(`decoder KV cache (${MODEL_DIR ?? NO_MODEL_REASON})`, () => {
  let model: MusicgenModel;
  let cond: Conditioning;
  let inputs: DelayedInputs;
  beforeAll(async () => {
    model = await loadModel(MODEL_DIR!, { threads: 1 });
    cond = await encodeText(model, ['funk happy energetic'], 3);
    const { dims } = model.spec;
    inputs = delayedInputs(dims.codebooks, POSITIONS, dims.vocab, model.spec, 11);
  });
  afterAll(async () => model?.release());

  async function fullPass(c: Conditioning): Promise<Float32Array> {
    const full = new DecoderSession(model.decoder, model.spec.dims, c);
    return (await full.forward(idsFor(inputs, c.rows, 0, POSITIONS), POSITIONS)).data as Float32Array;
  }

  it('step-by-step logits equal a full-sequence pass without past', async () => {
    const { vocab: V } = model.spec.dims;
    const cached = new DecoderSession(model.decoder, model.spec.dims, cond);
    const full = await fullPass(cond);
    const diffs: number[] = [];
    for (let q = 0; q < POSITIONS; q++) {
      expect(cached.length).toBe(q);
      const step = (await cached.forward(idsFor(inputs, cond.rows, q, 1), 1)).data as Float32Array;
      diffs.push(maxDiff(step, at(full, cached.rows, POSITIONS, V, q)));
    }
    expect(Math.max(...diffs)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('a prefill of several positions then steps equals the full pass (continuation from a prompt)', async () => {
    const { vocab: V } = model.spec.dims;
    const prefill = 6;
    const session = new DecoderSession(model.decoder, model.spec.dims, cond);
    const full = await fullPass(cond);
    const first = (await session.forward(idsFor(inputs, cond.rows, 0, prefill), prefill)).data as Float32Array;
    for (let t = 0; t < prefill; t++) {
      expect(maxDiff(at(first, session.rows, prefill, V, t), at(full, session.rows, POSITIONS, V, t))).toBeLessThanOrEqual(TOLERANCE);
    }
    for (let q = prefill; q < POSITIONS; q++) {
      const step = (await session.forward(idsFor(inputs, cond.rows, q, 1), 1)).data as Float32Array;
      expect(maxDiff(step, at(full, session.rows, POSITIONS, V, q))).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('reset() starts again from position 0', async () => {
    const session = new DecoderSession(model.decoder, model.spec.dims, cond);
    const a = Float32Array.from((await session.forward(idsFor(inputs, cond.rows, 0, 1), 1)).data as Float32Array);
    await session.forward(idsFor(inputs, cond.rows, 1, 1), 1);
    session.reset();
    expect(session.length).toBe(0);
    const b = (await session.forward(idsFor(inputs, cond.rows, 0, 1), 1)).data as Float32Array;
    expect(maxDiff(a, b)).toBe(0);
  });

  it('guidance 1 feeds the conditional half alone, and its logits equal the doubled batch\'s conditional half', async () => {
    const single = await encodeText(model, ['funk happy energetic'], 1);
    expect(single.rows).toBe(1);
    expect(cond.rows).toBe(2);
    const { vocab: V, codebooks: K } = model.spec.dims;
    const a = await fullPass(single);
    const b = await fullPass(cond);
    // rows 0..K-1 of the doubled batch are the conditional half
    expect(maxDiff(a, b.subarray(0, K * POSITIONS * V))).toBeLessThanOrEqual(TOLERANCE);
  });

  it('a run returns only what is read afterwards: the text keys and values once, no cache from peek', async () => {
    const { layers } = model.spec.dims;
    const asked: (readonly string[] | undefined)[] = [];
    const run = model.decoder.run.bind(model.decoder);
    const spy = vi.spyOn(model.decoder, 'run').mockImplementation(async (feeds, outputs) => {
      asked.push(outputs);
      return run(feeds, outputs);
    });
    try {
      const session = new DecoderSession(model.decoder, model.spec.dims, cond);
      const ids = (q: number) => idsFor(inputs, cond.rows, q, 1);
      await session.forward(ids(0), 1);
      await session.forward(ids(1), 1);
      await session.peek(ids(2), 1);
      session.reset();
      await session.forward(ids(0), 1);
    } finally {
      spy.mockRestore();
    }
    const present = (part: string) => model.decoder.outputNames.filter((n) => new RegExp(`^present\\.\\d+\\.${part}\\.(key|value)$`).test(n));
    expect(present('encoder')).toHaveLength(2 * layers); // the graph has them: they are left out, not missing
    const [prime, step, peek, again] = asked.map((names) => [...(names ?? model.decoder.outputNames)].sort());
    expect(prime).toEqual(['logits', ...present('decoder'), ...present('encoder')].sort());
    expect(step).toEqual(['logits', ...present('decoder')].sort());
    expect(peek).toEqual(['logits']);
    expect(again).toEqual(prime);
  });

  it('the unconditional half is zero states under a zero mask', () => {
    const [rows, seq, d] = cond.states.dims;
    expect(rows).toBe(2);
    const states = cond.states.data as Float32Array;
    expect(states.subarray(seq * d).every((x) => x === 0)).toBe(true);
    expect(states.subarray(0, seq * d).some((x) => x !== 0)).toBe(true);
    expect([...(cond.mask.data as BigInt64Array)]).toEqual([...Array(seq).fill(1n), ...Array(seq).fill(0n)]);
  });
});
