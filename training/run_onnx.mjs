// Runs ONNX models in onnxruntime-node for training/export.py (Python has no onnxruntime here).
//   node training/run_onnx.mjs jobs.json
// jobs.json: [{ model, out, feeds: { name: { type: "float32" | "int64" | "bool", dims, file } } }], raw
// little-endian files in; every output written to out/NAME.bin (float32) with out/outputs.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

const ARRAYS = { float32: Float32Array, int64: BigInt64Array, bool: Uint8Array };

for (const job of JSON.parse(readFileSync(process.argv[2], 'utf8'))) {
  // one thread: export runs beside training on a small machine
  const session = await ort.InferenceSession.create(job.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = {};
  for (const [name, { type, dims, file }] of Object.entries(job.feeds)) {
    const bytes = readFileSync(file);
    const data = new ARRAYS[type](bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    feeds[name] = new ort.Tensor(type, data, dims);
  }
  const results = await session.run(feeds);
  mkdirSync(job.out, { recursive: true });
  const index = {};
  for (const [name, tensor] of Object.entries(results)) {
    if (tensor.type !== 'float32') throw new Error(`${name}: ${tensor.type}, expected float32`);
    index[name] = { dims: tensor.dims, file: `${name}.bin` };
    writeFileSync(join(job.out, `${name}.bin`), tensor.data);
  }
  writeFileSync(join(job.out, 'outputs.json'), JSON.stringify(index));
  await session.release();
}
