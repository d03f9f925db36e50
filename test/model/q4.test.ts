/**
 * --dtype q4 (`_q4` files: MatMulNBits, 4-bit blocks) on onnxruntime-node.
 * The fixture ships no _q4 graphs, so the test makes them from the fp32
 * ones (test/helpers/q4-export.ts) in a copy of the folder, then loads and
 * renders through the same code a user runs.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, parseDtypes } from '../../src/model/musicgen/index.js';
import { REPO, tempDir } from '../helpers/cli.js';
import { smitinAsync } from '../helpers/cli-async.js';
import { toQ4 } from '../helpers/q4-export.js';

const FIXTURE = join(REPO, 'test/fixtures/musicgen-tiny');
let dir: string;
let weights = 0;

beforeAll(() => {
  dir = tempDir('smitin-q4-');
  cpSync(FIXTURE, dir, { recursive: true });
  for (const graph of ['decoder_model_merged', 'text_encoder']) {
    const q = toQ4(readFileSync(join(dir, 'onnx', `${graph}.onnx`)));
    weights += q.weights;
    writeFileSync(join(dir, 'onnx', `${graph}_q4.onnx`), q.bytes);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--dtype q4', () => {
  it('loads a MatMulNBits decoder and text encoder through the MusicGen contract', async () => {
    expect(weights).toBeGreaterThan(20);
    const model = await loadModel(dir, { dtype: parseDtypes('q4,encodec=fp32'), threads: 1 });
    try {
      expect(model.spec.files.decoder).toMatch(/decoder_model_merged_q4\.onnx$/);
      expect(model.spec.files.codec).toMatch(/encodec_decode\.onnx$/);
    } finally {
      await model.release();
    }
  });

  it('computes what the fp32 text encoder computes, to 4-bit precision (the packing is right)', async () => {
    const [fp32, q4] = await Promise.all([loadModel(dir, { threads: 1 }), loadModel(dir, { dtype: 'q4', threads: 1 })]);
    try {
      const ids = BigInt64Array.from([5n, 17n, 42n, 9n, 1n]);
      const feeds = { input_ids: new ort.Tensor('int64', ids, [1, 5]), attention_mask: new ort.Tensor('int64', ids.map(() => 1n), [1, 5]) };
      const a = (await fp32.textEncoder.run(feeds)).last_hidden_state.data as Float32Array;
      const b = (await q4.textEncoder.run(feeds)).last_hidden_state.data as Float32Array;
      let err = 0;
      let norm = 0;
      for (let i = 0; i < a.length; i++) {
        err += (a[i] - b[i]) ** 2;
        norm += a[i] ** 2;
      }
      const relative = Math.sqrt(err / norm);
      // 4-bit blocks: a few percent off; a wrong nibble order or scale would be off by about 100 %
      expect(relative).toBeGreaterThan(1e-4);
      expect(relative).toBeLessThan(0.1);
    } finally {
      await Promise.all([fp32.release(), q4.release()]);
    }
  });

  it('renders with a q4 decoder beside an fp32 EnCodec, close to but not the same as fp32', async () => {
    const run = (dtype: string, out: string) =>
      smitinAsync(['render', '--model', dir, '--dtype', dtype, '--prompt', '80s pop', '--seconds', '1', '--seed', '2', '--threads', '1', '--out', join(dir, out), '--json']);
    const q4 = await run('q4,encodec=fp32', 'q4.wav');
    expect(q4.stderr).toBe('');
    expect(q4.status).toBe(0);
    expect(JSON.parse(q4.stdout)).toMatchObject({ dtype: 'q4,encodec=fp32', frames: 50 });
    const fp32 = await run('fp32', 'fp32.wav');
    expect(fp32.status).toBe(0);
    expect(readFileSync(join(dir, 'q4.wav')).equals(readFileSync(join(dir, 'fp32.wav')))).toBe(false);
  });
});
