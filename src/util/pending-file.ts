/**
 * Output that appears whole or not at all: data goes to a hidden sibling
 * file that is opened before any work starts (so an unwritable path fails
 * fast, even for root on a read-only mount) and renamed into place at the
 * end. On failure the sibling is removed: no partial file is left behind.
 */
import { closeSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from './errors.js';

export class PendingFile {
  private fd: number | null;
  private readonly tempPath: string;

  private constructor(
    readonly path: string,
    fd: number,
    tempPath: string,
  ) {
    this.fd = fd;
    this.tempPath = tempPath;
  }

  /** `what` names the option or thing, for the error: e.g. "--out". */
  static open(path: string, what: string): PendingFile {
    const dir = dirname(path);
    const tempPath = join(dir, `.${basename(path)}.partial-${process.pid}`);
    try {
      if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new Error('it is a directory');
      return new PendingFile(path, openSync(tempPath, 'wx'), tempPath);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? `directory ${dir} does not exist` : e.code ? `${e.code} (${e.message})` : e.message;
      throw new UsageError(`${what} ${path} cannot be written: ${why}`);
    }
  }

  write(data: Uint8Array): void {
    if (this.fd === null) throw new Error(`${this.path}: write after commit or discard`);
    let offset = 0;
    while (offset < data.length) offset += writeSync(this.fd, data, offset, data.length - offset);
  }

  commit(): void {
    if (this.fd === null) throw new Error(`${this.path}: already committed or discarded`);
    closeSync(this.fd);
    this.fd = null;
    renameSync(this.tempPath, this.path);
  }

  discard(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.tempPath, { force: true });
  }

  /** Runs `produce` and commits, or discards and rethrows. */
  static async produce<T>(path: string, what: string, produce: (file: PendingFile) => Promise<T> | T): Promise<T> {
    const file = PendingFile.open(path, what);
    try {
      const result = await produce(file);
      file.commit();
      return result;
    } catch (err) {
      file.discard();
      throw err;
    }
  }
}
