/** smitin render end to end, as a user runs it (the built CLI in a child process). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { brokenCopy, editJson, MODEL_DIR, NO_MODEL_REASON, SHIPPED_MODEL } from '../helpers/model.js';
import { rms } from '../helpers/arrays.js';

describe.skipIf(!MODEL_DIR)(`smitin render (${MODEL_DIR ?? NO_MODEL_REASON})`, () => {
  const dir = tempDir();
  const render = (out: string, ...args: string[]) =>
    smitin(['render', '--model', MODEL_DIR!, '--threads', '1', '--out', join(dir, out), ...args]);

  it('writes a non-silent WAV of the asked length and prints its figures', () => {
    const r = render('a.wav', '--prompt', 'funk happy energetic', '--seconds', '3', '--seed', '2', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ frames: 24, steps: 27, seconds: 3, tempo: 120, seed: 2, sampleRate: 48000, unknownWords: [] });
    for (const key of ['wallSeconds', 'generateSeconds', 'synthSeconds', 'msPerStep', 'modelMsPerStep', 'realtimeFactor']) {
      expect(summary[key], key).toBeGreaterThan(0);
    }
    expect(summary.realtimeFactor).toBeGreaterThan(1);
    expect(summary.wallSeconds).toBeGreaterThan(summary.generateSeconds);
    const wav = decodeWav(readFileSync(join(dir, 'a.wav')));
    expect(wav.sampleRate).toBe(48000);
    expect(wav.channels).toHaveLength(2);
    expect(wav.channels[0].length).toBe(3 * 48000);
    expect(rms(wav.channels[0])).toBeGreaterThan(1e-3);
  });

  it('is the same file for the same seed, another for another seed', () => {
    const args = ['--prompt', 'rock dark', '--seconds', '1.5'];
    expect(render('s1.wav', ...args, '--seed', '7').status).toBe(0);
    expect(render('s2.wav', ...args, '--seed', '7').status).toBe(0);
    expect(render('s3.wav', ...args, '--seed', '8').status).toBe(0);
    const [a, b, c] = ['s1.wav', 's2.wav', 's3.wav'].map((f) => readFileSync(join(dir, f)));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('applies the tempo: 16th-note frames at --tempo', () => {
    const r = render('t.wav', '--prompt', 'ballad calm', '--seconds', '2', '--tempo', '90', '--guidance', '1', '--top-k', '5', '--temperature', '0.8', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: 12, tempo: 90, guidance: 1, topK: 5, temperature: 0.8 });
    expect(decodeWav(readFileSync(join(dir, 't.wav'))).channels[0].length).toBe(2 * 48000);
  });

  it('renders past the model window by sliding it', () => {
    const r = render('long.wav', '--prompt', 'funk steady', '--seconds', '40', '--json');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    // tinyband's window is 256 frames (32 s at 120 BPM); 40 s is 320 frames, one step each after the delay, seams included
    expect(summary).toMatchObject({ frames: 320, steps: 323, seconds: 40 });
    expect(summary.slides).toBeGreaterThanOrEqual(1);
    const left = decodeWav(readFileSync(join(dir, 'long.wav'))).channels[0];
    expect(left.length).toBe(40 * 48000);
    expect(rms(left.subarray(32 * 48000))).toBeGreaterThan(1e-3); // music after the seam
  });

  it('renders a prompt with words the model does not know, and says which', () => {
    const r = render('u.wav', '--prompt', 'funk with a theremin', '--seconds', '1');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("note: not in the model's vocabulary, read as <unk>: with, a, theremin\n");
    expect(rms(decodeWav(readFileSync(join(dir, 'u.wav'))).channels[0])).toBeGreaterThan(1e-3);
  });

  it('refuses what it cannot do in one line, exit 2, and leaves no file', () => {
    const encodec = brokenCopy((d) =>
      editJson(d, 'config.json', (j) => {
        delete j.tinyband;
        j.audio_encoder.model_type = 'encodec';
      }),
    );
    const out = tempDir();
    const cases: [string[], RegExp][] = [
      // an EnCodec model whose folder lacks its decoder: named, with what the folder has
      [['--model', encodec, '--prompt', 'rock'], /^error: .+\/onnx\/encodec_decode\.onnx: missing \(decoding EnCodec codes to audio: --dtype fp32 needs encodec_decode\.onnx; this folder's onnx\/ has: .+\)\n$/],
      [['--model', MODEL_DIR!, '--prompt', 'rock', '--guidance', '-1'], /^error: option '--guidance <g>' argument '-1' is invalid\. guidance must be within \[0, 100\], got: -1\n$/],
      [['--model', MODEL_DIR!, '--prompt', 'rock', '--dtype', 'int4'], /^error: option '--dtype <type>' argument 'int4' is invalid\. unknown dtype "int4": expected one of fp32, fp16, q8, q4 \(or graph=dtype\)\n$/],
      [['--model', join(out, 'nothing'), '--prompt', 'rock'], /^error: .+\/nothing: no such model folder\n$/],
    ];
    for (const [args, message] of cases) {
      const r = smitin(['render', ...args, '--out', join(out, 'x.wav')]);
      expect(r.stderr).toMatch(message);
      expect(r.status).toBe(2);
    }
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(join(out, 'x.wav'))).toBe(false);
  });
});

describe('smitin render without --model', () => {
  it('plays the shipped models/tinyband, found from the package folder', () => {
    const out = join(tempDir(), 'default.wav');
    const r = smitin(['render', '--prompt', 'rock', '--seconds', '0.5', '--out', out]);
    if (MODEL_DIR === SHIPPED_MODEL) {
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(existsSync(out)).toBe(true);
    } else {
      expect(r.stderr).toBe(`error: ${SHIPPED_MODEL}: no such model folder\n`);
      expect(r.status).toBe(2);
    }
  });
});
