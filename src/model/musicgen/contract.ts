/**
 * The MusicGen ONNX contract as optimum / transformers.js export it: the
 * tensor names, element types and ranks of text_encoder.onnx and
 * decoder_model_merged.onnx. This module is the one place those names are
 * spelled; the folder loader checks a model against it before generating,
 * and the decoder session feeds it.
 */
import { ModelFileError, type OnnxSession, type TensorSpec } from '../onnx/session.js';

export const TEXT_INPUT_IDS = 'input_ids';
export const TEXT_ATTENTION_MASK = 'attention_mask';
export const TEXT_LAST_HIDDEN_STATE = 'last_hidden_state';

export const DEC_INPUT_IDS = 'input_ids';
export const DEC_ENCODER_STATES = 'encoder_hidden_states';
export const DEC_ENCODER_MASK = 'encoder_attention_mask';
export const DEC_USE_CACHE = 'use_cache_branch';
export const DEC_LOGITS = 'logits';

/** encodec_decode.onnx: audio_codes int64 [1, B, K, T] -> audio_values float [B, 1, T * hop]. */
export const CODEC_AUDIO_CODES = 'audio_codes';
export const CODEC_AUDIO_VALUES = 'audio_values';

/** SMITIN's additions (smitin prepare): layer l's shift of the out_proj input, and its pre-shift value at the last position. */
export const itiName = (layer: number): string => `iti.${layer}`;
export const headsName = (layer: number): string => `heads.${layer}`;

export type KvPart = 'decoder' | 'encoder';
export type KvKind = 'key' | 'value';
export const KV_PARTS: readonly KvPart[] = ['decoder', 'encoder'];
export const KV_KINDS: readonly KvKind[] = ['key', 'value'];

export const pastName = (layer: number, part: KvPart, kind: KvKind): string => `past_key_values.${layer}.${part}.${kind}`;
export const presentName = (layer: number, part: KvPart, kind: KvKind): string => `present.${layer}.${part}.${kind}`;

/** The decoder's sizes, from config.json, that the graphs must agree with. */
export interface DecoderDims {
  layers: number;
  heads: number;
  headDim: number;
  codebooks: number;
  vocab: number;
  textDim: number;
}

const FLOATS = ['float32', 'float16'] as const;
type Expect = { types: readonly string[]; rank: number; dims?: Record<number, [number, string]> };

function checkTensor(session: OnnxSession, io: 'input' | 'output', name: string, expect: Expect): TensorSpec {
  const spec = io === 'input' ? session.input(name) : session.output(name);
  const file = session.path;
  if (!spec) {
    const have = io === 'input' ? session.inputNames : session.outputNames;
    const list = have.length > 6 ? `${have.slice(0, 6).join(', ')}, ... (${have.length} in all)` : have.join(', ') || 'none';
    throw new ModelFileError(`${file}: has no ${io} ${name} (not a MusicGen export with the optimum/transformers.js contract); its ${io}s: ${list}`);
  }
  const want = `${expect.types.join(' or ')} of rank ${expect.rank}`;
  if (!expect.types.includes(spec.type) || spec.shape.length !== expect.rank) {
    throw new ModelFileError(`${file}: ${io} ${name} must be ${want}, but is ${spec.type} [${spec.shape.join(', ')}]`);
  }
  for (const [axis, [value, field]] of Object.entries(expect.dims ?? {})) {
    const d = spec.shape[Number(axis)];
    if (typeof d === 'number' && d !== value) {
      throw new ModelFileError(`${file}: ${io} ${name} has ${d} in dimension ${axis}, but config.json ${field} gives ${value}`);
    }
  }
  return spec;
}

export function checkTextEncoder(session: OnnxSession, textDim: number): void {
  for (const name of [TEXT_INPUT_IDS, TEXT_ATTENTION_MASK]) checkTensor(session, 'input', name, { types: ['int64'], rank: 2 });
  checkTensor(session, 'output', TEXT_LAST_HIDDEN_STATE, { types: FLOATS, rank: 3, dims: { 2: [textDim, 'text_encoder.d_model'] } });
}

/** Layers the graph has past inputs for: past_key_values.{i}.decoder.key for i = 0, 1, ... */
function countLayers(session: OnnxSession): number {
  let n = 0;
  while (session.input(pastName(n, 'decoder', 'key'))) n++;
  return n;
}

/** The vocabulary is the logits' last dimension; a symbolic one is checked again on the first run. */
export function checkLogitsWidth(file: string, width: number | string | undefined, vocab: number): void {
  if (typeof width === 'number' && width !== vocab) {
    throw new ModelFileError(
      `${file}: output logits scores ${width} ids per codebook (its last dimension), but config.json decoder.vocab_size is ${vocab}: the config does not belong to this graph`,
    );
  }
}

export function checkDecoder(session: OnnxSession, dims: DecoderDims): void {
  const file = session.path;
  checkTensor(session, 'input', DEC_INPUT_IDS, { types: ['int64'], rank: 2 });
  checkTensor(session, 'input', DEC_ENCODER_STATES, { types: FLOATS, rank: 3, dims: { 2: [dims.textDim, 'text_encoder.d_model'] } });
  checkTensor(session, 'input', DEC_ENCODER_MASK, { types: ['int64'], rank: 2 });
  checkTensor(session, 'input', DEC_USE_CACHE, { types: ['bool'], rank: 1 });
  const logits = checkTensor(session, 'output', DEC_LOGITS, { types: FLOATS, rank: 3 });
  checkLogitsWidth(file, logits.shape[2], dims.vocab);
  const layers = countLayers(session);
  if (layers !== dims.layers) {
    throw new ModelFileError(
      `${file}: has past_key_values for ${layers} layers, but config.json decoder.num_hidden_layers is ${dims.layers}`,
    );
  }
  const kvDims: Expect['dims'] = { 1: [dims.heads, 'decoder.num_attention_heads'], 3: [dims.headDim, 'decoder.hidden_size / num_attention_heads'] };
  for (let i = 0; i < layers; i++) {
    for (const part of KV_PARTS) {
      for (const kind of KV_KINDS) {
        checkTensor(session, 'input', pastName(i, part, kind), { types: FLOATS, rank: 4, dims: kvDims });
        checkTensor(session, 'output', presentName(i, part, kind), { types: FLOATS, rank: 4, dims: kvDims });
      }
    }
  }
}

/** encodec_decode.onnx: audio_codes int64 [1, B, K, T] -> audio_values float [B, 1, samples]. */
export function checkEncodecDecoder(session: OnnxSession, codebooks: number): void {
  checkTensor(session, 'input', CODEC_AUDIO_CODES, { types: ['int64'], rank: 4, dims: { 2: [codebooks, 'decoder.num_codebooks'] } });
  checkTensor(session, 'output', CODEC_AUDIO_VALUES, { types: FLOATS, rank: 3 });
}
