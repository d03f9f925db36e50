/**
 * --dtype fp16 on the random-weight fixture test/fixtures/musicgen-tiny, whose onnx/*_fp16.onnx come from
 * training/to_fp16.py (every float in the graphs float16: weights, constants, casts, inputs and outputs, as
 * optimum / transformers.js fp16 exports). The runtime feeds float16 encoder states and KV and reads float16
 * logits, presents and audio.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { DecoderSession, encodeText, loadModel, MusicgenGenerator, type MusicgenModel } from '../../src/model/musicgen/index.js';
import { halfToFloat32 } from '../../src/model/onnx/float16.js';
import type { ort } from '../../src/model/onnx/session.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { maxDiff, rms } from '../helpers/arrays.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));
const GRAPHS = ['text_encoder', 'decoder_model_merged', 'encodec_decode'];
const HAVE = GRAPHS.every((g) => existsSync(join(FIXTURE, 'onnx', `${g}_fp16.onnx`)));
const WHY = HAVE ? 'test/fixtures/musicgen-tiny' : `skipped: no onnx/*_fp16.onnx in ${FIXTURE} (made by training/make_musicgen_fixture.py)`;
if (!HAVE) console.warn(`fp16 tests ${WHY}`);

/**
 * Largest |fp16 - fp32| allowed on logits. Measured: 1.2e-3 on logits up to 2.4 (to_fp16.py --check and
 * this test); float16 rounds to 2^-11 relative (about 1e-3 of 2.4), so 1e-2 leaves room without hiding a
 * wrong graph (random logits differ by ~1 between positions).
 */
const LOGIT_TOLERANCE = 1e-2;

function floats(t: ort.Tensor): Float32Array {
  return t.type === 'float16' ? halfToFloat32(t.data as Uint16Array) : (t.data as Float32Array);
}

describe.skipIf(!HAVE)(`--dtype fp16 (${WHY})`, () => {
  let fp32: MusicgenModel;
  let fp16: MusicgenModel;
  beforeAll(async () => {
    fp32 = await loadModel(FIXTURE, { threads: 1 });
    fp16 = await loadModel(FIXTURE, { dtype: 'fp16', threads: 1 });
  });
  afterAll(async () => {
    await fp32?.release();
    await fp16?.release();
  });

  it('loads the _fp16 files, whose float inputs and outputs are float16', () => {
    expect(fp16.spec.files.textEncoder).toMatch(/text_encoder_fp16\.onnx$/);
    expect(fp16.spec.files.decoder).toMatch(/decoder_model_merged_fp16\.onnx$/);
    expect(fp16.spec.files.codec).toMatch(/encodec_decode_fp16\.onnx$/);
    expect(fp16.textEncoder.output('last_hidden_state')?.type).toBe('float16');
    expect(fp16.decoder.input('encoder_hidden_states')?.type).toBe('float16');
    expect(fp16.decoder.input('past_key_values.0.decoder.key')?.type).toBe('float16');
    expect(fp16.decoder.output('logits')?.type).toBe('float16');
    expect(fp16.decoder.output('present.1.encoder.value')?.type).toBe('float16');
    expect(fp16.codec!.output('audio_values')?.type).toBe('float16');
    // about half the bytes of the fp32 files
    const size = (m: MusicgenModel) => [m.spec.files.textEncoder, m.spec.files.decoder, m.spec.files.codec!].reduce((s, f) => s + readFileSync(f).length, 0);
    expect(size(fp16) / size(fp32)).toBeLessThan(0.6);
  });

  it(`gives the fp32 logits within ${LOGIT_TOLERANCE}, first run and a cached step`, async () => {
    const prompts = ['80s pop with a warm piano'];
    const [c32, c16] = [await encodeText(fp32, prompts, 3), await encodeText(fp16, prompts, 3)];
    expect(c16.states.type).toBe('float16');
    expect(c16.rows).toBe(2);
    expect(maxDiff(floats(c16.states), floats(c32.states))).toBeLessThan(LOGIT_TOLERANCE);
    const d32 = new DecoderSession(fp32.decoder, fp32.spec.dims, c32);
    const d16 = new DecoderSession(fp16.decoder, fp16.spec.dims, c16);
    const { codebooks: K, vocab: V } = fp32.spec.dims;
    const bos = BigInt(fp32.spec.bosId);
    const first = new BigInt64Array(2 * K).fill(bos);
    const l32 = await d32.forward(first, 1);
    const l16 = await d16.forward(first, 1);
    expect(l16.type).toBe('float16');
    expect(l16.dims).toEqual([2 * K, 1, V]);
    const firstDiff = maxDiff(floats(l16), floats(l32));
    expect(firstDiff).toBeLessThan(LOGIT_TOLERANCE);
    expect(firstDiff).toBeGreaterThan(0); // it is the fp16 graph
    // a second step reads the float16 presents back as past
    const next = BigInt64Array.from({ length: 2 * K }, (_, i) => BigInt((i * 37) % V));
    const stepDiff = maxDiff(floats(await d16.forward(next, 1)), floats(await d32.forward(next, 1)));
    console.log(`fp16 vs fp32 logits: first run ${firstDiff.toExponential(2)}, cached step ${stepDiff.toExponential(2)} (tolerance ${LOGIT_TOLERANCE})`);
    expect(stepDiff).toBeLessThan(LOGIT_TOLERANCE);
    expect(d16.length).toBe(2);
  });

  it('generates seeded, in-vocabulary tokens', async () => {
    const cond = await encodeText(fp16, ['80s pop'], 3);
    const run = (seed: number) => new MusicgenGenerator(fp16.decoder, fp16.spec, cond, { ...fp16.spec.generation, seed }).generate(30);
    const a = await run(4);
    expect(a).toHaveLength(fp16.spec.dims.codebooks);
    for (const row of a) {
      expect(row).toHaveLength(30);
      for (const id of row) expect(id).toBeLessThan(fp16.spec.dims.vocab); // never the pad (2048)
    }
    expect(await run(4)).toEqual(a);
    expect(await run(5)).not.toEqual(a);
  });

  it('smitin render --dtype fp16 writes audio that is not silent', () => {
    const dir = tempDir();
    const out = join(dir, 'x.wav');
    const r = smitin(['render', '--model', FIXTURE, '--dtype', 'fp16', '--prompt', '80s pop', '--seconds', '1', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dtype: 'fp16', codec: 'encodec', frames: 50, seconds: 1 });
    const wav = decodeWav(readFileSync(out));
    expect(wav.channels[0].length).toBe(48000);
    expect(rms(wav.channels[0])).toBeGreaterThan(1e-3);
  });
});
