/**
 * Bindings made by MIDI learn live in the session's preset only; at the end
 * of a session they are written to a preset file of their own, so the next
 * gig starts with them (`--preset FILE`). Never over an existing file, and
 * never fatal: a full disk costs the file, not the session's shutdown.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Preset } from '../control/presets.js';

/** Writes `preset` as `learned-<time>.json` (then -2, -3, ... if taken) in `dir`; returns the file, or throws what the file system said. */
export function saveLearnedPreset(preset: Preset, dir: string, now = new Date()): string {
  const stamp = now.toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const json = JSON.stringify({ ...preset, name: `${preset.name} (learned ${stamp})` }, null, 2) + '\n';
  for (let n = 1; ; n++) {
    const file = join(dir, `learned-${stamp}${n > 1 ? `-${n}` : ''}.json`);
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    try {
      writeSync(fd, json);
    } finally {
      closeSync(fd);
    }
    return file;
  }
}
