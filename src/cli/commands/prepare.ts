/** smitin prepare: writes onnx/decoder_model_merged.iti.onnx, the decoder with SMITIN's iti.{l} inputs and heads.{l} outputs. */
import { Command, Option } from 'commander';
import type { GraphDtypes } from '../../model/musicgen/index.js';
import { prepareFolder } from '../../smitin/prepare.js';
import { DTYPE_HELP, dtypeOption } from '../options.js';
import { defaultModelDir } from './render.js';

interface PrepareCliOptions {
  model: string;
  dtype: GraphDtypes;
  json?: boolean;
}

export function prepareCommand(): Command {
  return new Command('prepare')
    .description('make a MusicGen decoder steerable: writes onnx/decoder_model_merged.iti.onnx with inputs iti.{l} (shift of layer l\'s head outputs) and outputs heads.{l} (head outputs at the last position, before the shift)')
    .option('--model <dir>', 'model folder (config.json, generation_config.json, tokenizer.json, onnx/)', defaultModelDir())
    .addOption(new Option('--dtype <type>', `the decoder file to prepare: ${DTYPE_HELP}`).argParser(dtypeOption).default(dtypeOption('fp32'), 'fp32'))
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
