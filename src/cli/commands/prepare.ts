/** smitin prepare: writes onnx/decoder_model_merged.iti.onnx, the decoder with SMITIN's iti.{l} inputs and heads.{l} outputs. */
import { readFileSync, statSync } from 'node:fs';
import { Command, Option } from 'commander';
import { DTYPES, readModelFolder, type Dtype } from '../../model/musicgen/index.js';
import { prepareBytes, preparedPath } from '../../smitin/surgery.js';
import { PendingFile } from '../../util/pending-file.js';
import { defaultModelDir } from './render.js';

interface PrepareCliOptions {
  model: string;
  dtype: Dtype;
  json?: boolean;
}

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

export function prepareCommand(): Command {
  return new Command('prepare')
    .description('make a MusicGen decoder steerable: writes onnx/decoder_model_merged.iti.onnx with inputs iti.{l} (shift of layer l\'s head outputs) and outputs heads.{l} (head outputs at the last position, before the shift)')
    .option('--model <dir>', 'model folder (config.json, generation_config.json, tokenizer.json, onnx/)', defaultModelDir())
    .addOption(new Option('--dtype <type>', 'decoder file: fp32 (*.onnx), fp16 (*_fp16.onnx)').choices(DTYPES).default('fp32'))
    .option('--json', 'print the summary as JSON')
    .action(async (opts: PrepareCliOptions) => {
      const s = await prepareFolder(opts.model, opts.dtype);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(s)}\n`);
      } else {
        const ext = s.externalTensors ? `, ${s.externalTensors} weights left in external data files` : '';
        process.stdout.write(
          `wrote ${s.out} (${(s.bytes / 1e6).toFixed(2)} MB, ${s.layers} layers x ${s.width} head outputs, rewired in ${s.graphs.join(' and ')}${ext}) in ${Math.round(s.ms)} ms\n`,
        );
      }
    });
}
