/**
 * `--record-midi FILE.mid`: the file is claimed when the session starts (the
 * name said then is the name written), and filled when it stops. An
 * existing file is never replaced: the take goes beside it as FILE-2.mid,
 * FILE-3.mid, ... (as takes.ts names WAV takes), created exclusively;
 * `--overwrite` lets the user's own name be replaced, as it does for
 * --record.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { numbered } from '../audio/takes.js';
import { describeFsError, errnoCode } from '../util/fs-errors.js';

/** Free names tried before giving up, as for WAV takes. */
const MAX_NAME_TRIES = 1000;

export class MidiTake {
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Claims `path`, or the first free NAME-n beside it. Throws an Error naming the file when none can be created. */
  static claim(path: string, overwrite: boolean): MidiTake {
    for (let index = 1; index <= MAX_NAME_TRIES; index++) {
      const name = numbered(path, index);
      try {
        return new MidiTake(name, openSync(name, index === 1 && overwrite ? 'w' : 'wx'));
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') continue;
        throw new Error(`--record-midi ${name}: cannot create the file: ${describeFsError(err)}`, { cause: err });
      }
    }
    throw new Error(`--record-midi ${path}: ${MAX_NAME_TRIES} names in a row are taken`);
  }

  /** Writes the whole file and closes it; once. Throws an Error naming the file. */
  write(bytes: Uint8Array): void {
    const fd = this.fd;
    if (fd === null) return;
    this.fd = null;
    try {
      writeSync(fd, bytes);
    } catch (err) {
      throw new Error(`--record-midi ${this.path}: writing failed: ${describeFsError(err)}`, { cause: err });
    } finally {
      closeSync(fd);
    }
  }
}
