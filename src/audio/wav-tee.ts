/**
 * A copy of what the output plays, written as a WAV file so that a killed
 * process (SIGKILL; power to the laptop is another matter), a full disk or a
 * deleted folder leaves a playable file up to the last flush.
 *
 *   const tee = new WavTee('take.wav', { format: 's24', onError: (e) => say(e.message) });
 *   tee.write(block);   // from the output's pull, any block size
 *   tee.close();        // the header then covers every whole frame
 *
 * Formats (`--record-format`):
 * - f32 (default): 32-bit float, format 3: exactly the samples that were
 *   played. Header: fmt (18 bytes, cbSize 0), fact (sample frames), a 2-byte
 *   JUNK chunk, data: 68 bytes. The JUNK chunk puts the samples at a multiple
 *   of 4 bytes, as node-wav's Float32Array view needs (sox's own 58-byte float
 *   header fails there); readers skip unknown chunks, sox without a word.
 * - s24, s16: integer PCM, format 1, the classic 44-byte header (fmt of 16
 *   bytes), which every tool opens, Python's `wave` included. Samples are
 *   clamped to [-1, 1] and scaled by 2^(bits-1) (the scale node-wav, sox and
 *   libsndfile read with), +1.0 clipping to the largest code.
 *   s16 is TPDF-dithered (two uniform variates, +-1 LSB): plain rounding at
 *   16 bits turns quiet tails and fades into distortion correlated with the
 *   signal, dither trades it for a steady noise floor near -96 dBFS, at two
 *   random numbers a sample. The generator is a fixed-seed xorshift, so the
 *   same audio gives the same file. s24 is only rounded: its step (-138 dBFS)
 *   is below any converter's own noise, dither there would only add noise.
 *
 * Crash safety: samples collect in a ~100 ms chunk; each full chunk is
 * appended with positioned writes, and only after it the header (RIFF size,
 * fact frames and data size together, one 44- or 68-byte write at offset 0)
 * is rewritten to cover it. The header never claims more data than the file
 * holds, so whatever instant the process dies, the file parses and holds
 * everything up to the last flush (at most ~100 ms missing). The file starts
 * as a valid empty WAV.
 *
 * Write errors (disk full, I/O error, the 4 GiB WAV limit) stop the take:
 * the file is cut back to what the header covers (a failed write may have
 * left part of a chunk), closed, and onError gets one message that names the
 * file, says what happened and how much the file keeps. A deleted file or
 * folder is no write error on Linux (writes to an unlinked file succeed and
 * vanish on close), so once a second a flush asks fstat whether the file
 * still has a name (nlink > 0) and stops the take when it has none.
 *
 * Why synchronous writes on the main thread: a flush is at most 38 KB (100 ms
 * of 48 kHz stereo float32) into the page cache, tens of microseconds, ten
 * times a second; a WriteStream would add a second buffer and lose the
 * ordering "data, then header" that the crash safety rests on.
 *
 * Threading model: main thread only, called from the output's pull. Nothing
 * is thrown out of write(), flush() or close(); only the constructor throws
 * (bad options, a file that cannot be created).
 */
import { closeSync, fstatSync, ftruncateSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { CHANNELS, SAMPLE_RATE } from '../constants.js';
import { describeFsError, errnoCode } from '../util/fs-errors.js';

export const RECORD_FORMATS = ['f32', 's24', 's16'] as const;
/** `--record-format`: 32-bit float, or 24/16-bit integer PCM. */
export type RecordFormat = (typeof RECORD_FORMATS)[number];
export const DEFAULT_RECORD_FORMAT: RecordFormat = 'f32';

/** Flush period, ms: bounds what a crash can lose and the size of each write. */
export const DEFAULT_FLUSH_MS = 100;
/** How often a flush asks whether the file was deleted, ms: fstat is cheap, but not ten times a second for nothing. */
export const GONE_CHECK_MS = 1000;

export interface WavTeeOptions {
  sampleRate?: number;
  /** Interleaved channels (default 2). */
  channels?: number;
  /** Sample format on disk (default f32). */
  format?: RecordFormat;
  flushMs?: number;
  /** Replace an existing file (default false: the file must not exist, so a recording never destroys one). */
  overwrite?: boolean;
  /** Clock for the once-a-second deleted-file check, ms (default performance.now); injectable for tests. */
  now?: () => number;
  /** Called once when the recording stops on an error; the message names the file. */
  onError?: (err: Error) => void;
}

interface Layout {
  /** WAVE_FORMAT_PCM (1) or WAVE_FORMAT_IEEE_FLOAT (3). */
  tag: 1 | 3;
  bytesPerSample: number;
  headerBytes: number;
  /** Where the fact chunk's frame count sits (float only), and the data chunk's size. */
  factAt: number | null;
  dataSizeAt: number;
}

const LAYOUTS: Record<RecordFormat, Layout> = {
  // RIFF(12) fmt(8+18) fact(8+4) JUNK(8+2) data(8)
  f32: { tag: 3, bytesPerSample: 4, headerBytes: 68, factAt: 46, dataSizeAt: 64 },
  // RIFF(12) fmt(8+16) data(8)
  s24: { tag: 1, bytesPerSample: 3, headerBytes: 44, factAt: null, dataSizeAt: 40 },
  s16: { tag: 1, bytesPerSample: 2, headerBytes: 44, factAt: null, dataSizeAt: 40 },
};

const RIFF_SIZE_AT = 4;
const LITTLE_ENDIAN = endianness() === 'LE';
const ZERO = Buffer.alloc(1);

/** The header of an empty file; the three size fields are rewritten in place as data arrives. */
function emptyHeader(layout: Layout, sampleRate: number, channels: number): Buffer {
  const h = Buffer.alloc(layout.headerBytes);
  const blockAlign = channels * layout.bytesPerSample;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(layout.headerBytes - 8, RIFF_SIZE_AT);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(layout.tag === 3 ? 18 : 16, 16);
  h.writeUInt16LE(layout.tag, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(layout.bytesPerSample * 8, 34);
  let at = 36;
  if (layout.tag === 3) {
    // Every format but PCM must carry cbSize (0: no extension) and a fact chunk (sox warns without them)
    h.writeUInt16LE(0, at);
    h.write('fact', 38, 'ascii');
    h.writeUInt32LE(4, 42);
    h.writeUInt32LE(0, 46);
    h.write('JUNK', 50, 'ascii');
    h.writeUInt32LE(2, 54);
    at = 60;
  }
  h.write('data', at, 'ascii');
  h.writeUInt32LE(0, at + 4);
  return h;
}

export class WavTee {
  readonly sampleRate: number;
  readonly channels: number;
  readonly format: RecordFormat;
  private readonly layout: Layout;
  private readonly blockAlign: number;
  /** RIFF sizes are 32-bit: the data may not pass 4 GiB minus the header and a pad byte (about 3.1 h of 48 kHz stereo float32). */
  private readonly maxDataBytes: number;
  /** Bytes of samples on disk and covered by the header. */
  private dataBytes = 0;
  private readonly chunk: Float32Array;
  private chunkFill = 0;
  /** Encoded samples of one chunk (integer formats, or float on a big-endian machine). */
  private readonly encoded: Buffer | null;
  private readonly header: Buffer;
  private fd: number | null;
  private error: Error | null = null;
  private readonly onError?: (err: Error) => void;
  private readonly now: () => number;
  private lastGoneCheck: number;
  /** xorshift32 state for the s16 dither. */
  private rng = 0x2545f491;

  /** Creates `path` as an empty WAV; throws (naming the file and why) if it cannot, or if it exists and overwrite is off. */
  constructor(
    readonly path: string,
    opts: WavTeeOptions = {},
  ) {
    this.sampleRate = opts.sampleRate ?? SAMPLE_RATE;
    this.channels = opts.channels ?? CHANNELS;
    this.format = opts.format ?? DEFAULT_RECORD_FORMAT;
    if (!Number.isInteger(this.sampleRate) || this.sampleRate < 1) throw new RangeError(`WAV sample rate must be a positive integer, got: ${this.sampleRate}`);
    if (!Number.isInteger(this.channels) || this.channels < 1 || this.channels > 64) throw new RangeError(`WAV channels must be an integer in [1, 64], got: ${this.channels}`);
    if (!RECORD_FORMATS.includes(this.format)) throw new RangeError(`WAV format must be one of ${RECORD_FORMATS.join(', ')}, got: ${String(this.format)}`);
    const flushMs = opts.flushMs ?? DEFAULT_FLUSH_MS;
    if (!(flushMs > 0 && flushMs <= 1000)) throw new RangeError(`WAV flush period must be in (0, 1000] ms, got: ${flushMs}`);
    this.layout = LAYOUTS[this.format];
    this.blockAlign = this.channels * this.layout.bytesPerSample;
    this.maxDataBytes = 0xffff_ffff - (this.layout.headerBytes - 8) - 1;
    this.onError = opts.onError;
    this.now = opts.now ?? (() => performance.now());
    this.lastGoneCheck = this.now();
    this.chunk = new Float32Array(Math.max(1, Math.round((this.sampleRate * flushMs) / 1000)) * this.channels);
    this.encoded = this.format === 'f32' && LITTLE_ENDIAN ? null : Buffer.alloc(this.chunk.length * this.layout.bytesPerSample);
    this.header = emptyHeader(this.layout, this.sampleRate, this.channels);

    const exclusive = !opts.overwrite;
    try {
      this.fd = openSync(path, exclusive ? 'wx' : 'w');
    } catch (err) {
      throw withCode(new Error(`cannot create recording ${path}: ${describeFsError(err)}`, { cause: err }), err);
    }
    try {
      writeAll(this.fd, this.header, 0);
    } catch (err) {
      closeSync(this.fd);
      // an empty file that is not even a WAV helps nobody; one we did not create exclusively is left as it is
      if (exclusive) {
        try {
          unlinkSync(path);
        } catch {
          // the open error below says more
        }
      }
      throw withCode(new Error(`cannot create recording ${path}: ${describeFsError(err)}`, { cause: err }), err);
    }
  }

  /** Frames on disk, covered by the header. */
  get framesWritten(): number {
    return this.dataBytes / this.blockAlign;
  }

  /** Frames accepted (on disk or waiting for the next flush). */
  get framesRecorded(): number {
    return this.framesWritten + Math.floor(this.chunkFill / this.channels);
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

  /**
   * Appends `channels` channels from `first` on of interleaved frames of
   * `stride` channels (a stem's pair of a stems block): picked while
   * buffering, so a stem costs no copy of the block.
   */
  writeFrom(block: Float32Array, stride: number, first: number): void {
    const ch = this.channels;
    if (first < 0 || first + ch > stride) throw new RangeError(`channels ${first}..${first + ch - 1} are not in a frame of ${stride}`);
    const frames = Math.floor(block.length / stride);
    let f = 0;
    while (f < frames && this.fd !== null) {
      const n = Math.min(frames - f, Math.floor((this.chunk.length - this.chunkFill) / ch));
      const c0 = this.chunkFill;
      for (let i = 0; i < n; i++) {
        const from = (f + i) * stride + first;
        for (let c = 0; c < ch; c++) this.chunk[c0 + i * ch + c] = block[from + c];
      }
      this.chunkFill += n * ch;
      f += n;
      if (this.chunkFill + ch > this.chunk.length) this.flush();
    }
  }

  /** Writes what is buffered (whole frames), then rewrites the header to cover it. */
  flush(): void {
    if (this.fd === null) return;
    if (this.goneNow()) return;
    const frames = Math.floor(this.chunkFill / this.channels);
    const samples = frames * this.channels;
    const bytes = frames * this.blockAlign;
    if (bytes === 0) return;
    if (this.dataBytes + bytes > this.maxDataBytes) {
      const hours = this.maxDataBytes / this.blockAlign / this.sampleRate / 3600;
      this.fail(`a WAV file holds at most 4 GiB (${hours.toFixed(1)} h at this rate and format)`);
      return;
    }
    try {
      writeAll(this.fd, this.encode(samples), this.layout.headerBytes + this.dataBytes);
      this.writeHeader(this.dataBytes + bytes, 0);
    } catch (err) {
      this.fail(describeFsError(err));
      return;
    }
    // only now is the chunk the header's: a failure above leaves dataBytes at what the file on disk covers
    this.dataBytes += bytes;
    this.chunk.copyWithin(0, samples, this.chunkFill);
    this.chunkFill -= samples;
  }

  /** Flushes and closes the file; the header then covers every whole frame written. Safe to call twice. */
  close(): void {
    if (this.fd === null) return;
    this.flush();
    if (this.fd === null || this.goneNow(true)) return;
    const fd = this.fd;
    try {
      // RIFF chunks have even sizes: an odd data chunk (s24 with an odd channel count) gets a pad byte the RIFF size counts
      if (this.dataBytes % 2 === 1) {
        writeAll(fd, ZERO, this.layout.headerBytes + this.dataBytes);
        this.writeHeader(this.dataBytes, 1);
      }
    } catch (err) {
      this.fail(describeFsError(err));
      return;
    }
    this.fd = null;
    try {
      closeSync(fd);
    } catch (err) {
      this.report(new Error(`recording ${this.path}: closing the file failed: ${describeFsError(err)}`));
    }
  }

  /** Rewrites the whole header in one write, so a reader never sees half of an update. */
  private writeHeader(dataBytes: number, pad: number): void {
    const { factAt, dataSizeAt, headerBytes } = this.layout;
    this.header.writeUInt32LE(headerBytes - 8 + dataBytes + pad, RIFF_SIZE_AT);
    if (factAt !== null) this.header.writeUInt32LE(dataBytes / this.blockAlign, factAt);
    this.header.writeUInt32LE(dataBytes, dataSizeAt);
    writeAll(this.fd!, this.header, 0);
  }

  /** The first `samples` of the chunk as the bytes the format stores. */
  private encode(samples: number): Buffer {
    const c = this.chunk;
    const out = this.encoded;
    if (out === null) return Buffer.from(c.buffer, c.byteOffset, samples * 4);
    if (this.format === 'f32') {
      Buffer.from(c.buffer, c.byteOffset, samples * 4).copy(out);
      return out.subarray(0, samples * 4).swap32();
    }
    if (this.format === 's16') {
      let s = this.rng;
      for (let i = 0, j = 0; i < samples; i++, j += 2) {
        const x = c[i];
        // TPDF: the difference of two uniform variates in [0, 1), in LSBs
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        const u1 = (s >>> 0) / 4294967296;
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        const u2 = (s >>> 0) / 4294967296;
        // NaN (x !== x) records as silence rather than as whatever the cast makes of it
        let v = x !== x ? 0 : Math.round((x > 1 ? 1 : x < -1 ? -1 : x) * 32768 + u1 - u2);
        v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        out[j] = v & 0xff;
        out[j + 1] = (v >> 8) & 0xff;
      }
      this.rng = s;
      return out.subarray(0, samples * 2);
    }
    for (let i = 0, j = 0; i < samples; i++, j += 3) {
      const x = c[i];
      let v = x !== x ? 0 : Math.round((x > 1 ? 1 : x < -1 ? -1 : x) * 8388608);
      v = v > 8388607 ? 8388607 : v;
      out[j] = v & 0xff;
      out[j + 1] = (v >> 8) & 0xff;
      out[j + 2] = (v >> 16) & 0xff;
    }
    return out.subarray(0, samples * 3);
  }

  /** Stops the take when the file lost its last name (deleted, or its folder removed); at most once a GONE_CHECK_MS unless forced. */
  private goneNow(force = false): boolean {
    const t = this.now();
    // a clock that went backwards counts as due, so a jump cannot switch the check off
    if (!force && t - this.lastGoneCheck < GONE_CHECK_MS && t >= this.lastGoneCheck) return false;
    this.lastGoneCheck = t;
    let nlink: number;
    try {
      nlink = fstatSync(this.fd!).nlink;
    } catch (err) {
      this.fail(describeFsError(err));
      return true;
    }
    if (nlink > 0) return false;
    this.stop(new Error(`recording ${this.path} stopped: the file is gone (deleted, or its folder removed, during the take); what it held is lost`), false);
    return true;
  }

  /** Stops on a write error, keeping the file playable up to what the header covers. */
  private fail(why: string): void {
    const seconds = (this.framesWritten / this.sampleRate).toFixed(1);
    this.stop(new Error(`recording ${this.path} stopped: ${why}; the file keeps the first ${seconds} s and plays`), true);
  }

  private stop(err: Error, cutBack: boolean): void {
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) {
      try {
        // a failed write can leave part of a chunk past the data the header covers: drop it, so the file ends where the WAV does
        if (cutBack) ftruncateSync(fd, this.layout.headerBytes + this.dataBytes);
      } catch {
        // readers stop at the data chunk's size anyway
      }
      try {
        closeSync(fd);
      } catch {
        // already reporting the first error
      }
    }
    this.report(err);
  }

  private report(err: Error): void {
    this.error ??= err;
    try {
      this.onError?.(err);
    } catch {
      // a throwing listener must not reach the audio path
    }
  }
}

/** pwrite until all of `buf` is on disk: a short write (a disk filling up) goes on, the next call then throws. */
function writeAll(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, position + done);
}

/** Keeps the errno code on a reworded error, so callers can still tell EEXIST from the rest. */
function withCode(err: Error, cause: unknown): Error {
  const code = errnoCode(cause);
  if (code) (err as NodeJS.ErrnoException).code = code;
  return err;
}
