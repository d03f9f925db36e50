/** A Python 3 with numpy, for tests that check files as the training code reads them (.ci/run installs python3-numpy). */
import { spawnSync } from 'node:child_process';

export function pythonWithNumpy(): string | null {
  for (const exe of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(exe, ['-c', 'import numpy'], { encoding: 'utf8' });
    if (r.status === 0) return exe;
  }
  return null;
}
