/**
 * A MusicGen model folder as optimum / transformers.js export it:
 * config.json, generation_config.json, tokenizer.json and onnx/ (one file
 * per graph and dtype). Everything is read and checked against the contract
 * before the first step is generated; every error names the file, the field
 * or tensor, and what was expected.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { TINYBAND_CODEC, tinybandCodec, type TinybandCodec } from '../tinyband/codec.js';
import { encodecOf } from '../codec/encodec/traits.js';
import { codecTraits } from '../codec/traits.js';
import { ModelFileError, OnnxSession, type ExecutionProvider } from '../onnx/session.js';
import { checkDecoder, checkEncodecDecoder, checkTextEncoder, type DecoderDims } from './contract.js';
import { PromptTokenizer } from './tokenizer.js';
import { dtypesPresent, dtypeWords, graphDtypes, GRAPH_FILES, isDtype, onnxFile, DTYPES, type Dtype, type DtypeChoice, type GraphDtypes, type GraphName } from './dtype.js';

export const TEXT_ENCODER = GRAPH_FILES.text_encoder;
export const DECODER = GRAPH_FILES.decoder;
export const ENCODEC_DECODER = GRAPH_FILES.encodec;
export { TINYBAND_CODEC };

export function onnxPath(dir: string, graph: string, dtype: Dtype): string {
  return join(dir, onnxFile(graph, dtype));
}

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

const ConfigSchema = z.looseObject({
  model_type: z.literal('musicgen'),
  decoder: z.looseObject({
    vocab_size: posInt,
    num_codebooks: posInt,
    num_hidden_layers: posInt,
    num_attention_heads: posInt,
    hidden_size: posInt,
    pad_token_id: nonNegInt,
    bos_token_id: nonNegInt.optional(),
    max_position_embeddings: posInt.optional(),
  }),
  text_encoder: z.looseObject({ d_model: posInt, vocab_size: posInt.optional() }),
  audio_encoder: z.looseObject({
    model_type: z.string(),
    sampling_rate: posInt,
    frame_rate: z.number().positive().optional(),
    upsampling_ratios: z.array(posInt).nonempty().optional(),
  }),
  tinyband: z.looseObject({ codec: z.string(), frames_per_beat: posInt.optional() }).optional(),
});
type Config = z.infer<typeof ConfigSchema>;

const GenerationSchema = z.looseObject({
  decoder_start_token_id: nonNegInt.optional(),
  pad_token_id: nonNegInt.optional(),
  guidance_scale: z.number().nonnegative().nullable().optional(),
  top_k: nonNegInt.nullable().optional(),
  top_p: z.number().gt(0).lte(1).nullable().optional(),
  temperature: z.number().positive().nullable().optional(),
  do_sample: z.boolean().optional(),
  max_length: posInt.optional(),
});

/**
 * Where generation_config.json is silent: MusicGen's published settings
 * (audiocraft and the Hub's generation_config: sampling, top-k 250, CFG 3),
 * not transformers' generic greedy default, which makes MusicGen loop.
 */
const GENERATION_DEFAULTS = { guidance: 3, topK: 250, topP: 1, temperature: 1, doSample: true };

/** MusicGen's window when a folder names none: 30 s at 50 frames/s (its generation_config max_length). */
const DEFAULT_MAX_LENGTH = 1500;

export interface EncodecCodec {
  kind: 'encodec';
  /** The graph's name (onnx/<file>.onnx before the dtype suffix). */
  file: string;
  /** Code frames per second (MusicGen's 32 kHz EnCodec: 50). */
  frameRate: number;
  /** Samples per frame at the model's sampling_rate (640). */
  hop: number;
}

/** A model's codec: what turns its tokens into audio. Its properties: codecTraits (model/codec/traits.ts). */
export type Codec = TinybandCodec | EncodecCodec;

export interface GenerationDefaults {
  guidance: number;
  topK: number;
  topP: number;
  temperature: number;
  doSample: boolean;
}

/** The checked JSON side of a model folder. */
export interface ModelSpec {
  dir: string;
  /** Each graph's dtype (the EnCodec encoder follows `encodec`). */
  dtype: GraphDtypes;
  dims: DecoderDims;
  /** Delay-pattern pad id. */
  padId: number;
  /** First decoder input of every codebook. */
  bosId: number;
  /** Frames one window can hold: generation_config max_length (or the position table) less the delay. */
  maxFrames: number;
  generation: GenerationDefaults;
  codec: Codec;
  sampleRate: number;
  /** codec: the EnCodec decoder graph, for models whose audio_encoder is encodec, when the folder has it (see requireCodecFile). */
  files: { textEncoder: string; decoder: string; codec?: string };
}

function fail(file: string, what: string): never {
  throw new ModelFileError(`${file}: ${what}`);
}

function readJson(path: string): unknown {
  if (!existsSync(path)) fail(path, 'missing (a MusicGen export folder has config.json, generation_config.json, tokenizer.json and onnx/)');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    fail(path, `cannot be read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(path, `not valid JSON: ${(err as Error).message}`);
  }
}

function parseWith<T>(path: string, schema: z.ZodType<T>, data: unknown, hint = ''): T {
  const r = schema.safeParse(data, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue.path.length ? issue.path.join('.') : '(top level)';
  // zod says "received string"; the value itself, given below, says more
  const message = issue.message.replace(/^Invalid input: /, '').replace(/, received \w+$/, '');
  const input = (issue as { input?: unknown }).input;
  const got = input === undefined ? ', but it is missing' : `, got: ${JSON.stringify(input)}`;
  fail(path, `${where}: ${message}${got}${issue.path.length <= 1 ? hint : ''}`);
}

function codecOf(path: string, config: Config): Codec {
  if (config.tinyband) return tinybandCodec(path, { decoder: config.decoder, tinyband: config.tinyband });
  if (config.audio_encoder.model_type === 'encodec') return { kind: 'encodec', file: ENCODEC_DECODER, ...encodecRates(path, config) };
  fail(path, `audio_encoder.model_type: expected "encodec" (or a tinyband.codec of "${TINYBAND_CODEC}"), got: ${JSON.stringify(config.audio_encoder.model_type)}`);
}

/**
 * EnCodec's frame rate: audio_encoder.frame_rate when the config spells it,
 * else sampling_rate over the product of upsampling_ratios (transformers
 * derives it so), else MusicGen's 50 frames/s. A frame must be a whole number
 * of samples.
 */
function encodecRates(path: string, config: Config): { frameRate: number; hop: number } {
  const a = config.audio_encoder;
  const hop = a.frame_rate !== undefined ? a.sampling_rate / a.frame_rate : a.upsampling_ratios ? a.upsampling_ratios.reduce((x, y) => x * y, 1) : a.sampling_rate / 50;
  if (!Number.isInteger(hop)) {
    fail(path, `audio_encoder: sampling_rate ${a.sampling_rate} is not a whole number of samples per frame at frame_rate ${a.frame_rate ?? 50}`);
  }
  return { frameRate: a.sampling_rate / hop, hop };
}

function requireOnnx(dir: string, graph: GraphName, dtypes: GraphDtypes, use = ''): string {
  const file = GRAPH_FILES[graph];
  const path = onnxPath(dir, file, dtypes[graph]);
  if (existsSync(path)) return path;
  let have: string[] = [];
  try {
    have = readdirSync(join(dir, 'onnx')).filter((f) => f.endsWith('.onnx'));
  } catch {
    // no onnx/ folder at all: said below
  }
  const present = dtypesPresent(file, have.map((f) => `onnx/${f}`));
  const why = have.length ? `this folder's onnx/ has: ${have.join(', ')}` : 'there is no onnx/ folder with .onnx files';
  const there = present.length ? `; ${graph} is there as ${present.join(', ')}` : '';
  fail(path, `missing (${use}--dtype ${dtypeWords(dtypes, graph)} needs ${onnxFile(file, dtypes[graph]).slice('onnx/'.length)}; ${why}${there})`);
}

/**
 * The EnCodec decoder graph of an EnCodec model, or a ModelFileError naming
 * it. Loading does not need it (generating tokens does not decode them);
 * whatever turns tokens into audio asks for it here.
 */
export function requireCodecFile(spec: ModelSpec): string {
  if (!codecTraits(spec.codec).onnxGraph) throw new Error(`the ${spec.codec.kind} codec has no ONNX graph`);
  return spec.files.codec ?? requireOnnx(spec.dir, 'encodec', spec.dtype, 'decoding EnCodec codes to audio: ');
}

/** Reads and checks config.json, generation_config.json and tokenizer.json, and finds the .onnx files for `choice` (one dtype, or each graph's). */
export function readModelFolder(dir: string, choice: DtypeChoice = 'fp32'): { spec: ModelSpec; tokenizer: PromptTokenizer } {
  const dtype = graphDtypes(choice);
  for (const d of Object.values(dtype)) if (!isDtype(d)) throw new ModelFileError(`--dtype must be one of ${DTYPES.join(', ')}, got: ${d}`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(dir, 'no such model folder');
  const configPath = join(dir, 'config.json');
  const config = parseWith(configPath, ConfigSchema, readJson(configPath), ' (is this a MusicGen export folder?)');
  const d = config.decoder;
  if (d.hidden_size % d.num_attention_heads !== 0) {
    fail(configPath, `decoder.hidden_size (${d.hidden_size}) must be a multiple of decoder.num_attention_heads (${d.num_attention_heads})`);
  }
  const codec = codecOf(configPath, config);
  const encodec = encodecOf(codec);

  const genPath = join(dir, 'generation_config.json');
  const gen = parseWith(genPath, GenerationSchema, readJson(genPath));
  const padId = gen.pad_token_id ?? d.pad_token_id;
  const bosId = gen.decoder_start_token_id ?? d.bos_token_id ?? padId;
  const positions = Math.min(gen.max_length ?? Infinity, d.max_position_embeddings ?? Infinity);
  const maxFrames = (Number.isFinite(positions) ? positions : DEFAULT_MAX_LENGTH) - d.num_codebooks;
  if (maxFrames < 1) fail(genPath, `max_length (${positions}) must exceed decoder.num_codebooks (${d.num_codebooks}): no room for a frame`);

  const tokPath = join(dir, 'tokenizer.json');
  let tokenizer: PromptTokenizer;
  try {
    tokenizer = PromptTokenizer.fromJson(readJson(tokPath), tokPath);
  } catch (err) {
    if (err instanceof ModelFileError) throw err;
    throw new ModelFileError((err as Error).message);
  }

  const spec: ModelSpec = {
    dir,
    dtype,
    dims: {
      layers: d.num_hidden_layers,
      heads: d.num_attention_heads,
      headDim: d.hidden_size / d.num_attention_heads,
      codebooks: d.num_codebooks,
      vocab: d.vocab_size,
      textDim: config.text_encoder.d_model,
    },
    padId,
    bosId,
    maxFrames,
    generation: {
      guidance: gen.guidance_scale ?? GENERATION_DEFAULTS.guidance,
      topK: gen.top_k ?? GENERATION_DEFAULTS.topK,
      topP: gen.top_p ?? GENERATION_DEFAULTS.topP,
      temperature: gen.temperature ?? GENERATION_DEFAULTS.temperature,
      doSample: gen.do_sample ?? GENERATION_DEFAULTS.doSample,
    },
    codec,
    sampleRate: config.audio_encoder.sampling_rate,
    files: {
      textEncoder: requireOnnx(dir, 'text_encoder', dtype),
      decoder: requireOnnx(dir, 'decoder', dtype),
      // optional at load (token generation does not need it); checked against the contract when present
      ...(encodec && existsSync(onnxPath(dir, encodec.file, dtype.encodec)) ? { codec: onnxPath(dir, encodec.file, dtype.encodec) } : {}),
    },
  };
  return { spec, tokenizer };
}

export interface LoadOptions {
  dtype?: DtypeChoice;
  /** Open this decoder file instead of the folder's (SMITIN's prepared decoder); it is checked against the same contract. */
  decoderFile?: string;
  ep?: ExecutionProvider;
  threads?: number;
}

/** A loaded model: checked files and open sessions. Call release() when done. */
export interface MusicgenModel {
  spec: ModelSpec;
  /** Intra-op threads the sessions run with (undefined: onnxruntime's choice). */
  threads: number | undefined;
  tokenizer: PromptTokenizer;
  textEncoder: OnnxSession;
  decoder: OnnxSession;
  /** encodec_decode.onnx, for models whose audio_encoder is encodec and whose folder has it; null otherwise (tinyband's codec is the synthesizer). */
  codec: OnnxSession | null;
  release(): Promise<void>;
}

/** Below this decoder width one step's matrix products are too small to split across threads. */
const SMALL_MODEL_WIDTH = 512;

/**
 * Intra-op threads when none are asked for: 1 for tinyband-sized decoders,
 * where waking a thread pool costs more than the work it shares, and
 * onnxruntime's own choice (the physical cores) for MusicGen sizes.
 * Measured on tinyband with CFG, our 2-core CPU idle: one thread 1.33 ms
 * mean, p99 5.1 ms; two threads 1.50 ms mean, p99 9.8 ms (a lower p50, but
 * the tail is what underruns a live ring); with another job on the cores,
 * two threads were 2.4x slower.
 */
export function defaultThreads(spec: ModelSpec): number | undefined {
  return spec.dims.heads * spec.dims.headDim < SMALL_MODEL_WIDTH ? 1 : undefined;
}

export async function loadModel(dir: string, options: LoadOptions = {}): Promise<MusicgenModel> {
  const { spec, tokenizer } = readModelFolder(dir, options.dtype ?? 'fp32');
  const sessionOptions = { ep: options.ep, threads: options.threads ?? defaultThreads(spec) };
  const opened: OnnxSession[] = [];
  const releaseAll = async () => {
    await Promise.all(opened.map((s) => s.release()));
  };
  try {
    const textEncoder = await OnnxSession.create(spec.files.textEncoder, sessionOptions);
    opened.push(textEncoder);
    const decoder = await OnnxSession.create(options.decoderFile ?? spec.files.decoder, sessionOptions);
    opened.push(decoder);
    let codec: OnnxSession | null = null;
    if (spec.files.codec) {
      codec = await OnnxSession.create(spec.files.codec, sessionOptions);
      opened.push(codec);
    }
    checkTextEncoder(textEncoder, spec.dims.textDim);
    checkDecoder(decoder, spec.dims);
    if (codec) checkEncodecDecoder(codec, spec.dims.codebooks);
    return { spec, threads: sessionOptions.threads, tokenizer, textEncoder, decoder, codec, release: releaseAll };
  } catch (err) {
    await releaseAll();
    throw err;
  }
}
