/**
 * Cost of one generation step of the merged MusicGen decoder in onnxruntime-node: a CFG step (2 rows of
 * K codebooks, one new token each) on the with-past branch at several cache lengths, and the no-past
 * prompt. One step is one frame: for tinyband a 16th note (125 ms of audio at 120 BPM), for an EnCodec
 * MusicGen 1/50 s (20 ms). Sizes come from the model's own inputs, so any MusicGen export can be measured;
 * a random decoder of MusicGen-small's exact shape (weights do not change speed) comes from
 * `/usr/bin/python3 training/make_musicgen_fixture.py --shape small --out DIR` (1.7 GB, not committed).
 *
 * Each cached step is timed four ways, taking turns: returning every output (how the runtime ran before
 * 2026-12-03), the cache into pre-allocated buffers (onnxruntime fills them; onnxruntime-node 1.30 still
 * copies each into the tensor it returns), returning what DecoderSession returns now (decoderOutputs: the
 * text's keys and values are not copied out again), and returning the logits alone: the floor, what a step would cost if the cache
 * never left onnxruntime (onnxruntime-node copies each returned output into a new buffer, and offers
 * device-resident outputs for WebGPU buffers only). Against each: the bandwidth bound, the time to stream the
 * decoder file (its weights, a little more than a cached step reads) and the past keys and values once at
 * the memory bandwidth measured here (a 256 MB copy, bytes read plus written).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/decoder-step.bench.js [onnx dir, default models/tinyband/onnx] [runs, default 500] [fp32|q8]
 */

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { decoderOutputs } from '../src/model/musicgen/decoder-session.js';
import { percentile } from '../src/util/percentile.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)); // from dist/bench/
const dir = process.argv[2] ?? join(REPO, 'models', 'tinyband', 'onnx');
/** Step runs per measurement (second argument); a MusicGen-small-sized decoder wants fewer. */
const RUNS = Number(process.argv[3] ?? 500);
/**
 * Which file (third argument): fp32 or q8 (_quantized), named as transformers.js exports are. fp16 is left
 * out: onnxruntime's CPU kernels compute it in float32 (training/to_fp16.py), so it only saves disk.
 */
const SUFFIX: Record<string, string> = { fp32: '', q8: '_quantized' };
const dtype = process.argv[4] ?? 'fp32';
if (!(dtype in SUFFIX)) throw new RangeError(`dtype must be one of ${Object.keys(SUFFIX).join(', ')}, got: ${dtype}`);
const decoderFile = join(dir, `decoder_model_merged${SUFFIX[dtype]}.onnx`);
const PAST_LENGTHS = [16, 128, 255];
const PROMPT_LENGTHS = [1, 64, 256];
const TEXT_LENGTH = 4; // "funk happy energetic" + </s>

const configPath = join(dir, '..', 'config.json');
const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, 'utf8')) : {};
// one step is one frame: a 16th note for tinyband (125 ms at 120 BPM), 1/frame_rate s for EnCodec models
const tinyband = config.tinyband !== undefined || !config.audio_encoder?.frame_rate;
const STEP_AUDIO_MS = tinyband ? 125 : 1000 / config.audio_encoder.frame_rate;
const PACE = tinyband ? 'at 120 BPM' : `at ${config.audio_encoder?.frame_rate} frames/s`;
const codebooks: number = existsSync(configPath)
  ? JSON.parse(readFileSync(configPath, 'utf8')).decoder.num_codebooks
  : 4;

function tensorShape(session: ort.InferenceSession, name: string): readonly (number | string)[] {
  const m = session.inputMetadata.find((x) => x.name === name);
  if (!m?.isTensor) throw new Error(`${name}: not a tensor input of ${dir}`);
  return m.shape;
}

function randomFloats(dims: number[]): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', Float32Array.from({ length: n }, () => Math.random() * 2 - 1), dims);
}

function feeds(session: ort.InferenceSession, steps: number, past: number): Record<string, ort.Tensor> {
  const textD = tensorShape(session, 'encoder_hidden_states')[2] as number;
  const rows = 2; // CFG: conditional and unconditional
  const ids = BigInt64Array.from({ length: rows * codebooks * steps }, (_, i) => BigInt(i % 100));
  const mask = BigInt64Array.from({ length: rows * TEXT_LENGTH }, (_, i) => (i < TEXT_LENGTH ? 1n : 0n));
  const out: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [rows * codebooks, steps]),
    encoder_hidden_states: randomFloats([rows, TEXT_LENGTH, textD]),
    encoder_attention_mask: new ort.Tensor('int64', mask, [rows, TEXT_LENGTH]),
    use_cache_branch: new ort.Tensor('bool', Uint8Array.of(past > 0 ? 1 : 0), [1]),
  };
  for (const name of session.inputNames.filter((n) => n.startsWith('past_key_values.'))) {
    const [, heads, , headDim] = tensorShape(session, name) as number[];
    const length = name.includes('.encoder.') ? (past > 0 ? TEXT_LENGTH : 0) : past;
    out[name] = randomFloats([rows, heads, length, headDim]);
  }
  return out;
}

async function timeRuns(session: ort.InferenceSession, input: Record<string, ort.Tensor>, runs: number) {
  for (let i = 0; i < Math.max(5, runs / 10); i++) await session.run(input); // warm-up: allocator and caches
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(input);
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b);
}

type Fetches = readonly string[] | Record<string, ort.Tensor | null> | undefined;

/** The outputs a cached step returns, four ways (see the header). */
const FETCHES: { label: string; outputs: (layers: number, input: Record<string, ort.Tensor>) => Fetches }[] = [
  { label: 'every output', outputs: () => undefined },
  { label: 'pre-allocated', outputs: preallocated },
  { label: 'the runtime', outputs: (layers) => decoderOutputs(layers, false, 'step') },
  { label: 'logits alone', outputs: (layers) => decoderOutputs(layers, false, 'peek') },
];

/** The runtime's outputs, the cache ones into buffers of ours: [rows, heads, past + 1, head dim], filled in place by onnxruntime. */
function preallocated(layers: number, input: Record<string, ort.Tensor>): Fetches {
  const out: Record<string, ort.Tensor | null> = {};
  for (const name of decoderOutputs(layers, false, 'step')) {
    const past = input[name.replace(/^present\./, 'past_key_values.')];
    if (!past) {
      out[name] = null;
      continue;
    }
    const [rows, heads, length, headDim] = past.dims;
    out[name] = new ort.Tensor('float32', new Float32Array(rows * heads * (length + 1) * headDim), [rows, heads, length + 1, headDim]);
  }
  return out;
}

/** Cached steps timed for each entry of FETCHES in turn, so that load from other work falls on all of them alike. */
async function timeFetches(session: ort.InferenceSession, input: Record<string, ort.Tensor>, runs: number): Promise<number[][]> {
  const layers = session.inputNames.filter((n) => /^past_key_values\.\d+\.decoder\.key$/.test(n)).length;
  const outputs = FETCHES.map((f) => f.outputs(layers, input));
  const run = (fetches: Fetches) => (fetches ? session.run(input, fetches) : session.run(input));
  for (let i = 0; i < Math.max(2, runs / 10); i++) for (const fetches of outputs) await run(fetches); // warm-up
  const ms = outputs.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (let f = 0; f < outputs.length; f++) {
      const t0 = performance.now();
      await run(outputs[f]);
      ms[f].push(performance.now() - t0);
    }
  }
  return ms;
}

/** Memory bandwidth, bytes per ms: the best of several copies of 256 MB (read and written). */
function copyBandwidth(): number {
  const n = 64 * 1024 * 1024;
  const from = new Float32Array(n).fill(1);
  const to = new Float32Array(n);
  let best = Infinity;
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    to.set(from);
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * n * 4) / best;
}

/** Bytes of past keys and values (decoder part, every layer) a cached step at `past` reads. */
function pastBytes(input: Record<string, ort.Tensor>): number {
  let bytes = 0;
  for (const [name, t] of Object.entries(input)) if (/^past_key_values\.\d+\.decoder\./.test(name)) bytes += (t.data as Float32Array).byteLength;
  return bytes;
}

const pct = percentile;
const plural = (threads: number): string => `${threads} thread${threads > 1 ? 's' : ' '}`;

const bandwidth = copyBandwidth();
const weightBytes = statSync(decoderFile).size;
console.log(`${decoderFile}: ${codebooks} codebooks, CFG batch 2`);
console.log(`  memory bandwidth ${(bandwidth / 1e6).toFixed(1)} GB/s (256 MB copies, read + written); decoder file ${(weightBytes / 1e6).toFixed(1)} MB`);
for (const threads of [1, 2]) {
  const session = await ort.InferenceSession.create(decoderFile, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  for (const past of PAST_LENGTHS) {
    const input = feeds(session, 1, past);
    const kvBytes = pastBytes(input);
    const boundMs = (weightBytes + kvBytes) / bandwidth;
    const timed = await timeFetches(session, input, RUNS);
    console.log(`  ${plural(threads)}  step, past ${String(past).padStart(3)}   cache ${(kvBytes / 1e6).toFixed(1)} MB, bandwidth bound ${boundMs.toFixed(2)} ms`);
    timed.forEach((ms, f) => {
      const [p50, p99] = [pct(ms, 50), pct(ms, 99)];
      console.log(
        `    ${FETCHES[f].label.padEnd(13)} p50 ${p50.toFixed(3)} ms  p99 ${p99.toFixed(3)} ms  ` +
          `real time x${(STEP_AUDIO_MS / p50).toFixed(STEP_AUDIO_MS / p50 < 10 ? 2 : 0)} ${PACE}  ` +
          `${((100 * boundMs) / p50).toFixed(0)} % of the bound  x${(p50 / pct(timed[0], 50)).toFixed(2)} of every output`,
      );
    });
  }
  for (const steps of PROMPT_LENGTHS) {
    const ms = await timeRuns(session, feeds(session, steps, 0), Math.max(3, Math.round((steps > 64 ? 30 : 100) * (RUNS / 500))));
    const [p50, p99] = [pct(ms, 50).toFixed(2), pct(ms, 99).toFixed(2)];
    console.log(`  ${plural(threads)}  prompt of ${String(steps).padStart(3)} (no past)  p50 ${p50} ms  p99 ${p99} ms`);
  }
  await session.release();
}
