/**
 * Finding each decoder layer's self-attention output projection in a graph,
 * in the forms the exports take: a float MatMul (fp32, fp16), onnxruntime's
 * dynamic int8 quantization (q8: a DynamicQuantizeLinear of the input, then
 * MatMulInteger, Cast and two Muls) or a com.microsoft MatMulNBits (q4).
 *
 * The quantizers keep the exporter's node name as a stem
 * (`.../out_proj/MatMul_quant`, `.../out_proj/MatMul_MatMulInteger`, or the
 * name itself for MatMulNBits), so the projection is found by name, not by op
 * type: every node named `.../out_proj/MatMul` or `.../out_proj/MatMul_*` is
 * part of it. Its entry is the one float tensor those nodes read that none of
 * them makes and that is not a weight: the concatenated head outputs. SMITIN
 * shifts that tensor, so in a q8 graph the shift is added before the
 * activation is quantized.
 *
 * onnxruntime's quantize_dynamic (transformers.js's `_quantized` files) names
 * the activation's quantizer after the tensor instead (`X_QuantizeLinear`, and
 * `X_ReduceMin`, `X_scale_Div`, ... where it computes the scale in the graph)
 * and the MatMulInteger `.../out_proj/MatMul_quant`; training/to_q8.py names
 * both from the MatMul. When the projection reads quantized values made
 * outside it, the nodes named after their float source X join it, provided
 * nothing else reads what they make (a shift there would reach another op).
 */
import onnxProto from 'onnx-proto';
import { ModelFileError } from '../model/onnx/session.js';

const { onnx } = onnxProto;
type GraphProto = onnxProto.onnx.IGraphProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

/** The exporter's name of layer i's self-attention output projection (optimum / torch.onnx naming). */
export const outProjName = (layer: number): string => `/decoder/model/decoder/layers.${layer}/self_attn/out_proj/MatMul`;
export const OUT_PROJ_PATTERN = '/decoder/model/decoder/layers.{i}/self_attn/out_proj/MatMul';
/** What the finder accepts, for messages. */
export const OUT_PROJ_FORMS = 'a MatMul, a MatMulNBits (q4), or the DynamicQuantizeLinear + MatMulInteger of a q8 export';

/** onnxruntime's name of the node that quantizes tensor X: X + this. */
const QUANTIZER = '_QuantizeLinear';
const NAME = /^\/decoder\/model\/decoder\/layers\.(\d+)\/self_attn\/out_proj\/MatMul(?:_.*)?$/;
const FLOATS = new Set<number>([onnx.TensorProto.DataType.FLOAT, onnx.TensorProto.DataType.FLOAT16, onnx.TensorProto.DataType.BFLOAT16]);

export interface OutProj {
  /** The float tensor that enters the projection: the concatenated head outputs [batch, positions, H*Dh]. */
  entry: string;
  /** The projection's nodes that read `entry` (the MatMul, or the DynamicQuantizeLinear before a MatMulInteger). */
  readers: NodeProto[];
  /** H*Dh: the width of `entry`'s last axis. */
  width: number;
  /** ONNX element type of `entry`. */
  elemType: number;
  /** The op that multiplies: MatMul, MatMulInteger or MatMulNBits. */
  op: string;
}

/**
 * Width and float type of the projection's input, from its multiplying node.
 * `weight` looks an initializer up in the branch and the outer graph.
 */
function shapeOf(core: NodeProto, weight: (name: string) => TensorProto | undefined, what: string): { width: number; elemType: number } {
  if (core.opType === 'MatMulNBits') {
    // B is packed [N, blocks, blob]; K (the input width) is an attribute, and the scales carry A's float type
    const k = core.attribute?.find((a) => a.name === 'K')?.i;
    const scales = weight(core.input?.[2] ?? '');
    if (k === undefined || k === null || !scales) throw new ModelFileError(`${what}: MatMulNBits ${core.name} has no K attribute or no scales initializer`);
    return { width: Number(k), elemType: scales.dataType ?? onnx.TensorProto.DataType.FLOAT };
  }
  const w = weight(core.input?.[1] ?? '');
  if (!w || !w.dims || w.dims.length !== 2) {
    throw new ModelFileError(`${what}: ${core.opType} ${core.name} has no 2-D weight initializer (its second input is ${core.input?.[1] ?? 'missing'})`);
  }
  // MatMulInteger's weight is int8/uint8; its input comes from a DynamicQuantizeLinear, which takes float32 only
  return { width: Number(w.dims[0]), elemType: core.opType === 'MatMulInteger' ? onnx.TensorProto.DataType.FLOAT : (w.dataType ?? onnx.TensorProto.DataType.FLOAT) };
}

/**
 * `nodes` (a projection found by name) and, when it reads quantized values
 * made outside it (onnxruntime's naming), the quantizer of their float source
 * X: the nodes named `X_*`. Unchanged when every entry comes from elsewhere.
 */
function withQuantizer(nodes: NodeProto[], entries: string[], producer: Map<string, NodeProto>, graph: GraphProto, what: string, layer: number): NodeProto[] {
  // by name, not by the node's input: in a prepared graph X_QuantizeLinear reads the shifted X
  const sources = new Set<string>();
  for (const e of entries) {
    const name = producer.get(e)?.name ?? '';
    if (name.endsWith(QUANTIZER)) sources.add(name.slice(0, -QUANTIZER.length));
  }
  if (sources.size !== 1) return nodes;
  const [x] = sources;
  const quantizer = (graph.node ?? []).filter((n) => (n.name ?? '').startsWith(`${x}_`) && !nodes.includes(n));
  const group = [...nodes, ...quantizer];
  const made = new Set(quantizer.flatMap((n) => n.output ?? []));
  const outside = (graph.node ?? []).find((n) => !group.includes(n) && n.input?.some((i) => made.has(i)));
  if (outside) {
    throw new ModelFileError(`${what}: the quantizer of ${x} before the output projection of layer ${layer} also feeds ${outside.opType} ${outside.name}: a shift there would reach it too`);
  }
  return group;
}

/**
 * The output projection of every layer found in `graph` (a branch of the
 * merged decoder, or an unmerged decoder's main graph), by layer. `outer` is
 * the main graph (whose initializers a branch reads); `what` names the file
 * and graph in errors.
 */
export function findOutProjs(graph: GraphProto, outer: GraphProto, what: string): Map<number, OutProj> {
  const groups = new Map<number, NodeProto[]>();
  for (const n of graph.node ?? []) {
    const m = NAME.exec(n.name ?? '');
    if (m) groups.set(Number(m[1]), [...(groups.get(Number(m[1])) ?? []), n]);
  }
  const inits = new Map([...(outer.initializer ?? []), ...(graph.initializer ?? [])].map((t) => [t.name!, t]));
  const constants = new Set([outer, graph].flatMap((g) => (g.node ?? []).filter((n) => n.opType === 'Constant').flatMap((n) => n.output ?? [])));
  const producer = new Map((graph.node ?? []).flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  const entriesOf = (nodes: NodeProto[]) => {
    const made = new Set(nodes.flatMap((n) => n.output ?? []));
    return [...new Set(nodes.flatMap((n) => n.input ?? []))].filter((i) => i !== '' && !made.has(i) && !inits.has(i) && !constants.has(i));
  };
  const found = new Map<number, OutProj>();
  for (const [layer, named] of groups) {
    const core = named.find((n) => n.opType === 'MatMul' || n.opType === 'MatMulInteger' || n.opType === 'MatMulNBits');
    if (!core) throw new ModelFileError(`${what}: the nodes named ${outProjName(layer)}* are ${named.map((n) => n.opType).join(', ')}: expected ${OUT_PROJ_FORMS}`);
    // only a MatMulInteger reads quantized activations
    const nodes = core.opType === 'MatMulInteger' ? withQuantizer(named, entriesOf(named), producer, graph, what, layer) : named;
    const entries = entriesOf(nodes);
    if (entries.length !== 1) {
      throw new ModelFileError(`${what}: the output projection of layer ${layer} (${outProjName(layer)}*) reads ${entries.length} non-weight tensors (${entries.join(', ') || 'none'}): expected one, the head outputs`);
    }
    const { width, elemType } = shapeOf(core, (name) => inits.get(name), what);
    if (!FLOATS.has(elemType)) throw new ModelFileError(`${what}: the output projection of layer ${layer} takes element type ${elemType}, expected a float type`);
    found.set(layer, { entry: entries[0], readers: nodes.filter((n) => n.input?.includes(entries[0])), width, elemType, op: core.opType! });
  }
  return found;
}
