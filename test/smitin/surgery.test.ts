import { readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareFolder } from '../../src/smitin/prepare.js';
import { readModelFolder } from '../../src/model/musicgen/index.js';
import { parseDtypes } from '../../src/model/musicgen/dtype.js';
import { OnnxSession, ort } from '../../src/model/onnx/session.js';
import { headsName, itiName, prepareBytes } from '../../src/smitin/surgery.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { maxDiff } from '../helpers/arrays.js';
import { linkedCopy, SHIPPED_MODEL } from '../helpers/model.js';
import { toQ4 } from '../helpers/q4-export.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function copyModel(src: string): string {
  const dir = linkedCopy(src, 'smitin-prepare-');
  made.push(dir);
  return dir;
}

/** A deterministic pseudo-random stream. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** A copy of the fixture with a q4 decoder beside the others (the fixture ships none: test/helpers/q4-export.ts). */
function withQ4(src: string): string {
  const dir = copyModel(src);
  writeFileSync(join(dir, 'onnx', 'decoder_model_merged_q4.onnx'), toQ4(readFileSync(join(dir, 'onnx', 'decoder_model_merged.onnx'))).bytes);
  return dir;
}

/**
 * A copy of the fixture whose q8 decoder names the out_proj quantizer as onnxruntime's quantize_dynamic does
 * (transformers.js's _quantized files): DynamicQuantizeLinear `X_QuantizeLinear` after its input X, the
 * MatMulInteger `.../out_proj/MatMul_quant` (training/to_q8.py names them `.../MatMul_quant` and `.../MatMul_MatMulInteger`).
 */
function withOnnxruntimeNames(src: string): string {
  const dir = copyModel(src);
  const file = join(dir, 'onnx', 'decoder_model_merged_quantized.onnx');
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.decode(readFileSync(file));
  let renamed = 0;
  for (const branch of model.graph!.node!.flatMap((n) => (n.attribute ?? []).flatMap((a) => (a.g ? [a.g] : [])))) {
    for (const n of branch.node ?? []) {
      if (!/\/self_attn\/out_proj\/MatMul_/.test(n.name ?? '')) continue;
      if (n.opType === 'DynamicQuantizeLinear') n.name = `${n.input![0]}_QuantizeLinear`;
      else if (n.opType === 'MatMulInteger') n.name = n.name!.replace(/_MatMulInteger$/, '_quant');
      else continue;
      renamed++;
    }
  }
  expect(renamed).toBeGreaterThan(0);
  unlinkSync(file);
  writeFileSync(file, onnx.ModelProto.encode(model).finish());
  return dir;
}

/**
 * label, folder, decoder dtype, and how far heads.{l} of a cached step may be from the same position in one
 * run without past. Float graphs: measured max 7e-7. q8 quantizes each activation with one scale over all the
 * positions of the run, so the two runs round differently: measured max 4.7e-3 (q4 keeps activations float:
 * 9e-8).
 */
const VARIANTS: [string, () => string, string, number][] = [
  ['tinyband', () => copyModel(SHIPPED_MODEL), 'fp32', 1e-4],
  ['musicgen-tiny', () => copyModel(FIXTURE), 'fp32', 1e-4],
  ['musicgen-tiny q8', () => copyModel(FIXTURE), 'decoder=q8', 0.02],
  ['musicgen-tiny q8 with onnxruntime node names', () => withOnnxruntimeNames(FIXTURE), 'decoder=q8', 0.02],
  ['musicgen-tiny q4', () => withQ4(FIXTURE), 'decoder=q4', 1e-4],
];

for (const [label, make, dtypes, tolerance] of VARIANTS) {
  describe(`smitin prepare on ${label}`, async () => {
    const dtype = parseDtypes(dtypes);
    const dir = make();
    const summary = await prepareFolder(dir, dtype);
    const { spec } = readModelFolder(dir, dtype);
    const d = spec.dims;
    const width = d.heads * d.headDim;
    const B = 2; // conditional + unconditional rows
    const T = 3;
    const original = await OnnxSession.create(spec.files.decoder, { threads: 1 });
    const prepared = await OnnxSession.create(summary.out, { threads: 1 });
    const r = rng(7);
    const ids = (t: number) => new ort.Tensor('int64', BigInt64Array.from({ length: B * d.codebooks * t }, () => BigInt(Math.floor(r() * d.vocab))), [B * d.codebooks, t]);
    const S = 4;
    const base: Record<string, ort.Tensor> = {
      encoder_hidden_states: new ort.Tensor('float32', Float32Array.from({ length: B * S * d.textDim }, () => r() - 0.5), [B, S, d.textDim]),
      encoder_attention_mask: new ort.Tensor('int64', new BigInt64Array(B * S).fill(1n), [B, S]),
    };
    const zeroPast = (): Record<string, ort.Tensor> => {
      const f: Record<string, ort.Tensor> = {};
      for (let l = 0; l < d.layers; l++)
        for (const part of ['decoder', 'encoder'])
          for (const kind of ['key', 'value']) f[`past_key_values.${l}.${part}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [B, d.heads, 0, d.headDim]);
      return f;
    };
    const pastFrom = (out: Record<string, ort.Tensor>): Record<string, ort.Tensor> => {
      const f: Record<string, ort.Tensor> = {};
      for (const k of Object.keys(out)) if (k.startsWith('present.')) f[k.replace('present.', 'past_key_values.')] = out[k];
      return f;
    };
    const shifts = (layer = -1, scale = 0): Record<string, ort.Tensor> => {
      const f: Record<string, ort.Tensor> = {};
      for (let l = 0; l < d.layers; l++) f[itiName(l)] = new ort.Tensor('float32', Float32Array.from({ length: B * width }, (_, i) => (l === layer ? scale * Math.sin(i + 1) : 0)), [B, width]);
      return f;
    };
    const noCache = new ort.Tensor('bool', new Uint8Array([0]), [1]);
    const useCache = new ort.Tensor('bool', new Uint8Array([1]), [1]);
    const prompt = ids(T);
    const step = ids(1);
    const origFirst = await original.run({ ...base, ...zeroPast(), input_ids: prompt, use_cache_branch: noCache });
    const origStep = await original.run({ ...base, ...pastFrom(origFirst), input_ids: step, use_cache_branch: useCache });
    const prepFirst = await prepared.run({ ...base, ...zeroPast(), ...shifts(), input_ids: prompt, use_cache_branch: noCache });
    const prepStep = await prepared.run({ ...base, ...pastFrom(prepFirst), ...shifts(), input_ids: step, use_cache_branch: useCache });
    const shiftLayer = d.layers - 2;
    const shFirst = await prepared.run({ ...base, ...zeroPast(), ...shifts(shiftLayer, 1), input_ids: prompt, use_cache_branch: noCache });
    const shStep = await prepared.run({ ...base, ...pastFrom(origFirst), ...shifts(shiftLayer, 1), input_ids: step, use_cache_branch: useCache });

    it('declares iti.{l} and heads.{l} as float [total_batch_size, H*Dh] for every layer', () => {
      expect(summary.layers).toBe(d.layers);
      expect(summary.graphs).toEqual(['then_branch', 'else_branch']);
      for (let l = 0; l < d.layers; l++) {
        expect(prepared.input(itiName(l))).toMatchObject({ type: 'float32', shape: ['total_batch_size', width] });
        expect(prepared.output(headsName(l))).toMatchObject({ type: 'float32', shape: ['total_batch_size', width] });
      }
    });

    it('with all-zero shifts gives exactly the original logits, without and with past', () => {
      expect(prepFirst.logits.dims).toEqual(origFirst.logits.dims);
      expect(Array.from(prepFirst.logits.data as Float32Array)).toEqual(Array.from(origFirst.logits.data as Float32Array));
      expect(Array.from(prepStep.logits.data as Float32Array)).toEqual(Array.from(origStep.logits.data as Float32Array));
    });

    it('a shift at one layer changes the logits (both branches) and heads.{l} is read before it', () => {
      const differs = (a: ort.Tensor, b: ort.Tensor) => (a.data as Float32Array).some((v, i) => Math.abs(v - (b.data as Float32Array)[i]) > 1e-4);
      expect(differs(shFirst.logits, origFirst.logits)).toBe(true);
      expect(differs(shStep.logits, origStep.logits)).toBe(true);
      for (let l = 0; l <= shiftLayer; l++) {
        expect(Array.from(shFirst[headsName(l)].data as Float32Array)).toEqual(Array.from(prepFirst[headsName(l)].data as Float32Array));
        expect(Array.from(shStep[headsName(l)].data as Float32Array)).toEqual(Array.from(prepStep[headsName(l)].data as Float32Array));
      }
      // a later layer sees the push
      expect(differs(shFirst[headsName(shiftLayer + 1)], prepFirst[headsName(shiftLayer + 1)])).toBe(true);
    });

    it('heads.{l} is the out_proj input at the last position: finite, [2B, H*Dh], and the same whether that position comes from a prompt or a cached step', async () => {
      for (let l = 0; l < d.layers; l++) {
        const h = prepStep[headsName(l)];
        expect(h.dims).toEqual([B, width]);
        expect((h.data as Float32Array).every(Number.isFinite)).toBe(true);
        expect((h.data as Float32Array).some((v) => v !== 0)).toBe(true);
      }
      // prompt + step in one no-past run: its last position is the cached step's position
      const K = d.codebooks;
      const joined = new BigInt64Array(B * K * (T + 1));
      for (let row = 0; row < B * K; row++) {
        for (let t = 0; t < T; t++) joined[row * (T + 1) + t] = (prompt.data as BigInt64Array)[row * T + t];
        joined[row * (T + 1) + T] = (step.data as BigInt64Array)[row];
      }
      const whole = await prepared.run({ ...base, ...zeroPast(), ...shifts(), input_ids: new ort.Tensor('int64', joined, [B * K, T + 1]), use_cache_branch: noCache });
      for (let l = 0; l < d.layers; l++) {
        const a = whole[headsName(l)].data as Float32Array;
        const b = prepStep[headsName(l)].data as Float32Array;
        expect(maxDiff(a, b)).toBeLessThan(tolerance);
      }
    });

    it('is idempotent: preparing twice, or preparing the prepared file, gives the same bytes', async () => {
      const first = readFileSync(summary.out);
      await prepareFolder(dir, dtype);
      expect(Buffer.compare(readFileSync(summary.out), first)).toBe(0);
      const again = prepareBytes(first, summary.out, d.layers);
      expect(again.alreadyPrepared).toBe(true);
      expect(Buffer.compare(Buffer.from(again.bytes), first)).toBe(0);
    });
  });
}

describe('smitin prepare refuses and reports', () => {
  it('refuses a graph without out_proj, saying what it looked for', async () => {
    const dir = copyModel(FIXTURE);
    unlinkSync(join(dir, 'onnx', 'decoder_model_merged.onnx'));
    symlinkSync(realpathSync(join(FIXTURE, 'onnx', 'text_encoder.onnx')), join(dir, 'onnx', 'decoder_model_merged.onnx'));
    await expect(prepareFolder(dir)).rejects.toThrow(
      /cannot find the self-attention output projection: no node named \/decoder\/model\/decoder\/layers\.\{i\}\/self_attn\/out_proj\/MatMul \(a MatMul, a MatMulNBits \(q4\), or the DynamicQuantizeLinear \+ MatMulInteger of a q8 export\) in the main graph/,
    );
    const r = smitin(['prepare', '--model', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/out_proj\/MatMul/);
  });

  it('refuses a q8 projection whose quantizer also feeds another op (a shift there would reach it)', () => {
    const { onnx } = onnxProto;
    const file = join(withOnnxruntimeNames(FIXTURE), 'onnx', 'decoder_model_merged_quantized.onnx');
    const model = onnx.ModelProto.decode(readFileSync(file));
    const branch = model.graph!.node!.find((n) => n.opType === 'If')!.attribute!.find((a) => a.name === 'then_branch')!.g!;
    const quantizer = branch.node!.find((n) => n.opType === 'DynamicQuantizeLinear' && (n.name ?? '').startsWith('/decoder/model/decoder/layers.0/') && n.name!.endsWith('_QuantizeLinear'))!;
    branch.node!.push({ name: '/elsewhere/Identity', opType: 'Identity', input: [quantizer.output![0]], output: ['/elsewhere/out'] });
    expect(() => prepareBytes(onnx.ModelProto.encode(model).finish(), file)).toThrow(/\(then_branch\): the quantizer of .*layers\.0\/self_attn\/Reshape_\d+_output_0 before the output projection of layer 0 also feeds Identity \/elsewhere\/Identity/);
  });

  it('runs end to end from the CLI, and exits 2 for a bad folder', () => {
    const dir = copyModel(FIXTURE);
    const r = smitin(['prepare', '--model', dir, '--json']);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ out: join(dir, 'onnx', 'decoder_model_merged.iti.onnx'), layers: 2, graphs: ['then_branch', 'else_branch'] });
    const text = smitin(['prepare', '--model', dir]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^wrote .*decoder_model_merged\.iti\.onnx/);
    const bad = smitin(['prepare', '--model', join(dir, 'nope')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/no such model folder/);
  });
});

describe('smitin prepare with external-data weights', () => {
  it('leaves the weights in their data file (no inlining, no copy) and the prepared graph runs on them', async () => {
    const dir = copyModel(FIXTURE);
    const { onnx } = onnxProto;
    const file = join(dir, 'onnx', 'decoder_model_merged.onnx');
    const model = onnx.ModelProto.decode(readFileSync(file));
    const chunks: Buffer[] = [];
    let offset = 0;
    let moved = 0;
    for (const t of model.graph!.initializer!) {
      if (!t.rawData || t.rawData.length < 64) continue;
      chunks.push(Buffer.from(t.rawData));
      t.externalData = [
        { key: 'location', value: 'decoder_model_merged.onnx_data' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(t.rawData.length) },
      ];
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      offset += t.rawData.length;
      t.rawData = new Uint8Array(0);
      moved++;
    }
    unlinkSync(file);
    writeFileSync(file, onnx.ModelProto.encode(model).finish());
    writeFileSync(join(dir, 'onnx', 'decoder_model_merged.onnx_data'), Buffer.concat(chunks));
    const dataBefore = readFileSync(join(dir, 'onnx', 'decoder_model_merged.onnx_data'));

    const s = await prepareFolder(dir);
    expect(s.externalTensors).toBe(moved);
    expect(moved).toBeGreaterThan(10);
    expect(statSync(s.out).size).toBeLessThan(statSync(file).size + 20_000);
    expect(statSync(s.out).size).toBeLessThan(offset / 4);
    expect(readdirSync(join(dir, 'onnx')).filter((f) => f.includes('onnx_data'))).toEqual(['decoder_model_merged.onnx_data']);
    expect(Buffer.compare(readFileSync(join(dir, 'onnx', 'decoder_model_merged.onnx_data')), dataBefore)).toBe(0);

    // zero shifts: the same logits as the (external-data) original
    const { spec } = readModelFolder(dir);
    const d = spec.dims;
    const original = await OnnxSession.create(file, { threads: 1 });
    const prepared = await OnnxSession.create(s.out, { threads: 1 });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from({ length: d.codebooks * 2 }, (_, i) => BigInt((i * 37) % d.vocab)), [d.codebooks, 2]),
      encoder_hidden_states: new ort.Tensor('float32', Float32Array.from({ length: 3 * d.textDim }, (_, i) => Math.sin(i)), [1, 3, d.textDim]),
      encoder_attention_mask: new ort.Tensor('int64', new BigInt64Array(3).fill(1n), [1, 3]),
      use_cache_branch: new ort.Tensor('bool', new Uint8Array([0]), [1]),
    };
    for (let l = 0; l < d.layers; l++)
      for (const part of ['decoder', 'encoder'])
        for (const kind of ['key', 'value']) feeds[`past_key_values.${l}.${part}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, d.heads, 0, d.headDim]);
    const shifts: Record<string, ort.Tensor> = {};
    for (let l = 0; l < d.layers; l++) shifts[itiName(l)] = new ort.Tensor('float32', new Float32Array(d.heads * d.headDim), [1, d.heads * d.headDim]);
    const a = await original.run(feeds);
    const b = await prepared.run({ ...feeds, ...shifts });
    expect(Array.from(b.logits.data as Float32Array)).toEqual(Array.from(a.logits.data as Float32Array));
  });
});
