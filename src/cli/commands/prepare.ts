/** smitin prepare: writes onnx/decoder_model_merged.iti.onnx, the decoder with SMITIN's iti.{l} inputs and heads.{l} outputs. */
import { Command } from 'commander';
import { addModelOptions, type ModelCliOptions } from '../model-options.js';
import { prepareFolder } from '../../smitin/prepare.js';

interface PrepareCliOptions extends Pick<ModelCliOptions, 'model' | 'dtype'> {
  json?: boolean;
}

export function prepareCommand(): Command {
  const cmd = new Command('prepare').description(
    'make a MusicGen decoder steerable: writes onnx/decoder_model_merged.iti.onnx with inputs iti.{l} (shift of layer l\'s head outputs) and outputs heads.{l} (head outputs at the last position, before the shift)',
  );
  return addModelOptions(cmd, { placement: false })
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
