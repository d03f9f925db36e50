/** Preparing a model folder's decoder for steering (smitin prepare), and opening a model with its prepared decoder. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { loadModel, readModelFolder, type Dtype, type LoadOptions, type MusicgenModel } from '../model/musicgen/index.js';
import { PendingFile } from '../util/pending-file.js';
import { prepareBytes, preparedPath } from './surgery.js';

export interface PrepareSummary {
  source: string;
  out: string;
  layers: number;
  width: number;
  graphs: string[];
  externalTensors: number;
  bytes: number;
  ms: number;
}

/** Prepares the decoder of model folder `dir` (checked as `render` checks it) and writes the .iti.onnx beside it. */
export async function prepareFolder(dir: string, dtype: Dtype = 'fp32'): Promise<PrepareSummary> {
  const t0 = performance.now();
  const { spec } = readModelFolder(dir, dtype);
  const source = spec.files.decoder;
  const result = prepareBytes(readFileSync(source), source, spec.dims.layers);
  const width = spec.dims.heads * spec.dims.headDim;
  if (result.width !== width) {
    throw new Error(`${source}: out_proj takes ${result.width} values per position, but config.json gives heads x head dim = ${width}`);
  }
  const out = preparedPath(source);
  await PendingFile.produce(out, 'prepared model', (f) => f.write(result.bytes));
  return { source, out, layers: result.layers, width: result.width, graphs: result.graphs, externalTensors: result.externalTensors, bytes: statSync(out).size, ms: performance.now() - t0 };
}

/** The prepared decoder of `dir`, written first when it is missing or older than the decoder it comes from. */
export async function ensurePrepared(dir: string, dtype: Dtype = 'fp32'): Promise<string> {
  const { spec } = readModelFolder(dir, dtype);
  const out = preparedPath(spec.files.decoder);
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(spec.files.decoder).mtimeMs) return out;
  try {
    return (await prepareFolder(dir, dtype)).out;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES' || e.code === 'EROFS' || e.code === 'EPERM') {
      throw new Error(`steering needs ${out}, which cannot be written here (${e.code}): run smitin prepare --model ${dir} where the folder is writable`);
    }
    throw err;
  }
}

/** Opens a model with its steerable decoder (preparing it on first use). */
export async function loadSteerableModel(dir: string, options: LoadOptions = {}): Promise<MusicgenModel> {
  const decoderFile = await ensurePrepared(dir, options.dtype ?? 'fp32');
  return loadModel(dir, { ...options, decoderFile });
}
