/**
 * `smitin prepare`'s iti.{l} / heads.{l} compute what PyTorch computes: test/fixtures/tinyband-iti/fixture.json
 * is written by training/iti_reference.py from the checkpoint models/tinyband was exported from, with a
 * forward pre-hook on layers[L].self_attn.out_proj that adds the shift to its input (every position) and
 * records the pre-shift input at the last position of every layer.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareFolder } from '../../src/smitin/prepare.js';
import { readModelFolder } from '../../src/model/musicgen/index.js';
import { OnnxSession, ort } from '../../src/model/onnx/session.js';
import { headsName, itiName } from '../../src/smitin/surgery.js';
import { tempDir } from '../helpers/cli.js';
import { linkedCopy, SHIPPED_MODEL } from '../helpers/model.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/tinyband-iti/fixture.json', import.meta.url));

interface Floats {
  dims: number[];
  float32_base64: string;
}
interface Fixture {
  sha256: Record<string, string>;
  tolerance: number;
  layer: number;
  shift: Floats;
  encoder_hidden_states: Floats;
  encoder_attention_mask: number[][];
  prompt: { input_ids: number[][]; logits: Floats; heads: Floats; zero_shift_last_logits: Floats };
  step: { input_ids: number[][]; logits: Floats; heads: Floats; zero_shift_logits: Floats };
}

const fx = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;

const int64 = (rows: number[][]): ort.Tensor =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat(), (x) => BigInt(x)), [rows.length, rows[0].length]);

function values(f: Floats): Float32Array {
  const bytes = Buffer.from(f.float32_base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** logits [rows, T, V] -> its last position [rows, 1, V]. */
function lastPosition(t: ort.Tensor): Float32Array {
  const [rows, T, V] = t.dims as number[];
  const data = t.data as Float32Array;
  const out = new Float32Array(rows * V);
  for (let r = 0; r < rows; r++) out.set(data.subarray((r * T + T - 1) * V, (r * T + T) * V), r * V);
  return out;
}

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function copyModel(src: string): string {
  const dir = linkedCopy(src, 'smitin-iti-ref-');
  made.push(dir);
  return dir;
}

describe('smitin prepare on tinyband matches the PyTorch ITI reference (training/iti_reference.py)', async () => {
  const decoderFile = join(SHIPPED_MODEL, 'onnx', 'decoder_model_merged.onnx');
  const sha = createHash('sha256').update(readFileSync(decoderFile)).digest('hex');

  it('the fixture was written for the shipped decoder (re-run training/iti_reference.py after a re-export)', () => {
    expect(sha).toBe(fx.sha256['decoder_model_merged.onnx']);
  });

  const dir = copyModel(SHIPPED_MODEL);
  const summary = await prepareFolder(dir);
  const d = readModelFolder(dir).spec.dims;
  const width = d.heads * d.headDim;
  const B = fx.encoder_attention_mask.length;
  const prepared = await OnnxSession.create(summary.out, { threads: 1 });

  const base: Record<string, ort.Tensor> = {
    encoder_hidden_states: new ort.Tensor('float32', values(fx.encoder_hidden_states), fx.encoder_hidden_states.dims),
    encoder_attention_mask: int64(fx.encoder_attention_mask),
  };
  const shifts: Record<string, ort.Tensor> = {};
  for (let l = 0; l < d.layers; l++)
    shifts[itiName(l)] = new ort.Tensor('float32', l === fx.layer ? values(fx.shift) : new Float32Array(B * width), [B, width]);
  const emptyPast: Record<string, ort.Tensor> = {};
  for (let l = 0; l < d.layers; l++)
    for (const part of ['decoder', 'encoder'])
      for (const kind of ['key', 'value']) emptyPast[`past_key_values.${l}.${part}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [B, d.heads, 0, d.headDim]);
  const first = await prepared.run({
    ...base, ...emptyPast, ...shifts, input_ids: int64(fx.prompt.input_ids), use_cache_branch: new ort.Tensor('bool', new Uint8Array([0]), [1]),
  });
  const past: Record<string, ort.Tensor> = {};
  for (const k of Object.keys(first)) if (k.startsWith('present.')) past[k.replace('present.', 'past_key_values.')] = first[k];
  const second = await prepared.run({
    ...base, ...past, ...shifts, input_ids: int64(fx.step.input_ids), use_cache_branch: new ort.Tensor('bool', new Uint8Array([1]), [1]),
  });

  /** heads.{l} for all layers stacked as the fixture holds them: [layers, B, H*Dh]. */
  const stackedHeads = (out: Record<string, ort.Tensor>): Float32Array => {
    const all = new Float32Array(d.layers * B * width);
    for (let l = 0; l < d.layers; l++) {
      expect(out[headsName(l)].dims).toEqual([B, width]);
      all.set(out[headsName(l)].data as Float32Array, l * B * width);
    }
    return all;
  };

  it(`a shift at layer ${fx.layer} gives PyTorch's logits, without past and with past`, () => {
    expect(first.logits.dims).toEqual(fx.prompt.logits.dims);
    expect(second.logits.dims).toEqual(fx.step.logits.dims);
    expect(maxAbsDiff(first.logits.data as Float32Array, values(fx.prompt.logits))).toBeLessThanOrEqual(fx.tolerance);
    expect(maxAbsDiff(second.logits.data as Float32Array, values(fx.step.logits))).toBeLessThanOrEqual(fx.tolerance);
  });

  it('heads.{l} is PyTorch\'s out_proj input at the last position before the shift, for every layer, both runs', () => {
    expect(fx.prompt.heads.dims).toEqual([d.layers, B, width]);
    expect(maxAbsDiff(stackedHeads(first), values(fx.prompt.heads))).toBeLessThanOrEqual(fx.tolerance);
    expect(maxAbsDiff(stackedHeads(second), values(fx.step.heads))).toBeLessThanOrEqual(fx.tolerance);
  });

  it('the shift matters: the unshifted PyTorch logits are far from the shifted ones (so the test can fail)', () => {
    expect(maxAbsDiff(lastPosition(first.logits), values(fx.prompt.zero_shift_last_logits))).toBeGreaterThan(1000 * fx.tolerance);
    expect(maxAbsDiff(second.logits.data as Float32Array, values(fx.step.zero_shift_logits))).toBeGreaterThan(1000 * fx.tolerance);
  });
});
