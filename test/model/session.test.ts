import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFileError, OnnxSession, ort } from '../../src/model/onnx/session.js';
import { UsageError } from '../../src/util/errors.js';
import { MODEL_DIR, NO_MODEL_REASON } from '../helpers/model.js';

const ids = (n: number, type: 'int64' | 'int32' = 'int64') =>
  type === 'int64' ? new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]) : new ort.Tensor('int32', new Int32Array(n), [1, n]);

describe('execution providers and threads', () => {
  it('rejects unknown and unavailable providers in one clear line', async () => {
    await expect(OnnxSession.create('x.onnx', { ep: 'tpu' as 'cpu' })).rejects.toThrow('--ep must be one of cpu, cuda, coreml, dml, got: tpu');
    if (process.platform !== 'darwin') {
      await expect(OnnxSession.create('x.onnx', { ep: 'coreml' })).rejects.toThrow(
        new RegExp(`execution provider coreml is not available in onnxruntime-node on ${process.platform}-${process.arch} \\(available here: cpu`),
      );
    }
    await expect(OnnxSession.create('x.onnx', { threads: 0 })).rejects.toThrow('threads must be an integer in [1, 256], got: 0');
  });

  it('names a missing file', async () => {
    const err = await OnnxSession.create('/nonexistent/model.onnx').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^\/nonexistent\/model\.onnx: onnxruntime cannot load it \(missing file\)/);
  });
});

describe.skipIf(!MODEL_DIR)(`the ONNX boundary on text_encoder.onnx (${MODEL_DIR ?? NO_MODEL_REASON})`, () => {
  let session: OnnxSession;
  beforeAll(async () => {
    session = await OnnxSession.create(join(MODEL_DIR!, 'onnx', 'text_encoder.onnx'), { threads: 1 });
  });
  afterAll(async () => session?.release());

  it('reports declared inputs and outputs with types and shapes', () => {
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask']);
    expect(session.input('input_ids')).toMatchObject({ type: 'int64', shape: [expect.any(String), expect.any(String)] });
    expect(session.output('last_hidden_state')?.shape).toHaveLength(3);
    expect(session.file).toBe('text_encoder.onnx');
  });

  it('checks feeds before a run: missing, wrong type, extra', async () => {
    await expect(session.run({ input_ids: ids(2) })).rejects.toThrow(/text_encoder\.onnx: input attention_mask \(int64 \[\w+, \w+\]\) is not fed/);
    await expect(session.run({ input_ids: ids(2, 'int32'), attention_mask: ids(2) })).rejects.toThrow(
      /input input_ids must be int64 \[\w+, \w+\], got: input_ids int32 \[1, 2\]/,
    );
    await expect(session.run({ input_ids: ids(2), attention_mask: ids(2), extra: ids(1) })).rejects.toThrow(
      /fed inputs the graph does not have: extra \(it has: input_ids, attention_mask\)/,
    );
  });

  it('rethrows a failed run with every fed tensor', async () => {
    const err = (await session.run({ input_ids: ids(3), attention_mask: ids(2) }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/text_encoder\.onnx: run failed: .+; fed: input_ids int64 \[1, 3\]; attention_mask int64 \[1, 2\]$/);
  });

  it('runs', async () => {
    const out = await session.run({ input_ids: ids(2), attention_mask: ids(2) });
    expect(out.last_hidden_state.dims.slice(0, 2)).toEqual([1, 2]);
  });
});
