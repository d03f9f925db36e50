/** The progress of a hub download on stderr (src/cli/progress.ts's bar), for `smitin pull` and a --model pulled on first use. */
import type { PullOptions } from '../hub/pull.js';
import { printable } from '../util/printable.js';
import { progressBar } from './progress.js';

const MB = 1e6;

/** Callbacks for pullModel that draw one bar; call `stop` when the pull has ended (either way). */
export function pullProgress(what: string): Pick<PullOptions, 'onProgress' | 'onNote'> & { stop(): void } {
  const bar = progressBar(`${what} [{bar}] {percentage}% | {doneMb}/{totalMb} MB | {file} | eta {eta_formatted}`, 50);
  let started = false;
  const payload = (file: string, done: number, total: number) => ({ file: printable(file, 48), doneMb: (done / MB).toFixed(1), totalMb: (total / MB).toFixed(1) });
  return {
    onProgress: ({ file, done, total }) => {
      if (!started) {
        bar.start(total, done, payload(file, done, total));
        started = true;
      } else bar.update(done, payload(file, done, total));
    },
    onNote: (note) => process.stderr.write(`${started ? '\n' : ''}note: ${printable(note, 200)}\n`),
    stop: () => {
      if (started) bar.stop();
    },
  };
}
