/** The crash-safe WAV tee behind `--record FILE.wav`: formats, headers other programs accept, and what a full disk or a deleted folder leaves. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWav, encodeWav } from '../../src/audio/wav.js';
import { RECORD_FORMATS, WavTee, type RecordFormat } from '../../src/audio/wav-tee.js';
import { tempDir } from '../helpers/cli.js';
import { mountSmallDisk } from '../helpers/tmpfs.js';
import { pythonMissing, pythonWave, riffChunks, soxMissing, soxRaw } from '../helpers/wav-readers.js';

const RATE = 48_000;

/** decodeWav on a copy at offset 0: node-wav 0.0.2 misreads a Buffer that starts inside a larger ArrayBuffer (Node pools files under 4 KB). */
function readWav(path: string) {
  return decodeWav(new Uint8Array(readFileSync(path)));
}

/** Deterministic stereo test samples, float32-exact: frame n. */
function sampleAt(n: number): [number, number] {
  return [Math.fround(0.5 * Math.sin(n * 0.0123)), Math.fround(((n * 7919) % 1000) / 1000 - 0.5)];
}

function interleaved(from: number, frames: number): Float32Array {
  const out = new Float32Array(frames * 2);
  for (let i = 0; i < frames; i++) [out[2 * i], out[2 * i + 1]] = sampleAt(from + i);
  return out;
}

function expectSignal(channels: Float32Array[], frames: number): void {
  const mismatches: number[] = [];
  for (let n = 0; n < frames && mismatches.length < 5; n++) {
    const [l, r] = sampleAt(n);
    if (channels[0][n] !== l || channels[1][n] !== r) mismatches.push(n);
  }
  expect(mismatches, 'frames that differ from what was written').toEqual([]);
}

describe('WavTee', () => {
  it('is a valid WAV from the start, covers each flushed chunk while open, and holds every frame after close', () => {
    const path = join(tempDir(), 'rec.wav');
    const tee = new WavTee(path, { sampleRate: RATE, flushMs: 100 });
    expect(readWav(path).channels[0].length).toBe(0);
    // odd block sizes, across chunk boundaries
    let n = 0;
    for (const frames of [1, 333, 4799, 480, 5000, 7]) {
      tee.write(interleaved(n, frames));
      n += frames;
    }
    expect(tee.framesRecorded).toBe(n);
    // 10,620 frames written: two 4,800-frame chunks are on disk and in the header
    expect(tee.framesWritten).toBe(9600);
    const mid = readWav(path);
    expect(mid.sampleRate).toBe(RATE);
    expect(mid.channels[0].length).toBe(9600);
    expectSignal(mid.channels, 9600);
    tee.close();
    tee.close();
    const done = readWav(path);
    expect(done.channels[0].length).toBe(n);
    expectSignal(done.channels, n);
    expect(statSync(path).size).toBe(68 + n * 8);
    tee.write(interleaved(0, 10)); // ignored once closed
    expect(statSync(path).size).toBe(68 + n * 8);
  });

  it('says what is wrong with its options, and throws when the file cannot be created', () => {
    expect(() => new WavTee(join(tempDir(), 'x.wav'), { flushMs: 5000 })).toThrow('WAV flush period must be in (0, 1000] ms, got: 5000');
    expect(() => new WavTee(join(tempDir(), 'x.wav'), { format: 'f64' as RecordFormat })).toThrow('WAV format must be one of f32, s24, s16, got: f64');
    expect(() => new WavTee('/proc/smitin-no.wav')).toThrow(/cannot create recording \/proc\/smitin-no\.wav: .*(ENOENT|EACCES|EROFS)/);
    expect(() => new WavTee(join(tempDir(), 'no-such-folder', 'x.wav'))).toThrow(/no-such-folder\/x\.wav: the folder does not exist \(ENOENT\)/);
  });

  it('never replaces a file unless asked: an existing file is kept (EEXIST), overwrite replaces it', () => {
    const path = join(tempDir(), 'take.wav');
    writeFileSync(path, 'an earlier take');
    let thrown: unknown;
    try {
      new WavTee(path);
    } catch (err) {
      thrown = err;
    }
    expect((thrown as Error).message).toMatch(/cannot create recording .*take\.wav: it already exists \(EEXIST\)/);
    expect((thrown as NodeJS.ErrnoException).code).toBe('EEXIST');
    expect(readFileSync(path, 'utf8')).toBe('an earlier take');
    const tee = new WavTee(path, { overwrite: true });
    tee.write(interleaved(0, 100));
    tee.close();
    expect(readWav(path).channels[0].length).toBe(100);
  });

  it('leaves a playable file holding all but at most the last second when the process is killed with SIGKILL', async () => {
    const path = join(tempDir(), 'killed.wav');
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const src = (p: string) => pathToFileURL(join(root, p)).href;
    // The child records the same deterministic signal at the real-time pace of the null output.
    const child = `
      import { WavTee } from '${src('src/audio/wav-tee.ts')}';
      import { openNullOutput } from '${src('src/audio/output.ts')}';
      const sampleAt = ${sampleAt.toString()};
      const tee = new WavTee(process.env.TEE_PATH);
      let n = 0;
      const output = openNullOutput({ bufferFrames: 480 });
      output.start((frames) => {
        const b = new Float32Array(frames * 2);
        for (let i = 0; i < frames; i++, n++) [b[2 * i], b[2 * i + 1]] = sampleAt(n);
        tee.write(b);
        if (n === frames) process.stdout.write('started\\n');
        return b;
      });
    `;
    const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
      env: { ...process.env, TEE_PATH: path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const startedAt = await new Promise<number>((resolve, reject) => {
      proc.stdout.on('data', (d) => String(d).includes('started') && resolve(performance.now()));
      proc.once('exit', (code) => reject(new Error(`child exited with ${code} before starting: ${stderr}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, 2700));
    const elapsed = (performance.now() - startedAt) / 1000;
    proc.kill('SIGKILL');
    await new Promise((resolve) => proc.once('exit', resolve));

    const wav = readWav(path);
    const frames = wav.channels[0].length;
    console.log(`killed after ${elapsed.toFixed(3)} s of recording: the file holds ${(frames / RATE).toFixed(3)} s`);
    expect(wav.sampleRate).toBe(RATE);
    expect(frames).toBeGreaterThanOrEqual((elapsed - 1) * RATE);
    expect(frames).toBeLessThanOrEqual((elapsed + 0.1) * RATE);
    expectSignal(wav.channels, frames);
  });
});

describe('decodeWav', () => {
  it('reads a small WAV held inside a larger buffer (as Node returns files under 4 KiB)', () => {
    const bytes = encodeWav([Float32Array.of(0.25, -0.5), Float32Array.of(0.5, 1)], 48000);
    const pool = new Uint8Array(8192);
    pool.set(bytes, 100);
    const wav = decodeWav(pool.subarray(100, 100 + bytes.length));
    expect(wav.sampleRate).toBe(48000);
    expect(Array.from(wav.channels[0])).toEqual([0.25, -0.5]);
    expect(Array.from(wav.channels[1])).toEqual([0.5, 1]);
  });
});

/** What each format stores for a float sample: the codes other programs must read back. */
const FULL_SCALE: Record<Exclude<RecordFormat, 'f32'>, number> = { s24: 8_388_608, s16: 32_768 };
const BYTES: Record<RecordFormat, number> = { f32: 4, s24: 3, s16: 2 };

function intAt(data: Buffer, i: number, format: 's16' | 's24'): number {
  return format === 's16' ? data.readInt16LE(2 * i) : data.readIntLE(3 * i, 3);
}

/** Checks each stored integer against the float that was written: s24 rounds, s16 rounds after TPDF dither (+-1 LSB). */
function expectCodes(data: Buffer, format: 's16' | 's24', frames: number): void {
  const bad: string[] = [];
  const limit = format === 's16' ? 1.5 : 0.5;
  for (let n = 0; n < frames && bad.length < 5; n++) {
    const want = sampleAt(n);
    for (let c = 0; c < 2; c++) {
      const code = intAt(data, 2 * n + c, format);
      if (Math.abs(code - want[c] * FULL_SCALE[format]) > limit) bad.push(`frame ${n} ch ${c}: ${code} for ${want[c]}`);
    }
  }
  expect(bad, 'samples stored further from what was written than the quantisation allows').toEqual([]);
}

/** The file's data chunk bytes, as the header says. */
function dataOf(path: string): Buffer {
  const data = riffChunks(path).find((c) => c.id === 'data')!;
  return readFileSync(path).subarray(data.at, data.at + data.size);
}

describe('WavTee formats (--record-format f32 | s24 | s16)', () => {
  const noSox = soxMissing();
  const noPython = pythonMissing();

  it.each(RECORD_FORMATS)('%s: a conformant header (fmt, fact for float), samples where node-wav reads them', (format) => {
    const path = join(tempDir(), `${format}.wav`);
    const tee = new WavTee(path, { sampleRate: RATE, format });
    const frames = 12_345;
    tee.write(interleaved(0, frames));
    tee.close();
    const chunks = riffChunks(path);
    const b = readFileSync(path);
    const fmt = chunks.find((c) => c.id === 'fmt ')!;
    expect(b.readUInt16LE(fmt.at + 2)).toBe(2);
    expect(b.readUInt32LE(fmt.at + 4)).toBe(RATE);
    expect(b.readUInt32LE(fmt.at + 8)).toBe(RATE * 2 * BYTES[format]);
    expect(b.readUInt16LE(fmt.at + 12)).toBe(2 * BYTES[format]);
    expect(b.readUInt16LE(fmt.at + 14)).toBe(8 * BYTES[format]);
    const data = chunks.at(-1)!;
    expect(data).toMatchObject({ id: 'data', size: frames * 2 * BYTES[format] });
    expect(b.readUInt32LE(4)).toBe(b.length - 8);
    if (format === 'f32') {
      // format 3 carries cbSize = 0 and a fact chunk with the frame count; samples start 4-aligned (node-wav's Float32Array view)
      expect(chunks.map((c) => c.id)).toEqual(['fmt ', 'fact', 'JUNK', 'data']);
      expect(fmt.size).toBe(18);
      expect(b.readUInt16LE(fmt.at)).toBe(3);
      expect(b.readUInt16LE(fmt.at + 16)).toBe(0);
      expect(b.readUInt32LE(chunks[1].at)).toBe(frames);
      expect(data.at % 4).toBe(0);
      expectSignal(readWav(path).channels, frames);
    } else {
      // integer PCM: the classic 44-byte header every reader knows
      expect(chunks.map((c) => c.id)).toEqual(['fmt ', 'data']);
      expect(fmt.size).toBe(16);
      expect(b.readUInt16LE(fmt.at)).toBe(1);
      expect(data.at).toBe(44);
      expectCodes(dataOf(path), format, frames);
      const wav = readWav(path);
      const lsb = 1 / FULL_SCALE[format];
      let worst = 0;
      for (let n = 0; n < frames; n++) for (let c = 0; c < 2; c++) worst = Math.max(worst, Math.abs(wav.channels[c][n] - sampleAt(n)[c]));
      // rounding (0.5), dither (s16: 1) and node-wav's 2^(bits-1)-1 divisor for positive codes (< 1)
      expect(worst / lsb).toBeLessThan(format === 's16' ? 3 : 2);
    }
  });

  it.skipIf(noSox !== null).each(RECORD_FORMATS)(`%s: sox reads it without a warning, sample for sample${noSox ? ` (skipped: ${noSox})` : ''}`, (format) => {
    const path = join(tempDir(), `${format}.wav`);
    const tee = new WavTee(path, { sampleRate: RATE, format });
    tee.write(interleaved(0, 9_999));
    tee.close();
    const sox = soxRaw(path);
    expect(sox.stderr).toBe('');
    expect(sox.status).toBe(0);
    const data = dataOf(path);
    expect(sox.raw.length).toBe(data.length);
    if (format !== 'f32') {
      expect(sox.raw.equals(data)).toBe(true);
      return;
    }
    // sox carries samples as 32-bit integers inside: a float comes back to within a float32 step at full scale
    const got = new Float32Array(sox.raw.buffer.slice(sox.raw.byteOffset, sox.raw.byteOffset + sox.raw.length));
    const want = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst).toBeLessThanOrEqual(2 ** -24);
  });

  it.skipIf(noPython !== null).each(['s24', 's16'] as const)(`%s: Python's wave module opens it and reads every frame${noPython ? ` (skipped: ${noPython})` : ''}`, (format) => {
    const path = join(tempDir(), `${format}.wav`);
    const tee = new WavTee(path, { sampleRate: RATE, format });
    tee.write(interleaved(0, 4_321));
    tee.close();
    const w = pythonWave(path);
    expect({ channels: w.channels, width: w.width, rate: w.rate, frames: w.frames }).toEqual({ channels: 2, width: BYTES[format], rate: RATE, frames: 4_321 });
    expectCodes(w.data, format, 4_321);
  });

  it.each(['s24', 's16'] as const)('%s: clamps out-of-range samples to full scale and records NaN as silence', (format) => {
    const path = join(tempDir(), `${format}.wav`);
    const tee = new WavTee(path, { sampleRate: RATE, format });
    tee.write(Float32Array.of(1, -1, 7, -7, Infinity, -Infinity, NaN, 0.25));
    tee.close();
    const data = dataOf(path);
    const max = FULL_SCALE[format] - 1;
    const codes = Array.from({ length: 8 }, (_, i) => intAt(data, i, format));
    expect(codes.slice(0, 7)).toEqual([max, -max - 1, max, -max - 1, max, -max - 1, 0]);
    expect(Math.abs(codes[7] - FULL_SCALE[format] / 4)).toBeLessThanOrEqual(1);
  });

  it('s16 dither is TPDF of +-1 LSB around the rounded value, and the same audio gives the same file', () => {
    const dir = tempDir();
    const quiet = new Float32Array(2 * 48_000).fill(0.3 / 32768);
    const files = ['a.wav', 'b.wav'].map((f) => {
      const tee = new WavTee(join(dir, f), { sampleRate: RATE, format: 's16' });
      tee.write(quiet);
      tee.close();
      return readFileSync(join(dir, f));
    });
    expect(files[0].equals(files[1])).toBe(true);
    const data = dataOf(join(dir, 'a.wav'));
    const hist = new Map<number, number>();
    for (let i = 0; i < quiet.length; i++) hist.set(intAt(data, i, 's16'), (hist.get(intAt(data, i, 's16')) ?? 0) + 1);
    expect([...hist.keys()].sort((a, b) => a - b)).toEqual([-1, 0, 1]);
    // the mean of dithered codes tracks the sub-LSB level rounding would lose (0.3 LSB -> 0)
    const mean = [...hist].reduce((a, [code, n]) => a + code * n, 0) / quiet.length;
    expect(mean).toBeCloseTo(0.3, 1);
  });

  it('s24 mono with an odd number of frames: the data chunk gets its pad byte, and readers agree', () => {
    const path = join(tempDir(), 'mono.wav');
    const tee = new WavTee(path, { sampleRate: RATE, channels: 1, format: 's24' });
    tee.write(new Float32Array(1001).fill(0.5));
    tee.close();
    const b = readFileSync(path);
    expect(b.length).toBe(44 + 3003 + 1);
    expect(b.readUInt32LE(4)).toBe(b.length - 8);
    expect(b.readUInt32LE(40)).toBe(3003);
    if (!noPython) expect(pythonWave(path).frames).toBe(1001);
    if (!noSox) expect(soxRaw(path).stderr).toBe('');
    expect(readWav(path).channels[0].length).toBe(1001);
  });

  it.each(RECORD_FORMATS)('%s: a take interrupted after some flushes (never closed) parses in every reader and holds what was flushed', (format) => {
    const path = join(tempDir(), `${format}-open.wav`);
    const tee = new WavTee(path, { sampleRate: RATE, format, flushMs: 50 });
    tee.write(interleaved(0, 10_000));
    expect(tee.framesWritten).toBe(9_600);
    const b = readFileSync(path);
    const chunks = riffChunks(path);
    expect(chunks.at(-1)).toMatchObject({ id: 'data', size: 9_600 * 2 * BYTES[format] });
    if (format === 'f32') expect(b.readUInt32LE(chunks[1].at)).toBe(9_600);
    expect(b.readUInt32LE(4)).toBe(b.length - 8);
    expect(readWav(path).channels[0].length).toBe(9_600);
    if (!noSox) {
      const sox = soxRaw(path);
      expect(sox.stderr).toBe('');
      expect(sox.raw.length).toBe(9_600 * 2 * BYTES[format]);
    }
    if (!noPython && format !== 'f32') expect(pythonWave(path).frames).toBe(9_600);
    tee.close();
  });
});

describe('WavTee when the disk fills or the folder goes', () => {
  // 256 KiB: about 0.7 s of 48 kHz stereo float32
  const disk = mountSmallDisk(256);
  const skip = 'reason' in disk ? disk.reason : null;
  afterAll(() => {
    if (!('reason' in disk)) disk.unmount();
  });

  it.skipIf(skip !== null).each(RECORD_FORMATS)(`%s: a full disk (a real ENOSPC on a 256 KiB tmpfs) stops the take with one clear message; write() never throws; the file plays up to the last flush${skip ? ` (skipped: ${skip})` : ''}`, (format) => {
    if ('reason' in disk) return;
    const path = join(disk.dir, `full-${format}.wav`);
    const errors: Error[] = [];
    const tee = new WavTee(path, { sampleRate: RATE, format, onError: (e) => errors.push(e) });
    let n = 0;
    // the music goes on: 3 s of blocks of 512 after the disk is full
    for (let i = 0; i < 300; i++, n += 512) expect(() => tee.write(interleaved(n, 512))).not.toThrow();
    expect(tee.open).toBe(false);
    expect(errors).toHaveLength(1);
    const seconds = (tee.framesWritten / RATE).toFixed(1);
    expect(errors[0].message).toBe(`recording ${path} stopped: the disk is full (ENOSPC); the file keeps the first ${seconds} s and plays`);
    expect(tee.failure).toBe(errors[0]);
    expect(tee.framesWritten).toBeGreaterThan(0);
    // cut back to what the header covers: no half-written chunk after the data
    const headerBytes = format === 'f32' ? 68 : 44;
    expect(statSync(path).size).toBe(headerBytes + tee.framesWritten * 2 * BYTES[format]);
    const wav = readWav(path);
    expect(wav.channels[0].length).toBe(tee.framesWritten);
    if (format === 'f32') expectSignal(wav.channels, tee.framesWritten);
    else expectCodes(dataOf(path), format, tee.framesWritten);
    if (!soxMissing()) expect(soxRaw(path).stderr).toBe('');
    tee.close();
    expect(errors).toHaveLength(1);
    rmSync(path);
  });

  it('a deleted folder (writes to an unlinked file succeed on Linux) is noticed within a second and stops the take', () => {
    const dir = join(tempDir(), 'takes');
    mkdirSync(dir);
    const path = join(dir, 'gone.wav');
    let clock = 0;
    const errors: Error[] = [];
    const tee = new WavTee(path, { sampleRate: RATE, now: () => clock, onError: (e) => errors.push(e) });
    tee.write(interleaved(0, 9_600));
    rmSync(dir, { recursive: true });
    expect(existsSync(path)).toBe(false);
    // within the second since the last check the flushes go on (into the unlinked file)
    clock = 500;
    tee.write(interleaved(9_600, 4_800));
    expect(tee.open).toBe(true);
    clock = 1000;
    expect(() => tee.write(interleaved(14_400, 4_800))).not.toThrow();
    expect(tee.open).toBe(false);
    expect(errors.map((e) => e.message)).toEqual([`recording ${path} stopped: the file is gone (deleted, or its folder removed, during the take); what it held is lost`]);
    tee.write(interleaved(0, 4_800));
    tee.close();
    expect(errors).toHaveLength(1);
  });

  it('a file deleted after the last check is reported on close, not announced as recorded', () => {
    const path = join(tempDir(), 'deleted.wav');
    const errors: Error[] = [];
    const tee = new WavTee(path, { sampleRate: RATE, now: () => 0, onError: (e) => errors.push(e) });
    tee.write(interleaved(0, 1000));
    rmSync(path);
    tee.close();
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('the file is gone')]);
    expect(tee.failure).not.toBeNull();
  });
});
