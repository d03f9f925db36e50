/**
 * A q4 variant of an ONNX graph, made the way onnxruntime's
 * matmul_4bits_quantizer (and so transformers.js's `_q4` exports) makes it:
 * every MatMul whose weight is a 2-D float initializer becomes a
 * com.microsoft MatMulNBits with 4-bit blocks (symmetric, zero point 8, one
 * float scale per block of `blockSize` along K). Only for tests: no Python
 * onnxruntime here to run the real quantizer, and the fixtures ship no _q4.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type GraphProto = onnxProto.onnx.IGraphProto;
type TensorProto = onnxProto.onnx.ITensorProto;

function floats(t: TensorProto): Float32Array {
  if (t.floatData?.length) return Float32Array.from(t.floatData);
  const raw = t.rawData!;
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

/** W [K, N] as MatMulNBits' B [N, blocks, blockSize / 2] (two values a byte, low nibble first) and scales [N * blocks]. */
export function quantize4(w: Float32Array, k: number, n: number, blockSize: number): { packed: Uint8Array; scales: Float32Array } {
  const blocks = Math.ceil(k / blockSize);
  const packed = new Uint8Array(n * blocks * (blockSize / 2));
  const scales = new Float32Array(n * blocks);
  for (let col = 0; col < n; col++) {
    for (let b = 0; b < blocks; b++) {
      let absMax = 0;
      for (let i = b * blockSize; i < Math.min(k, (b + 1) * blockSize); i++) absMax = Math.max(absMax, Math.abs(w[i * n + col]));
      const scale = absMax / 7 || 1;
      scales[col * blocks + b] = scale;
      for (let j = 0; j < blockSize; j++) {
        const i = b * blockSize + j;
        const q = i < k ? Math.max(0, Math.min(15, Math.round(w[i * n + col] / scale) + 8)) : 8;
        const at = (col * blocks + b) * (blockSize / 2) + (j >> 1);
        packed[at] |= j & 1 ? q << 4 : q;
      }
    }
  }
  return { packed, scales };
}

function graphs(g: GraphProto): GraphProto[] {
  return [g, ...(g.node ?? []).flatMap((n) => (n.attribute ?? []).flatMap((a) => (a.g ? graphs(a.g) : [])))];
}

/** `bytes` (an ONNX model) with its weight MatMuls in 4 bits; returns the new model and how many weights it quantized. */
export function toQ4(bytes: Uint8Array, blockSize = 32): { bytes: Uint8Array; weights: number } {
  const model = onnx.ModelProto.decode(bytes);
  const main = model.graph!;
  const all = graphs(main);
  const inits = new Map((main.initializer ?? []).map((t) => [t.name!, t]));
  const uses = new Map<string, number>();
  for (const g of all) for (const node of g.node ?? []) for (const i of node.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
  const matmulUses = new Map<string, number>();
  for (const g of all) for (const node of g.node ?? []) if (node.opType === 'MatMul') matmulUses.set(node.input![1], (matmulUses.get(node.input![1]) ?? 0) + 1);
  const done = new Set<string>();
  for (const g of all) {
    for (const node of g.node ?? []) {
      const w = node.opType === 'MatMul' ? inits.get(node.input![1]) : undefined;
      if (!w || w.dims?.length !== 2 || w.dataType !== onnx.TensorProto.DataType.FLOAT || uses.get(w.name!) !== matmulUses.get(w.name!)) continue;
      const [k, n] = w.dims.map(Number);
      if (!done.has(w.name!)) {
        const { packed, scales } = quantize4(floats(w), k, n, blockSize);
        const blocks = Math.ceil(k / blockSize);
        main.initializer!.push(
          { name: `${w.name}_Q4`, dataType: onnx.TensorProto.DataType.UINT8, dims: [n, blocks, blockSize / 2], rawData: packed },
          { name: `${w.name}_scales`, dataType: onnx.TensorProto.DataType.FLOAT, dims: [n * blocks], rawData: new Uint8Array(scales.buffer) },
        );
        done.add(w.name!);
      }
      const ints = (name: string, i: number) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
      node.opType = 'MatMulNBits';
      node.domain = 'com.microsoft';
      node.input = [node.input![0], `${w.name}_Q4`, `${w.name}_scales`];
      node.attribute = [ints('K', k), ints('N', n), ints('bits', 4), ints('block_size', blockSize)];
    }
  }
  main.initializer = main.initializer!.filter((t) => !done.has(t.name!));
  model.opsetImport = [...(model.opsetImport ?? []).filter((o) => o.domain !== 'com.microsoft'), { domain: 'com.microsoft', version: 1 }];
  return { bytes: onnx.ModelProto.encode(model).finish(), weights: done.size };
}
