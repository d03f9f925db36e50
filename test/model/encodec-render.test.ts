/** smitin render on an EnCodec model (the random-weight fixture with MusicGen's export contract), as a user runs it. */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { rms } from '../helpers/arrays.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));
const HAVE = existsSync(join(FIXTURE, 'onnx', 'encodec_decode.onnx'));
const WHY = HAVE ? 'test/fixtures/musicgen-tiny' : `skipped: no EnCodec fixture at ${FIXTURE} (made by training/make_musicgen_fixture.py)`;
if (!HAVE) console.warn(`encodec render tests ${WHY}`);

describe.skipIf(!HAVE)(`smitin render with EnCodec (${WHY})`, () => {
  const dir = tempDir();
  const render = (out: string, ...args: string[]) => smitin(['render', '--model', FIXTURE, '--out', join(dir, out), ...args]);

  it('writes 2 s of 48 kHz stereo that is not silent', () => {
    const r = render('x.wav', '--prompt', '80s pop', '--seconds', '2', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    // 50 frames/s: 100 frames, and 3 more steps while the delay pattern fills
    expect(summary).toMatchObject({ codec: 'encodec', modelSampleRate: 32000, frameRate: 50, frames: 100, steps: 103, seconds: 2, sampleRate: 48000 });
    expect(summary.maxCodecFrames).toBeLessThanOrEqual(39); // context 10 + margin 4 + chunk 25
    for (const key of ['generateSeconds', 'synthSeconds', 'msPerStep', 'realtimeFactor']) expect(summary[key], key).toBeGreaterThan(0);
    const wav = decodeWav(readFileSync(join(dir, 'x.wav')));
    expect(wav.sampleRate).toBe(48000);
    expect(wav.channels).toHaveLength(2);
    expect(wav.channels[0].length).toBe(2 * 48000);
    expect(wav.channels[1]).toEqual(wav.channels[0]); // mono duplicated
    expect(rms(wav.channels[0])).toBeGreaterThan(1e-3);
    expect(rms(wav.channels[0].subarray(90_000, 94_000))).toBeGreaterThan(1e-4); // sound through the end, before the fade
  });

  it('is the same file for the same seed, and renders past the window by sliding it', () => {
    expect(render('a.wav', '--prompt', 'rock', '--seconds', '0.7', '--seed', '3').status).toBe(0);
    expect(render('b.wav', '--prompt', 'rock', '--seconds', '0.7', '--seed', '3').status).toBe(0);
    expect(readFileSync(join(dir, 'a.wav')).equals(readFileSync(join(dir, 'b.wav')))).toBe(true);
    // the fixture's window is 252 frames (max_length 256 less 4 codebooks): 6 s is 300 frames
    const r = render('long.wav', '--prompt', 'rock', '--seconds', '6', '--json');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ frames: 300, seconds: 6 });
    expect(summary.slides).toBeGreaterThanOrEqual(1);
    const left = decodeWav(readFileSync(join(dir, 'long.wav'))).channels[0];
    expect(left.length).toBe(6 * 48000);
    expect(rms(left.subarray(5 * 48000))).toBeGreaterThan(1e-3);
  });

  it('says in one line when the folder lacks onnx/encodec_decode.onnx, and writes nothing', () => {
    const broken = tempDir('smitin-model-');
    mkdirSync(join(broken, 'onnx'));
    for (const f of ['config.json', 'generation_config.json', 'tokenizer.json']) copyFileSync(join(FIXTURE, f), join(broken, f));
    for (const f of ['text_encoder.onnx', 'decoder_model_merged.onnx']) symlinkSync(join(FIXTURE, 'onnx', f), join(broken, 'onnx', f));
    const out = tempDir();
    const r = smitin(['render', '--model', broken, '--prompt', 'rock', '--out', join(out, 'x.wav')]);
    expect(r.stderr).toMatch(/^error: .+\/onnx\/encodec_decode\.onnx: missing \(decoding EnCodec codes to audio: --dtype fp32 needs encodec_decode\.onnx; this folder's onnx\/ has: .+\)\n$/);
    expect(r.status).toBe(2);
    expect(readdirSync(out)).toEqual([]);
  });
});
