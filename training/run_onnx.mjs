// Runs ONNX models in onnxruntime-node for training/export.py (Python has no onnxruntime here).
//   node training/run_onnx.mjs jobs.json
// jobs.json: [{ model, out, feeds: { name: { type: "float32" | "float16" | "int64" | "bool", dims, file } } }], raw
// little-endian files in (float16 as IEEE half bits: Node 20 has no Float16Array, onnxruntime-node takes
// Uint16Array); every output written to out/NAME.bin as float32 (float16 outputs widened) with
// out/outputs.json ({ NAME: { dims, file, type } }, type the graph's own).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

const ARRAYS = { float32: Float32Array, float16: Uint16Array, int64: BigInt64Array, bool: Uint8Array };

function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

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
    if (tensor.type !== 'float32' && tensor.type !== 'float16') throw new Error(`${name}: ${tensor.type}, expected float32 or float16`);
    index[name] = { dims: tensor.dims, file: `${name}.bin`, type: tensor.type };
    writeFileSync(join(job.out, `${name}.bin`), tensor.type === 'float16' ? Float32Array.from(tensor.data, halfToFloat) : tensor.data);
  }
  writeFileSync(join(job.out, 'outputs.json'), JSON.stringify(index));
  await session.release();
}
