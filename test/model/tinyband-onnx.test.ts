/**
 * The shipped tinyband ONNX export keeps the real MusicGen contract (optimum / transformers.js layout)
 * and computes what PyTorch computed: test/fixtures/tinyband-onnx/fixture.json is written by
 * training/export.py together with models/tinyband. TINYBAND_ONNX_DIR / TINYBAND_FIXTURE point the
 * test at another export (training/export.py --out DIR writes DIR/fixture/fixture.json).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MODEL_DIR = process.env.TINYBAND_ONNX_DIR ?? join(REPO, 'models', 'tinyband', 'onnx');
const FIXTURE = process.env.TINYBAND_FIXTURE ?? join(REPO, 'test', 'fixtures', 'tinyband-onnx', 'fixture.json');

interface Floats {
  dims: number[];
  float32_base64: string;
}
interface Fixture {
  sha256: Record<string, string>;
  shapes: {
    layers: number;
    heads: number;
    head_dim: number;
    num_codebooks: number;
    vocab_size: number;
    text_d_model: number;
  };
  tolerance: number;
  text: { input_ids: number[][]; attention_mask: number[][]; last_hidden_state: Floats };
  prompt: { input_ids: number[][]; encoder_hidden_states: Floats; encoder_attention_mask: number[][]; logits: Floats };
  step: { input_ids: number[][]; logits: Floats };
}

const int64 = (rows: number[][]): ort.Tensor =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat(), (x) => BigInt(x)), [rows.length, rows[0].length]);

function floats(f: Floats): ort.Tensor {
  const bytes = Buffer.from(f.float32_base64, 'base64');
  return new ort.Tensor('float32', new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), f.dims);
}

function maxAbsDiff(actual: ort.Tensor, expected: Floats): number {
  expect(actual.dims).toEqual(expected.dims);
  const a = actual.data as Float32Array;
  const e = floats(expected).data as Float32Array;
  let max = 0;
  for (let i = 0; i < e.length; i++) max = Math.max(max, Math.abs(a[i] - e[i]));
  return max;
}

function kvNames(prefix: string, layers: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < layers; i++)
    for (const part of ['decoder', 'encoder']) for (const kv of ['key', 'value']) names.push(`${prefix}.${i}.${part}.${kv}`);
  return names;
}

/** name -> [type, shape] from the session, for contract checks. */
type Meta = Map<string, [string, readonly (number | string)[]]>;
function metadata(list: readonly ort.InferenceSession.ValueMetadata[]): Meta {
  return new Map(list.map((m) => [m.name, m.isTensor ? [m.type, m.shape] : ['non-tensor', []]]));
}

describe.skipIf(!existsSync(FIXTURE))('tinyband ONNX export (MusicGen contract)', () => {
  // the factory runs even when skipped
  const fx = (existsSync(FIXTURE) ? JSON.parse(readFileSync(FIXTURE, 'utf8')) : { shapes: {} }) as Fixture;
  const { layers, heads, head_dim: headDim, vocab_size: vocab, text_d_model: textD } = fx.shapes;
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  let text: ort.InferenceSession;
  let decoder: ort.InferenceSession;

  beforeAll(async () => {
    text = await ort.InferenceSession.create(join(MODEL_DIR, 'text_encoder.onnx'), options);
    decoder = await ort.InferenceSession.create(join(MODEL_DIR, 'decoder_model_merged.onnx'), options);
  });
  afterAll(async () => {
    await text?.release();
    await decoder?.release();
  });

  it('is the export the fixture was written for', () => {
    for (const [file, sha] of Object.entries(fx.sha256)) {
      const actual = createHash('sha256').update(readFileSync(join(MODEL_DIR, file))).digest('hex');
      expect(actual, `${file} changed since its fixture: rerun training/export.py`).toBe(sha);
    }
  });

  it('text_encoder.onnx: input_ids, attention_mask (int64 [batch, seq]) -> last_hidden_state', async () => {
    const inputs = metadata(text.inputMetadata);
    expect([...inputs.keys()].sort()).toEqual(['attention_mask', 'input_ids']);
    for (const [type, shape] of inputs.values()) expect([type, shape.length]).toEqual(['int64', 2]);
    const outputs = metadata(text.outputMetadata);
    expect([...outputs.keys()]).toEqual(['last_hidden_state']);
    expect(outputs.get('last_hidden_state')?.[1].length).toBe(3);

    const out = await text.run({ input_ids: int64(fx.text.input_ids), attention_mask: int64(fx.text.attention_mask) });
    expect(maxAbsDiff(out.last_hidden_state, fx.text.last_hidden_state)).toBeLessThanOrEqual(fx.tolerance);
  });

  it('decoder_model_merged.onnx has the names, types and ranks of the merged MusicGen decoder', () => {
    const inputs = metadata(decoder.inputMetadata);
    const expected = [
      'input_ids',
      'encoder_hidden_states',
      'encoder_attention_mask',
      ...kvNames('past_key_values', layers),
      'use_cache_branch',
    ];
    expect([...inputs.keys()].sort()).toEqual([...expected].sort());
    expect(inputs.get('input_ids')?.[0]).toBe('int64');
    expect(inputs.get('input_ids')?.[1].length).toBe(2);
    expect(inputs.get('encoder_hidden_states')).toEqual(['float32', [expect.anything(), expect.anything(), textD]]);
    expect(inputs.get('encoder_attention_mask')?.[0]).toBe('int64');
    expect(inputs.get('encoder_attention_mask')?.[1].length).toBe(2);
    expect(inputs.get('use_cache_branch')).toEqual(['bool', [1]]);
    for (const name of kvNames('past_key_values', layers))
      expect(inputs.get(name), name).toEqual(['float32', [expect.anything(), heads, expect.anything(), headDim]]);

    const outputs = metadata(decoder.outputMetadata);
    expect([...outputs.keys()]).toEqual(['logits', ...kvNames('present', layers)]);
    expect(outputs.get('logits')).toEqual(['float32', [expect.anything(), expect.anything(), vocab]]);
    for (const name of kvNames('present', layers))
      expect(outputs.get(name), name).toEqual(['float32', [expect.anything(), heads, expect.anything(), headDim]]);
  });

  it('matches PyTorch on a CFG prompt (no-past branch) and the next step (with-past branch)', async () => {
    const rows = fx.prompt.encoder_attention_mask.length;
    const promptLen = fx.prompt.input_ids[0].length;
    const encLen = fx.prompt.encoder_attention_mask[0].length;
    const encoder = {
      encoder_hidden_states: floats(fx.prompt.encoder_hidden_states),
      encoder_attention_mask: int64(fx.prompt.encoder_attention_mask),
    };
    const empty = new ort.Tensor('float32', new Float32Array(0), [rows, heads, 0, headDim]);
    const first = await decoder.run({
      input_ids: int64(fx.prompt.input_ids),
      ...encoder,
      ...Object.fromEntries(kvNames('past_key_values', layers).map((n) => [n, empty])),
      use_cache_branch: new ort.Tensor('bool', Uint8Array.of(0), [1]),
    });
    expect(maxAbsDiff(first.logits, fx.prompt.logits)).toBeLessThanOrEqual(fx.tolerance);
    for (const name of kvNames('present', layers))
      expect(first[name].dims, name).toEqual([rows, heads, name.includes('.encoder.') ? encLen : promptLen, headDim]);

    const second = await decoder.run({
      input_ids: int64(fx.step.input_ids),
      ...encoder,
      ...Object.fromEntries(kvNames('present', layers).map((n) => [n.replace('present', 'past_key_values'), first[n]])),
      use_cache_branch: new ort.Tensor('bool', Uint8Array.of(1), [1]),
    });
    expect(maxAbsDiff(second.logits, fx.step.logits)).toBeLessThanOrEqual(fx.tolerance);
    for (const name of kvNames('present', layers)) {
      // as in optimum's merge: the with-past branch's encoder presents are empty; the first step's are kept
      const dims = name.includes('.encoder.') ? [0, heads, 1, headDim] : [rows, heads, promptLen + 1, headDim];
      expect(second[name].dims, name).toEqual(dims);
    }
  });
});
