/**
 * A mistake in what the user asked for (an argument, a path, a file they
 * gave us): the CLI prints it as one line and exits with EXIT_USAGE.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_USAGE = 2;
export const EXIT_FAILURE = 1;
