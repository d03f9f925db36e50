/** Probe data from audio stems: the EnCodec encoder on the tiny fixture, the stems folder reader, the pairs, and smitin probes train --stems. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/audio/wav.js';
import { checkEncodecEncoder, EncodecEncoder } from '../../src/model/codec/encodec/index.js';
import { readModelFolder } from '../../src/model/musicgen/index.js';
import { OnnxSession } from '../../src/model/onnx/session.js';
import { readProbeSet } from '../../src/smitin/probe-set.js';
import { audibleEnds, readStemsFolder, stemPairs } from '../../src/smitin/stem-pairs.js';
import { isValidationPiece } from '../../src/smitin/train-probes.js';
import { Rng } from '../../src/util/rng.js';
import { BIN, smitin, tempDir } from '../helpers/cli.js';
import { linkedCopy } from '../helpers/model.js';

const TINY = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));
const RATE = 44_100;

function noise(n: number, seed: number, amp: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => amp * (2 * rng.next() - 1));
}

/** One song: drums = noise bursts (0.1 s every 0.5 s, silent in the first second), bass = a 55 Hz sine in the second half; mixture = sum. */
function song(seconds: number, seed: number): { drums: Float32Array; bass: Float32Array; mixture: Float32Array } {
  const n = seconds * RATE;
  const hits = noise(n, seed, 0.4);
  const drums = Float32Array.from(hits, (x, i) => (i >= RATE && i % (RATE / 2) < RATE / 10 ? x : 0));
  const bass = Float32Array.from({ length: n }, (_, i) => (i >= n / 2 ? 0.3 * Math.sin((2 * Math.PI * 55 * i) / RATE) : 0));
  return { drums, bass, mixture: Float32Array.from(drums, (d, i) => d + bass[i]) };
}

function writeSong(root: string, name: string, s: ReturnType<typeof song>, options: { stereo?: boolean; mixName?: string } = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const ch = (x: Float32Array) => (options.stereo ? [x, x] : [x]);
  writeFileSync(join(dir, options.mixName ?? 'mixture.wav'), encodeWav(ch(s.mixture), RATE));
  writeFileSync(join(dir, 'drums.wav'), encodeWav(ch(s.drums), RATE));
  writeFileSync(join(dir, 'bass.wav'), encodeWav(ch(s.bass), RATE));
  return dir;
}

describe('EnCodec encoder (encodec_encode.onnx) on the tiny fixture', () => {
  let encoder: EncodecEncoder;
  beforeAll(async () => {
    encoder = await EncodecEncoder.open(readModelFolder(TINY).spec);
  });
  afterAll(async () => encoder?.release());

  it('gives ceil(samples / 640) frames of 4 codes below 2048, the same every time', async () => {
    expect([encoder.codebooks, encoder.hop, encoder.sampleRate]).toEqual([4, 640, 32_000]);
    const audio = noise(32_000, 1, 0.3);
    const codes = await encoder.encode(audio);
    expect(codes).toHaveLength(4);
    expect(codes.map((c) => c.length)).toEqual([50, 50, 50, 50]);
    for (const c of codes) expect(Math.max(...c)).toBeLessThan(2048);
    // the codes vary with the audio (every codebook uses several entries)
    for (const c of codes) expect(new Set(c).size).toBeGreaterThan(2);
    expect(await encoder.encode(audio)).toEqual(codes);
    expect((await encoder.encode(audio.subarray(0, 641)))[0]).toHaveLength(2);
    expect((await encoder.encode(audio.subarray(0, 640)))[0]).toHaveLength(1);
    expect((await encoder.encode(audio.subarray(0, 1)))[0]).toHaveLength(1);
  });

  it('encodes long audio in windows with context to the same codes as in one run', async () => {
    const audio = noise(3 * 32_000 + 123, 2, 0.3);
    const whole = await encoder.encode(audio);
    expect(whole[0]).toHaveLength(151);
    expect(await encoder.encode(audio, { chunkFrames: 16, contextFrames: 3 })).toEqual(whole);
  });

  it('refuses a graph without the contract, naming the file and tensor', async () => {
    const decoder = await OnnxSession.create(join(TINY, 'onnx', 'encodec_decode.onnx'));
    try {
      expect(() => checkEncodecEncoder(decoder, 4)).toThrow(/encodec_decode\.onnx: has no input input_values/);
    } finally {
      await decoder.release();
    }
    expect(() => checkEncodecEncoder(encoder.session, 8)).toThrow(/output audio_codes has 4 codebooks, but config.json decoder.num_codebooks gives 8/);
    const tinyband = fileURLToPath(new URL('../../models/tinyband', import.meta.url));
    await expect(EncodecEncoder.open(readModelFolder(tinyband).spec)).rejects.toThrow(/has no audio encoder/);
  });
});

describe('stems folder -> probe pairs', () => {
  const root = tempDir('smitin-stems-');
  const stems = join(root, 'stems');
  beforeAll(() => {
    writeSong(stems, 'song-a', song(4, 1));
    writeSong(stems, 'song-b', song(4, 2), { stereo: true });
    writeSong(stems, 'song-c', song(4, 3), { mixName: 'mix.wav' });
  });

  it('reads the layout: songs in name order, the stems every song has', () => {
    const folder = readStemsFolder(stems);
    expect(folder.songs.map((s) => s.name)).toEqual(['song-a', 'song-b', 'song-c']);
    expect(folder.common).toEqual(['bass', 'drums']);
    expect(folder.songs[2].mixture).toMatch(/song-c\/mix\.wav$/);
  });

  it('finds where a stem is audible over the last second', () => {
    const s = song(4, 1);
    const ends = audibleEnds(Float32Array.from(s.bass.filter((_, i) => i % 441 === 0)), 2, 100, 200, -40);
    // bass starts at 2 s: frame end e covers samples up to 2e; audible once the last second reaches into the bass
    expect(ends[100]).toBe(0);
    expect(ends[150]).toBe(1);
    expect(ends[200]).toBe(1);
  });

  it('builds labelled pairs of equal length, split by song, the same for the same seed', async () => {
    const folder = readStemsFolder(stems);
    const encoder = await EncodecEncoder.open(readModelFolder(TINY).spec);
    try {
      const options = { pairs: 12, seed: 5, maxFrames: 248, frameRate: 50 };
      const a = await stemPairs(folder, ['drums', 'bass'], encoder, options);
      expect(a.segmentFrames).toEqual([50, 248]);
      for (const f of ['drums', 'bass']) {
        const ex = a.examples.get(f)!;
        expect(ex).toHaveLength(24);
        for (let i = 0; i < ex.length; i += 2) {
          const [pos, neg] = [ex[i], ex[i + 1]];
          expect([pos.label, neg.label]).toEqual([1, 0]);
          expect(pos.piece).toBe(neg.piece);
          expect([pos.text, neg.text]).toEqual(['', '']);
          expect(pos.tokens).toHaveLength(4);
          expect(neg.tokens[0].length).toBe(pos.tokens[0].length);
          expect(pos.tokens[0].length).toBeGreaterThanOrEqual(50);
          expect(pos.tokens[0].length).toBeLessThanOrEqual(200);
        }
        // four pairs from each song; song 0 is the validation piece
        expect(new Set(ex.map((e) => e.piece))).toEqual(new Set([0, 1, 2]));
        expect(ex.filter((e) => isValidationPiece(e.piece))).toHaveLength(8);
        // removing the stem changes the codes
        expect(ex.filter((e, i) => i % 2 === 0 && JSON.stringify(e.tokens) !== JSON.stringify(ex[i + 1].tokens)).length).toBeGreaterThan(8);
      }
      const b = await stemPairs(folder, ['drums', 'bass'], encoder, options);
      expect(b.examples.get('bass')!.map((e) => e.tokens)).toEqual(a.examples.get('bass')!.map((e) => e.tokens));
      await expect(stemPairs(folder, ['vocals'], encoder, options)).rejects.toThrow(/no song in .* has a vocals stem \(vocals\.wav\); stems found: bass, drums/);
    } finally {
      await encoder.release();
    }
  });

  it('says what is wrong with a folder', () => {
    const bad = join(root, 'bad');
    mkdirSync(join(bad, 'empty'), { recursive: true });
    expect(() => readStemsFolder(join(root, 'nope'))).toThrow(/no such folder/);
    expect(() => readStemsFolder(join(bad, 'empty'))).toThrow(/holds no song folders \(expected one sub-folder per song holding mixture\.wav or mix\.wav/);
    mkdirSync(join(bad, 'nomix', 'song'), { recursive: true });
    writeFileSync(join(bad, 'nomix', 'song', 'drums.wav'), encodeWav([new Float32Array(100)], RATE));
    expect(() => readStemsFolder(join(bad, 'nomix'))).toThrow(/song folder .*nomix\/song has no mixture\.wav or mix\.wav/);
  });

  it('refuses a stem of another length or rate, naming the file', async () => {
    const encoder = await EncodecEncoder.open(readModelFolder(TINY).spec);
    try {
      const s = song(2, 4);
      const short = join(root, 'short');
      const dir = writeSong(short, 'song', s);
      writeFileSync(join(dir, 'bass.wav'), encodeWav([s.bass.subarray(0, RATE)], RATE));
      const options = { pairs: 10, seed: 1, maxFrames: 248, frameRate: 50 };
      await expect(stemPairs(readStemsFolder(short), ['bass'], encoder, options)).rejects.toThrow(/short\/song\/bass\.wav: holds 44100 samples, but mixture\.wav 88200: .* one length/);
      const rate = join(root, 'rate');
      const dir2 = writeSong(rate, 'song', s);
      writeFileSync(join(dir2, 'drums.wav'), encodeWav([s.drums], 48_000));
      await expect(stemPairs(readStemsFolder(rate), ['drums'], encoder, options)).rejects.toThrow(/rate\/song\/drums\.wav: is at 48000 Hz, but mixture\.wav at 44100 Hz/);
    } finally {
      await encoder.release();
    }
  });

  it('smitin probes train --stems trains probes for the EnCodec fixture; without --stems it says to pass it', () => {
    const model = linkedCopy(TINY);
    const out = join(root, 'p.safetensors');
    const r = smitin(['probes', 'train', '--model', model, '--stems', stems, '--pairs', '20', '--out', out, '--quiet', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(Object.keys(summary.probes)).toEqual(['bass', 'drums']);
    for (const f of ['bass', 'drums']) expect(summary.probes[f].best_acc).toBeGreaterThanOrEqual(0);
    const set = readProbeSet(out);
    expect(set.model).toMatchObject({ layers: 2, heads: 4, headDim: 8 });
    expect(set.training).toMatchObject({ source: `stems ${stems}`, songs: ['song-a', 'song-b', 'song-c'], validation: 'every fifth song' });
    // 20 pairs over 3 songs: song 0 (7 pairs) is validation
    expect([set.features[0].train, set.features[0].validation]).toEqual([26, 14]);

    const only = smitin(['probes', 'train', '--model', model, '--stems', stems, '--features', 'drums', '--pairs', '10', '--out', join(root, 'q.safetensors'), '--quiet', '--json']);
    expect(only.status).toBe(0);
    expect(Object.keys(JSON.parse(only.stdout).probes)).toEqual(['drums']);

    const missing = smitin(['probes', 'train', '--model', model, '--out', join(root, 'r.safetensors'), '--quiet']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/probe data is built from the tinyband composer; for an EnCodec MusicGen pass --stems DIR/);
    const vocals = smitin(['probes', 'train', '--model', model, '--stems', stems, '--features', 'vocals', '--out', join(root, 's.safetensors'), '--quiet']);
    expect(vocals.status).toBe(2);
    expect(vocals.stderr).toMatch(/no song in .* has a vocals stem/);
  });

  it('probes train --stems with a stem silent in every held-out song ends at once with exit 2, naming the songs and the stem', () => {
    const silentDrums = join(root, 'silent-drums');
    const quiet = song(4, 4);
    quiet.drums.fill(0);
    quiet.mixture.set(quiet.bass);
    writeSong(silentDrums, 'song-a', quiet); // song 0: held out
    writeSong(silentDrums, 'song-b', song(4, 5));
    writeSong(silentDrums, 'song-c', song(4, 6));
    // the progress bar on: its redraw timer once kept the failed command alive for good
    const r = spawnSync(process.execPath, [BIN, 'probes', 'train', '--model', linkedCopy(TINY), '--stems', silentDrums, '--pairs', '20', '--out', join(root, 't.safetensors')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/the "drums" stem is silent .* in every held-out song \("song-a"\); every fifth song, the first included, validates the probes: .* --features/);
    expect(existsSync(join(root, 't.safetensors'))).toBe(false);
  }, 70_000);
});
