import cliProgress from 'cli-progress';

/**
 * The progress bar of the long commands (dataset, probes train, eval), on stderr so stdout stays the result.
 * On a terminal it redraws in place; elsewhere (a CI log, `2> file`) it writes a line every 10 s, so a long
 * job piped to a file still shows that it moves and how long it has left.
 */
export function progressBar(format: string, etaBuffer: number): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    { format, etaBuffer, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 10_000 },
    cliProgress.Presets.shades_classic,
  );
}
