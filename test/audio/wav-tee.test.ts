/** The crash-safe WAV tee behind `--record FILE.wav`. */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeWav, encodeWav } from '../../src/audio/wav.js';
import { WavTee } from '../../src/audio/wav-tee.js';
import { tempDir } from '../helpers/cli.js';

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
    expect(statSync(path).size).toBe(44 + n * 8);
    tee.write(interleaved(0, 10)); // ignored once closed
    expect(statSync(path).size).toBe(44 + n * 8);
  });

  it('says what is wrong with its options, and throws when the file cannot be created', () => {
    expect(() => new WavTee(join(tempDir(), 'x.wav'), { flushMs: 5000 })).toThrow('WAV flush period must be in (0, 1000] ms, got: 5000');
    expect(() => new WavTee('/proc/smitin-no.wav')).toThrow(/ENOENT|EACCES|EROFS/);
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
