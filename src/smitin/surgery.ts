/**
 * Graph surgery that makes a MusicGen decoder steerable (docs/architecture.md, SMITIN as implemented):
 * for every decoder layer l the prepared graph has
 *
 *   input  iti.{l}   float [total_batch_size, H*Dh]: added to the input of
 *                    self_attn/out_proj (the concatenated head outputs) at
 *                    every position of the run (Unsqueeze on axis 1, then Add);
 *                    in a quantized graph (q8, q4) that input is still float,
 *                    so the shift is added before quantization (out-proj.ts);
 *   output heads.{l} float [total_batch_size, H*Dh]: that out_proj input at
 *                    the last position, taken BEFORE the shift is added, so
 *                    the self-monitor never reads its own push.
 *
 * The merged export holds the decoder twice, in the then (with past) and else
 * (no past) branches of an If on use_cache_branch; both are rewired. The
 * branches read iti.{l} from the outer scope, so it is declared once; each
 * branch gains an output heads.{l}, and the If node and the outer graph a
 * matching output (If outputs are positional). A graph without an If (a
 * decoder exported unmerged) is rewired in place.
 *
 * The ONNX protobuf is read and written with onnx-proto (protobufjs code
 * compiled from onnx.proto). Initializers are never touched: weights kept in
 * external data files stay there (their TensorProto holds only a location
 * relative to the .onnx file, and the prepared file is written beside the
 * original, so the references stay valid; nothing is inlined or copied).
 * Re-encoding writes repeated scalars packed where the exporter wrote them
 * unpacked (TensorProto dims): the bytes differ, the meaning does not.
 */
import onnxProto from 'onnx-proto';
import { ModelFileError } from '../model/onnx/session.js';
import { headsName, itiName } from '../model/musicgen/contract.js';
import { findOutProjs, OUT_PROJ_FORMS, OUT_PROJ_PATTERN, outProjName, type OutProj } from './out-proj.js';

const { onnx } = onnxProto;
type ModelProto = onnxProto.onnx.ModelProto;
type GraphProto = onnxProto.onnx.IGraphProto;
type NodeProto = onnxProto.onnx.INodeProto;

export { headsName, itiName, OUT_PROJ_PATTERN, outProjName };
/** The dimension name of the decoder batch (2B with guidance), as the export names past_key_values' first axis. */
export const BATCH_DIM = 'total_batch_size';
/** Model metadata key that marks a prepared graph. */
export const PREPARED_KEY = 'smitin.iti';
/**
 * Model metadata key of a prepared graph: the fingerprint (decoderFingerprint)
 * of the decoder it was made from. A prepared graph holds its own copy of the
 * weights, so one made from another (or an older) export must be rebuilt;
 * file times cannot tell (copies and downloads reset them).
 */
export const SOURCE_KEY = 'smitin.source';

const USE_CACHE = 'use_cache_branch';
const LAST_INDEX = 'smitin.last_index';
const AXIS_1 = 'smitin.axis_1';

export interface PrepareResult {
  bytes: Uint8Array;
  layers: number;
  /** H * Dh: the width of iti.{l} and heads.{l}. */
  width: number;
  /** Where the out_proj nodes were rewired: "then_branch", "else_branch", or "graph" for an unmerged decoder. */
  graphs: string[];
  /** The input already was a prepared graph: returned as it was (re-encoded). */
  alreadyPrepared: boolean;
  /** Initializers whose data lives in external files (left there). */
  externalTensors: number;
}

function findIf(graph: GraphProto): NodeProto | undefined {
  return (graph.node ?? []).find((n) => n.opType === 'If' && n.input?.[0] === USE_CACHE);
}

function branches(ifNode: NodeProto): { name: string; graph: GraphProto }[] {
  return ['then_branch', 'else_branch'].map((name) => {
    const g = ifNode.attribute?.find((a) => a.name === name)?.g;
    if (!g) throw new ModelFileError(`the If node on ${USE_CACHE} has no ${name} graph`);
    return { name, graph: g };
  });
}

function tensorType(elemType: number, dims: (number | string)[]): onnxProto.onnx.ITypeProto {
  return {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  };
}

function int64Tensor(name: string, values: number[], dims: number[]): onnxProto.onnx.ITensorProto {
  return { name, dataType: onnx.TensorProto.DataType.INT64, dims, int64Data: values };
}

function opsetOf(model: ModelProto): number {
  const d = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return d ? Number(d.version) : 0;
}

/**
 * Rewires `model` (decoded; changed in place) and returns the encoded prepared graph.
 * `file` names the model in errors; `expectLayers` (config.json num_hidden_layers) is checked when given;
 * `source`, the fingerprint of the file `model` was read from, is recorded under SOURCE_KEY.
 */
export function prepareModel(model: ModelProto, file: string, expectLayers?: number, source?: string): PrepareResult {
  const main = model.graph;
  if (!main) throw new ModelFileError(`${file}: has no graph`);
  const ifNode = findIf(main);
  const targets = ifNode ? branches(ifNode) : [{ name: 'graph', graph: main }];
  const where = ifNode ? `the then_branch and else_branch of the If on ${USE_CACHE}` : `the main graph (it has no If on ${USE_CACHE})`;
  const externalTensors = (main.initializer ?? []).filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL).length;

  const found = targets.map((t) => ({ ...t, layers: findOutProjs(t.graph, main, `${file} (${t.name})`) }));
  for (const t of found) {
    if (t.layers.size === 0) {
      throw new ModelFileError(`${file}: cannot find the self-attention output projection: no node named ${OUT_PROJ_PATTERN} (${OUT_PROJ_FORMS}) in ${t.name === 'graph' ? where : `the ${t.name} of the If on ${USE_CACHE}`}`);
    }
  }
  const layers = found[0].layers.size;
  for (const t of found) {
    for (let l = 0; l < layers; l++) {
      if (!t.layers.has(l)) throw new ModelFileError(`${file}: no node named ${outProjName(l)} in ${t.name === 'graph' ? where : `the ${t.name}`} (layers 0..${layers - 1} expected)`);
    }
    if (t.layers.size !== layers) throw new ModelFileError(`${file}: ${t.name} has out_proj for ${t.layers.size} layers, ${found[0].name} for ${layers}`);
  }
  if (expectLayers !== undefined && layers !== expectLayers) {
    throw new ModelFileError(`${file}: has out_proj nodes for ${layers} layers, but config.json decoder.num_hidden_layers is ${expectLayers}`);
  }

  // width and float type from layer 0's projection; every layer of every branch must agree
  const { width, elemType } = found[0].layers.get(0)!;
  for (const t of found) {
    for (const [l, p] of t.layers) {
      if (p.width !== width || p.elemType !== elemType) {
        throw new ModelFileError(`${file}: the output projection of layer ${l} in the ${t.name} takes ${p.width} values of type ${p.elemType}, layer 0 of the ${found[0].name} ${width} of type ${elemType}`);
      }
    }
  }

  const already = (main.input ?? []).some((i) => i.name === itiName(0));
  if (already) {
    for (let l = 0; l < layers; l++) {
      if (!main.input!.some((i) => i.name === itiName(l)) || !main.output!.some((o) => o.name === headsName(l))) {
        throw new ModelFileError(`${file}: is partly prepared: it has input ${itiName(0)} but not ${itiName(l)} / output ${headsName(l)}`);
      }
    }
    return { bytes: onnx.ModelProto.encode(model).finish(), layers, width, graphs: found.map((t) => t.name), alreadyPrepared: true, externalTensors };
  }
  for (const name of [...Array(layers).keys()].flatMap((l) => [itiName(l), headsName(l)])) {
    const clash = [...(main.input ?? []), ...(main.output ?? [])].find((v) => v.name === name);
    if (clash) throw new ModelFileError(`${file}: already has a value named ${name}`);
  }

  const opset = opsetOf(model);
  main.initializer = [...(main.initializer ?? []), int64Tensor(LAST_INDEX, [-1], []), ...(opset >= 13 ? [int64Tensor(AXIS_1, [1], [1])] : [])];

  for (const t of found) {
    const nodes = t.graph.node!;
    for (let l = 0; l < layers; l++) {
      const proj: OutProj = t.layers.get(l)!;
      const x = proj.entry;
      const p = `/smitin/layers.${l}`;
      const unsq = `${p}/iti/Unsqueeze_output_0`;
      const shifted = `${p}/iti/Add_output_0`;
      const added: NodeProto[] = [
        // heads.{l}: the last position of the unshifted input (Gather with a scalar index drops the axis)
        { name: `${p}/heads/Gather`, opType: 'Gather', input: [x, LAST_INDEX], output: [headsName(l)], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
        opset >= 13
          ? { name: `${p}/iti/Unsqueeze`, opType: 'Unsqueeze', input: [itiName(l), AXIS_1], output: [unsq] }
          : { name: `${p}/iti/Unsqueeze`, opType: 'Unsqueeze', input: [itiName(l)], output: [unsq], attribute: [{ name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] }] },
        { name: `${p}/iti/Add`, opType: 'Add', input: [x, unsq], output: [shifted] },
      ];
      // before the first reader in node order, so the graph stays topologically sorted
      nodes.splice(Math.min(...proj.readers.map((n) => nodes.indexOf(n))), 0, ...added);
      for (const n of proj.readers) n.input = n.input!.map((i) => (i === x ? shifted : i));
      if (ifNode) t.graph.output!.push({ name: headsName(l), type: tensorType(elemType, [BATCH_DIM, width]) });
    }
  }
  for (let l = 0; l < layers; l++) {
    main.input!.push({ name: itiName(l), type: tensorType(elemType, [BATCH_DIM, width]) });
    main.output!.push({ name: headsName(l), type: tensorType(elemType, [BATCH_DIM, width]) });
    if (ifNode) ifNode.output!.push(headsName(l));
  }
  model.metadataProps = [
    ...(model.metadataProps ?? []).filter((p) => p.key !== PREPARED_KEY && p.key !== SOURCE_KEY),
    { key: PREPARED_KEY, value: `layers=${layers} width=${width}` },
    ...(source !== undefined ? [{ key: SOURCE_KEY, value: source }] : []),
  ];
  return { bytes: onnx.ModelProto.encode(model).finish(), layers, width, graphs: found.map((t) => t.name), alreadyPrepared: false, externalTensors };
}

/** Decodes ONNX bytes; a file that is not a ModelProto is a ModelFileError naming it. */
export function decodeModel(bytes: Uint8Array, file: string): ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ModelFileError(`${file}: not an ONNX model (${(err as Error).message})`);
  }
}

export function prepareBytes(bytes: Uint8Array, file: string, expectLayers?: number, source?: string): PrepareResult {
  return prepareModel(decodeModel(bytes, file), file, expectLayers, source);
}

/** onnx/<decoder>[_dtype].iti.onnx beside the original. */
export function preparedPath(decoderPath: string): string {
  return decoderPath.replace(/\.onnx$/, '.iti.onnx');
}
