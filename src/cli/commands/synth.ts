/** smitin synth: render one piece of a dataset folder (composed or generated tokens) with the band synthesizer. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { DEFAULT_TEMPO, MAX_TEMPO, MIN_TEMPO, SAMPLE_RATE } from '../../constants.js';
import { encodeWav } from '../../audio/wav.js';
import { renderTokens } from '../../model/codec/synth/index.js';
import { readDataset } from '../../model/tinyband/dataset.js';
import { INSTRUMENTS, removeInstrument } from '../../model/tinyband/layout.js';
import { UsageError } from '../../util/errors.js';
import { PendingFile } from '../../util/pending-file.js';
import { numberIn } from '../options.js';

interface SynthOptions {
  dataset: string;
  item: number;
  tempo: number;
  out: string;
  stems?: boolean;
}

export function synthCommand(): Command {
  return new Command('synth')
    .description('render one piece of a dataset folder to WAV with the band synthesizer')
    .requiredOption('--dataset <dir>', 'folder with dataset.json and tokens.u16')
    .requiredOption('--out <file.wav>', 'output WAV (48 kHz stereo float)')
    .option('--item <n>', 'which piece (0-based)', numberIn('item', 0, 1e9, { integer: true }), 0)
    .option('--tempo <bpm>', `tempo in BPM (${MIN_TEMPO}..${MAX_TEMPO})`, numberIn('tempo', MIN_TEMPO, MAX_TEMPO), DEFAULT_TEMPO)
    .option('--stems', 'also write one WAV per instrument beside --out (NAME.drums.wav, ...)')
    .action(async (opts: SynthOptions) => {
      if (!opts.out.toLowerCase().endsWith('.wav')) throw new UsageError(`--out must name a .wav file, got: ${opts.out}`);
      let data;
      try {
        data = readDataset(opts.dataset, (p) => readFileSync(p));
      } catch (err) {
        throw new UsageError(`--dataset: ${(err as Error).message}`);
      }
      const piece = data.pieces[opts.item];
      if (!piece) throw new UsageError(`--item must be below ${data.pieces.length} (the pieces in ${opts.dataset}), got: ${opts.item}`);
      const outputs: [string, Uint16Array[]][] = [[opts.out, piece.tokens]];
      if (opts.stems) {
        for (const inst of INSTRUMENTS) {
          // a stem is the piece minus everyone else
          let only = piece.tokens;
          for (const other of INSTRUMENTS) if (other !== inst) only = removeInstrument(only, other);
          outputs.push([opts.out.replace(/\.wav$/i, `.${inst}.wav`), only]);
        }
      }
      for (const [path, tokens] of outputs) {
        await PendingFile.produce(path, '--out', (file) => {
          const { left, right } = renderTokens(tokens, { tempo: opts.tempo });
          file.write(encodeWav([left, right], SAMPLE_RATE));
        });
      }
      process.stdout.write(`wrote ${outputs.map(([p]) => p).join(', ')}\n`);
    });
}
