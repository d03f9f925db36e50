/**
 * A tiny real file system for disk-full tests: a tmpfs of a few hundred KB
 * fills in a fraction of a second of recording and answers ENOSPC exactly
 * as a full disk does (no simulated errors). Mounting needs root (or
 * CAP_SYS_ADMIN); where it is not allowed the tests that need it are
 * skipped with the reason.
 *
 * Each mount is its own folder under the system temp folder, so test files
 * running in parallel never share one; call unmount() in afterAll.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  dir: string;
  /** Remounts read-only (true) or read-write (false): a real EROFS. */
  readOnly(on: boolean): void;
  unmount(): void;
}

/** Mounts a tmpfs of `kib` KiB; returns it, or why it cannot be mounted here. */
export function mountSmallDisk(kib: number): SmallDisk | { reason: string } {
  const dir = mkdtempSync(join(tmpdir(), 'smitin-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { reason: `cannot mount a tmpfs here (needs root): ${(r.stderr || r.error?.message || `mount exited ${r.status}`).trim()}` };
  }
  const run = (args: string[]) => {
    const x = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
    if (x.status !== 0) throw new Error(`${args.join(' ')} failed: ${(x.stderr || x.error?.message || '').trim()}`);
  };
  return {
    dir,
    readOnly: (on) => run(['mount', '-o', `remount,${on ? 'ro' : 'rw'}`, dir]),
    unmount: () => {
      // lazy: a file a failed test left open must not keep the mount (and the folder) around
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
