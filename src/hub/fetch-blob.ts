/**
 * One file from the hub into its blob, resumable and verified. What
 * @huggingface/hub's downloadFileToCacheDir does not do (it streams to
 * `.incomplete` from byte 0 and renames without a check): a download that
 * broke off goes on from the length of `blobs/{etag}.incomplete` with a Range
 * request (so does one left by huggingface_hub, which names it the same), and
 * the whole file is checked against the listing's checksum (the LFS sha256,
 * or the git blob sha1 of a small file) before it becomes the blob. A file
 * that fails the check is refused and fetched once more from the start.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { once } from 'node:events';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { quoted } from '../util/printable.js';

export interface ExpectedFile {
  /** The path in the repository (for messages). */
  path: string;
  size: number;
  /** The LFS object id (sha256 of the content), when the file is in LFS. */
  sha256?: string;
  /** The git blob id (sha1 of "blob {size}\0" + content), for a file kept in git itself. */
  gitSha1?: string;
}

export interface FetchBlobOptions {
  url: string;
  headers: Record<string, string>;
  blob: string;
  expected: ExpectedFile;
  /** Bytes written (negative when a partial file is thrown away). */
  onBytes?: (delta: number) => void;
  /** Said once per event: a resume, a refused file. */
  onNote?: (note: string) => void;
  fetch?: typeof fetch;
}

export interface FetchedBlob {
  /** Bytes that were already there when this call started (a resumed download), 0 for a fresh one. */
  resumedFrom: number;
  /** Bytes that came over the network (with those a dropped connection lost in its buffers). */
  transferred: number;
  /** Files refused for a checksum that did not match. */
  refused: number;
}

/** Connection losses a single call rides out by resuming; past that the `.incomplete` file waits for the next run. */
const ATTEMPTS = 4;

export class HubHttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** The checksum the listing gives for `expected`, computed over `file`; null when it matches. */
export async function checksumMismatch(file: string, expected: ExpectedFile): Promise<string | null> {
  const size = sizeOf(file);
  if (size !== expected.size) return `${size} bytes, expected ${expected.size}`;
  const [algo, want] = expected.sha256 ? ['sha256', expected.sha256] : ['sha1', expected.gitSha1];
  if (!want) return null;
  const hash = createHash(algo!);
  if (!expected.sha256) hash.update(`blob ${size}\0`);
  await pipeline(createReadStream(file), hash);
  const got = hash.digest('hex');
  return got === want ? null : `${expected.sha256 ? 'sha256' : 'git sha1'} ${got.slice(0, 12)}..., the hub lists ${want.slice(0, 12)}...`;
}

/** Appends the response body to `file` from `offset` (0: from scratch). */
async function receive(res: Response, file: string, offset: number, onBytes?: (delta: number) => void): Promise<void> {
  if (!res.body) throw new Error('empty response');
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
  const out = createWriteStream(file, { flags: offset > 0 ? 'a' : 'w' });
  try {
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), count, out);
  } catch (err) {
    // a write still in flight when the connection dropped lands after pipeline rejects: the resume must measure the file after it
    if (!out.closed) await once(out, 'close');
    throw err;
  }
}

/** One GET from `have` bytes on; returns where the body was written from. */
async function getFrom(o: FetchBlobOptions, incomplete: string, have: number): Promise<void> {
  const res = await (o.fetch ?? fetch)(o.url, { headers: have > 0 ? { ...o.headers, Range: `bytes=${have}-` } : o.headers });
  if (res.status === 416 && have === o.expected.size) {
    await res.body?.cancel();
    return;
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw new HubHttpError(res.status, `${quoted(o.expected.path)}: the hub answered HTTP ${res.status}`);
  }
  // a server that ignores Range sends the whole file with 200: start over rather than append it
  const start = res.status === 206 ? Number(/^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1] ?? NaN) : 0;
  if (start !== have) {
    if (res.status === 206) {
      await res.body?.cancel();
      throw new HubHttpError(206, `${quoted(o.expected.path)}: asked for bytes from ${have}, the hub sent ${quoted(res.headers.get('content-range') ?? 'no Content-Range')}`);
    }
    o.onBytes?.(-have);
  }
  await receive(res, incomplete, start, o.onBytes);
}

/** Downloads `o.url` into `o.blob` (through `o.blob.incomplete`), resuming and verifying as said above. */
export async function fetchBlob(o: FetchBlobOptions): Promise<FetchedBlob> {
  const incomplete = `${o.blob}.incomplete`;
  let resumedFrom = sizeOf(incomplete);
  if (resumedFrom > o.expected.size) {
    truncateSync(incomplete, 0);
    resumedFrom = 0;
  }
  if (resumedFrom > 0) o.onNote?.(`resuming ${o.expected.path} from ${resumedFrom} of ${o.expected.size} bytes`);
  o.onBytes?.(resumedFrom);
  let transferred = 0;
  let shown = resumedFrom;
  const counted: FetchBlobOptions = {
    ...o,
    onBytes: (d) => {
      transferred += Math.max(d, 0);
      shown += d;
      o.onBytes?.(d);
    },
  };
  // bytes received but still buffered when a connection drops never reach the file: the bar follows the file
  const resync = () => {
    const actual = sizeOf(incomplete);
    if (actual !== shown) o.onBytes?.(actual - shown);
    shown = actual;
  };
  let refused = 0;
  for (;;) {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < ATTEMPTS && sizeOf(incomplete) < o.expected.size; attempt++) {
      const have = sizeOf(incomplete);
      if (attempt > 0) o.onNote?.(`connection lost in ${o.expected.path} at ${have} of ${o.expected.size} bytes (${(lastError as Error).message}): resuming`);
      try {
        await getFrom(counted, incomplete, have);
      } catch (err) {
        if (err instanceof HubHttpError) throw err;
        lastError = err;
      }
      resync();
    }
    const have = sizeOf(incomplete);
    if (have < o.expected.size) {
      throw new Error(`${quoted(o.expected.path)}: download broke off ${ATTEMPTS} times, at ${have} of ${o.expected.size} bytes (${(lastError as Error)?.message}); run the same command again to resume from there`);
    }
    const mismatch = await checksumMismatch(incomplete, o.expected);
    if (!mismatch) break;
    rmSync(incomplete, { force: true });
    o.onBytes?.(-have);
    shown = 0;
    if (++refused > 1) throw new Error(`${quoted(o.expected.path)}: refused twice, its content does not match the hub's checksum (${mismatch}); the file on the hub or the way to it is damaged`);
    o.onNote?.(`refused ${o.expected.path}: ${mismatch}; fetching it again`);
  }
  renameSync(incomplete, o.blob);
  return { resumedFrom, transferred, refused };
}
