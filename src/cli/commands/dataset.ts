/** smitin dataset: composer output as numpy-readable arrays for training tinyband. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { buildDataset } from '../../model/tinyband/dataset.js';
import { UsageError } from '../../util/errors.js';
import { PendingFile } from '../../util/pending-file.js';
import { numberIn } from '../options.js';
import { progressBar } from '../progress.js';

interface DatasetCliOptions {
  pieces: number;
  seed: number;
  bars: number;
  shortSections: number;
  out: string;
  quiet?: boolean;
}

export function datasetCommand(): Command {
  return new Command('dataset')
    .description('write N composed pieces as tokens, labels and chords (raw little-endian arrays + dataset.json header)')
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .option('--pieces <n>', 'number of pieces (1..1000000)', numberIn('pieces', 1, 1_000_000, { integer: true }), 1000)
    .option('--seed <n>', 'random seed', numberIn('seed', 0, 2 ** 32 - 1, { integer: true }), 1)
    .option('--bars <n>', 'bars per piece, a multiple of 4 (8..256)', numberIn('bars', 8, 256, { integer: true }), 32)
    .option('--short-sections <p>', "chance of a 2-bar section, so instruments come and go every 2 bars too (0..1; 0: the shipped model's data)", numberIn('short-sections', 0, 1), 0)
    .option('--quiet', 'no progress bar')
    .action((opts: DatasetCliOptions) => {
      if (opts.bars % 4 !== 0) throw new UsageError(`--bars must be a multiple of 4 (sections are 4 or 8 bars), got: ${opts.bars}`);
      try {
        mkdirSync(opts.out, { recursive: true });
      } catch (err) {
        throw new UsageError(`--out ${opts.out} cannot be created: ${(err as Error).message}`);
      }
      // Open every output before composing anything, so a bad path fails at once and nothing partial stays.
      const names = ['tokens.u16', 'labels.u8', 'chords.u8', 'dataset.json'];
      const pending = names.map((n) => PendingFile.open(join(opts.out, n), '--out'));
      const bar = opts.quiet ? null : progressBar('composing {bar} {value}/{total} pieces {eta_formatted} left', 50);
      try {
        bar?.start(opts.pieces, 0);
        const data = buildDataset({ pieces: opts.pieces, seed: opts.seed, bars: opts.bars, shortSections: opts.shortSections, onPiece: (n) => bar?.update(n) });
        bar?.stop();
        pending.forEach((file, i) => file.write(i < 3 ? data.files[names[i]] : Buffer.from(JSON.stringify(data.header, null, 1))));
        // The header goes in last: a dataset.json means the arrays beside it are complete.
        pending.forEach((file) => file.commit());
        process.stdout.write(
          `wrote ${opts.pieces} pieces x ${data.header.frames} frames to ${opts.out}; ` +
            `absent instruments enter within 4 bars ${(data.header.stats.entryBaselineWithin4Bars * 100).toFixed(1)} % of the time\n`,
        );
      } catch (err) {
        bar?.stop();
        pending.forEach((file) => file.discard());
        throw err;
      }
    });
}
