/**
 * `--record FILE.wav`: a copy of what the output plays, written so that a
 * killed process (SIGKILL, power to the laptop is another matter) leaves a
 * playable file up to the last flush.
 *
 * Format: 32-bit float WAV (format 3, the 44-byte header node-wav and
 * encodeWav write), so the file holds exactly the samples that were played.
 *
 * Crash safety: samples collect in a ~100 ms chunk; each full chunk is
 * appended with one positioned fs.writeSync, and only after it the RIFF and
 * data sizes in the header are rewritten to cover it. The header never
 * claims more data than the file holds, so whatever instant the process
 * dies, the file parses and holds everything up to the last flush (at most
 * ~100 ms missing, well inside the one-second promise). The file starts as a
 * valid empty WAV.
 *
 * Why synchronous writes on the main thread: a flush is 38 KB (100 ms of
 * 48 kHz stereo float32) into the page cache, tens of microseconds, ten
 * times a second; a WriteStream would add a second buffer and lose the
 * ordering "data, then header" that the crash safety rests on.
 *
 * Threading model: main thread only, called from the output's pull. Errors
 * (disk full, 4 GiB WAV limit) stop the recording and are reported through
 * onError, never thrown out of write().
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { CHANNELS, SAMPLE_RATE } from '../constants.js';

const HEADER_BYTES = 44;
const RIFF_SIZE_AT = 4;
const DATA_SIZE_AT = 40;
const BYTES_PER_SAMPLE = 4;
/** RIFF sizes are 32-bit: the data may not pass 4 GiB minus the header (about 3.1 h of 48 kHz stereo float32). */
const MAX_DATA_BYTES = 0xffff_ffff - (HEADER_BYTES - 8);
/** Flush period, ms: bounds what a crash can lose and the size of each write. */
export const DEFAULT_FLUSH_MS = 100;

export interface WavTeeOptions {
  sampleRate?: number;
  /** Interleaved channels (default 2). */
  channels?: number;
  flushMs?: number;
  /** Called once when the recording stops on an error. */
  onError?: (err: Error) => void;
}

function header(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(HEADER_BYTES - 8 + dataBytes, RIFF_SIZE_AT);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(3, 20); // WAVE_FORMAT_IEEE_FLOAT
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * BYTES_PER_SAMPLE, 28);
  h.writeUInt16LE(channels * BYTES_PER_SAMPLE, 32);
  h.writeUInt16LE(BYTES_PER_SAMPLE * 8, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, DATA_SIZE_AT);
  return h;
}

export class WavTee {
  readonly sampleRate: number;
  readonly channels: number;
  /** Bytes of samples on disk (covered by the header). */
  private dataBytes = 0;
  private readonly chunk: Float32Array;
  private chunkFill = 0;
  private fd: number | null;
  private error: Error | null = null;
  private readonly sizeField = Buffer.alloc(4);
  private readonly onError?: (err: Error) => void;

  /** Creates (or truncates) `path` as an empty WAV; throws if it cannot be written. */
  constructor(
    readonly path: string,
    opts: WavTeeOptions = {},
  ) {
    this.sampleRate = opts.sampleRate ?? SAMPLE_RATE;
    this.channels = opts.channels ?? CHANNELS;
    if (!Number.isInteger(this.sampleRate) || this.sampleRate < 1) throw new RangeError(`WAV sample rate must be a positive integer, got: ${this.sampleRate}`);
    if (!Number.isInteger(this.channels) || this.channels < 1 || this.channels > 64) throw new RangeError(`WAV channels must be an integer in [1, 64], got: ${this.channels}`);
    const flushMs = opts.flushMs ?? DEFAULT_FLUSH_MS;
    if (!(flushMs > 0 && flushMs <= 1000)) throw new RangeError(`WAV flush period must be in (0, 1000] ms, got: ${flushMs}`);
    this.onError = opts.onError;
    this.chunk = new Float32Array(Math.max(1, Math.round((this.sampleRate * flushMs) / 1000)) * this.channels);
    this.fd = openSync(path, 'w');
    writeSync(this.fd, header(this.sampleRate, this.channels, 0), 0, HEADER_BYTES, 0);
  }

  /** Frames on disk, covered by the header. */
  get framesWritten(): number {
    return this.dataBytes / (this.channels * BYTES_PER_SAMPLE);
  }

  /** Frames accepted (on disk or waiting for the next flush). */
  get framesRecorded(): number {
    return this.framesWritten + this.chunkFill / this.channels;
  }

  /** The error that stopped the recording, if one did. */
  get failure(): Error | null {
    return this.error;
  }

  get open(): boolean {
    return this.fd !== null;
  }

  /** Appends interleaved samples; flushes each full chunk to disk and then updates the header. */
  write(interleaved: Float32Array): void {
    if (this.fd === null) return;
    let from = 0;
    while (from < interleaved.length) {
      const n = Math.min(interleaved.length - from, this.chunk.length - this.chunkFill);
      this.chunk.set(interleaved.subarray(from, from + n), this.chunkFill);
      this.chunkFill += n;
      from += n;
      if (this.chunkFill === this.chunk.length) this.flush();
      if (this.fd === null) return;
    }
  }

  /** Writes what is buffered (whole frames) and rewrites the header sizes after it. */
  flush(): void {
    if (this.fd === null) return;
    const frames = Math.floor(this.chunkFill / this.channels);
    const bytes = frames * this.channels * BYTES_PER_SAMPLE;
    if (bytes === 0) return;
    if (this.dataBytes + bytes > MAX_DATA_BYTES) {
      this.stop(new Error(`recording ${this.path} stopped: a WAV file holds at most 4 GiB of samples`));
      return;
    }
    try {
      const data = Buffer.from(this.chunk.buffer, this.chunk.byteOffset, bytes);
      let done = 0;
      while (done < bytes) done += writeSync(this.fd, data, done, bytes - done, HEADER_BYTES + this.dataBytes + done);
      this.dataBytes += bytes;
      this.writeSize(RIFF_SIZE_AT, HEADER_BYTES - 8 + this.dataBytes);
      this.writeSize(DATA_SIZE_AT, this.dataBytes);
    } catch (err) {
      this.stop(new Error(`recording ${this.path} stopped: ${(err as Error).message}`));
      return;
    }
    const rest = this.chunkFill - frames * this.channels;
    this.chunk.copyWithin(0, frames * this.channels, this.chunkFill);
    this.chunkFill = rest;
  }

  /** Flushes and closes the file; the header then covers every whole frame written. Safe to call twice. */
  close(): void {
    if (this.fd === null) return;
    this.flush();
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }

  private writeSize(at: number, value: number): void {
    this.sizeField.writeUInt32LE(value, 0);
    writeSync(this.fd!, this.sizeField, 0, 4, at);
  }

  private stop(err: Error): void {
    this.error = err;
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // already reporting the first error
      }
    }
    try {
      this.onError?.(err);
    } catch {
      // a throwing listener must not reach the audio path
    }
  }
}
