/**
 * smitin: the command line. Every command has --help; a bad argument prints
 * one line on stderr and exits with code 2; anything else that fails prints
 * one line and exits with code 1.
 */
import { Command, CommanderError } from 'commander';
import { graphDtypes, type DtypeChoice } from '../model/musicgen/dtype.js';
import { resolveHubModel } from '../hub/resolve-model.js';
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from '../util/errors.js';
import { checkCommand } from './commands/check.js';
import { composeCommand } from './commands/compose.js';
import { datasetCommand } from './commands/dataset.js';
import { devicesCommand } from './commands/devices.js';
import { evalCommand } from './commands/eval.js';
import { liveCommand } from './commands/live.js';
import { prepareCommand } from './commands/prepare.js';
import { probesCommand } from './commands/probes.js';
import { pullCommand } from './commands/pull.js';
import { renderCommand } from './commands/render.js';
import { statsCommand } from './commands/stats.js';
import { synthCommand } from './commands/synth.js';
import { pullProgress } from './pull-progress.js';

export function buildProgram(): Command {
  const program = new Command('smitin')
    .description('smitin-live: play a generative music transformer and steer it live with SMITIN')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') });
  for (const make of [checkCommand, composeCommand, datasetCommand, devicesCommand, evalCommand, liveCommand, prepareCommand, probesCommand, pullCommand, renderCommand, statsCommand, synthCommand]) program.addCommand(make());
  // Commander reports a bad argument by throwing (exitOverride) so we choose the exit code.
  const override = (c: Command): void => {
    c.exitOverride().configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') });
    c.commands.forEach(override);
  };
  override(program);
  program.hook('preAction', hubModels);
  return program;
}

/**
 * Every command's --model may name a hub model (owner/name[@revision]): it
 * becomes the cached snapshot folder before the command runs, pulled on
 * first use with a progress bar on stderr (no prompt), or refused offline
 * with the `smitin pull` command to run. A local folder of that name wins.
 */
async function hubModels(_program: Command, command: Command): Promise<void> {
  const { model, dtype } = command.opts() as { model?: unknown; dtype?: DtypeChoice };
  if (typeof model !== 'string') return;
  const progress = pullProgress(`pulling ${model}`);
  try {
    const folder = await resolveHubModel(model, graphDtypes(dtype ?? 'fp32'), progress);
    if (folder) command.setOptionValueWithSource('model', folder, 'cli');
  } finally {
    progress.stop();
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    // a command that ran to the end may still answer no (smitin check)
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version "errors" are successful exits
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`error: ${(err as Error).message ?? String(err)}\n`);
    if (process.env.SMITIN_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return EXIT_FAILURE;
  }
}
