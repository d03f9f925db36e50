/**
 * EnCodec's encoder: mono audio at the model's sampling rate in, code frames
 * (one token per codebook) out, through `onnx/encodec_encode.onnx`. SMITIN
 * uses it to turn audio stems into probe data for a real MusicGen.
 *
 * The contract is EncodecModel.encode's (transformers,
 * src/transformers/models/encodec/modeling_encodec.py):
 *
 *   input_values  float32 [batch, channels = 1, samples]   the waveform at config.audio_encoder.sampling_rate
 *   padding_mask  bool or int64 [batch, (1,) samples]      optional: fed all ones when the graph has it
 *                                                          (EncodecModel uses it only to normalise, which
 *                                                          MusicGen's encodec_32khz does not: normalize false)
 *   audio_codes   int64 [chunks = 1, batch, codebooks, frames]   frames = ceil(samples / hop)
 *
 * `encode` stacks the codes of its chunks on a first axis, one chunk when
 * chunk_length_s is null (as in every MusicGen's audio_encoder); that is the
 * same [1, B, K, T] layout encodec_decode.onnx takes as `audio_codes`
 * (optimum's MusicgenOnnxConfig). Its strided convolutions pad the input so a
 * partial last hop still yields a frame, hence ceil. optimum exports no
 * encoder for MusicGen (its MusicgenOnnxConfig leaves audio prompting as a
 * TODO), so a folder gets this file from its own export of
 * `model.audio_encoder.encode(input_values)[0]` with these names; a rank-3
 * [batch, codebooks, frames] output (the layout of transformers.js' DAC / Mimi
 * encoder_model.onnx) is read too. See docs/probes.md.
 *
 * Long audio is encoded in windows of `chunkFrames` frames with
 * `contextFrames` frames of audio either side that are encoded again and
 * dropped, so memory stays bounded for a whole song (EnCodec's receptive
 * field is a few frames; its LSTM sees the context).
 */
import { existsSync } from 'node:fs';
import { ModelFileError, OnnxSession, ort, type SessionOptions } from '../../onnx/session.js';
import { onnxPath, type ModelSpec } from '../../musicgen/folder.js';

/** onnx/<file>.onnx of the encoder (before the dtype suffix). */
export const ENCODEC_ENCODER = 'encodec_encode';
export const ENC_INPUT_VALUES = 'input_values';
export const ENC_PADDING_MASK = 'padding_mask';
export const ENC_AUDIO_CODES = 'audio_codes';

export interface EncodeOptions {
  /** Frames encoded per run (default 1500: 30 s at 50 frames/s). */
  chunkFrames?: number;
  /** Frames of audio either side of a window that are encoded and dropped (default 50: 1 s). */
  contextFrames?: number;
}

export const DEFAULT_ENCODE = { chunkFrames: 1500, contextFrames: 50 } as const;

function describe(s: { type: string; shape: readonly (number | string)[] }): string {
  return `${s.type} [${s.shape.join(', ')}]`;
}

/** Checks an encodec_encode.onnx against the contract above; a ModelFileError names the file, the tensor and what was expected. */
export function checkEncodecEncoder(session: OnnxSession, codebooks: number): void {
  const file = session.path;
  const input = session.input(ENC_INPUT_VALUES);
  if (!input) {
    throw new ModelFileError(`${file}: has no input ${ENC_INPUT_VALUES} (not an EnCodec encoder export: expected input_values float32 [batch, 1, samples]); its inputs: ${session.inputNames.join(', ') || 'none'}`);
  }
  if (input.type !== 'float32' || input.shape.length !== 3) {
    throw new ModelFileError(`${file}: input ${ENC_INPUT_VALUES} must be float32 [batch, 1, samples], but is ${describe(input)}`);
  }
  if (typeof input.shape[1] === 'number' && input.shape[1] !== 1) {
    throw new ModelFileError(`${file}: input ${ENC_INPUT_VALUES} takes ${input.shape[1]} channels; MusicGen's EnCodec is mono (1)`);
  }
  const mask = session.input(ENC_PADDING_MASK);
  if (mask && (!['bool', 'int64'].includes(mask.type) || (mask.shape.length !== 2 && mask.shape.length !== 3))) {
    throw new ModelFileError(`${file}: input ${ENC_PADDING_MASK} must be bool or int64 [batch, (1,) samples], but is ${describe(mask)}`);
  }
  const extra = session.inputNames.filter((n) => n !== ENC_INPUT_VALUES && n !== ENC_PADDING_MASK);
  if (extra.length) throw new ModelFileError(`${file}: has inputs the EnCodec encoder contract does not (${extra.join(', ')}); expected ${ENC_INPUT_VALUES} and optionally ${ENC_PADDING_MASK}`);
  const out = session.output(ENC_AUDIO_CODES);
  if (!out) {
    throw new ModelFileError(`${file}: has no output ${ENC_AUDIO_CODES} (expected int64 [1, batch, codebooks, frames]); its outputs: ${session.outputNames.join(', ') || 'none'}`);
  }
  if (!['int64', 'int32'].includes(out.type) || (out.shape.length !== 4 && out.shape.length !== 3)) {
    throw new ModelFileError(`${file}: output ${ENC_AUDIO_CODES} must be int64 [1, batch, codebooks, frames], but is ${describe(out)}`);
  }
  const k = out.shape[out.shape.length - 2];
  if (typeof k === 'number' && k !== codebooks) {
    throw new ModelFileError(`${file}: output ${ENC_AUDIO_CODES} has ${k} codebooks, but config.json decoder.num_codebooks gives ${codebooks}`);
  }
  if (out.shape.length === 4 && typeof out.shape[0] === 'number' && out.shape[0] !== 1) {
    throw new ModelFileError(`${file}: output ${ENC_AUDIO_CODES} has ${out.shape[0]} chunks; expected 1 (an export with chunk_length_s null)`);
  }
}

/** The encoder file of a model folder: onnx/encodec_encode{suffix}.onnx for its EnCodec dtype, else the fp32 one; null when there is none. */
export function encoderFile(spec: ModelSpec): string | null {
  for (const path of [onnxPath(spec.dir, ENCODEC_ENCODER, spec.dtype.encodec), onnxPath(spec.dir, ENCODEC_ENCODER, 'fp32')]) if (existsSync(path)) return path;
  return null;
}

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got: ${value}`);
  return value;
}

export class EncodecEncoder {
  private constructor(
    readonly session: OnnxSession,
    readonly codebooks: number,
    /** Samples per frame at `sampleRate`. */
    readonly hop: number,
    readonly sampleRate: number,
  ) {}

  /** Opens and checks the encoder of an EnCodec model folder; a ModelFileError says what is missing. */
  static async open(spec: ModelSpec, options: SessionOptions = {}): Promise<EncodecEncoder> {
    if (spec.codec.kind !== 'encodec') {
      throw new ModelFileError(`${spec.dir}: its codec is ${spec.codec.kind}, which has no audio encoder (EnCodec models only)`);
    }
    const file = encoderFile(spec);
    if (!file) {
      throw new ModelFileError(
        `${onnxPath(spec.dir, ENCODEC_ENCODER, 'fp32')}: missing: turning audio into codes needs EnCodec's encoder (input_values float32 [batch, 1, samples] -> audio_codes int64 [1, batch, ${spec.dims.codebooks}, frames]); optimum does not export it: make it with python3 training/export_encodec_encoder.py --model <the transformers checkpoint> --out ${spec.dir} (docs/probes.md)`,
      );
    }
    const session = await OnnxSession.create(file, options);
    try {
      return EncodecEncoder.fromSession(session, spec.dims.codebooks, spec.codec.hop, spec.sampleRate);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** Wraps an open session (checked here). */
  static fromSession(session: OnnxSession, codebooks: number, hop: number, sampleRate: number): EncodecEncoder {
    positiveInt('codebooks', codebooks, 1);
    positiveInt('hop', hop, 1);
    positiveInt('sampleRate', sampleRate, 1);
    checkEncodecEncoder(session, codebooks);
    return new EncodecEncoder(session, codebooks, hop, sampleRate);
  }

  /** Code frames for `samples` samples: ceil(samples / hop). */
  frames(samples: number): number {
    return Math.ceil(samples / this.hop);
  }

  /** Runs the graph once on `audio` (mono, model rate); codebook-major codes of ceil(length / hop) frames. */
  private async run(audio: Float32Array): Promise<Uint16Array[]> {
    const n = audio.length;
    const feeds: Record<string, ort.Tensor> = { [ENC_INPUT_VALUES]: new ort.Tensor('float32', audio, [1, 1, n]) };
    const mask = this.session.input(ENC_PADDING_MASK);
    if (mask) {
      const dims = mask.shape.length === 3 ? [1, 1, n] : [1, n];
      feeds[ENC_PADDING_MASK] = mask.type === 'bool' ? new ort.Tensor('bool', new Uint8Array(n).fill(1), dims) : new ort.Tensor('int64', new BigInt64Array(n).fill(1n), dims);
    }
    const out = (await this.session.run(feeds))[ENC_AUDIO_CODES];
    if (!out) throw new Error(`${this.session.path}: run returned no ${ENC_AUDIO_CODES}`);
    const dims = out.dims;
    const [chunks, batch, K, T] = dims.length === 4 ? dims : [1, ...dims];
    const expected = this.frames(n);
    if (chunks !== 1 || batch !== 1 || K !== this.codebooks || T !== expected) {
      throw new Error(`${this.session.path}: ${ENC_AUDIO_CODES} is [${dims.join(', ')}] for ${n} samples, expected [1, 1, ${this.codebooks}, ${expected}] (ceil(samples / ${this.hop}))`);
    }
    const data = out.data as BigInt64Array | Int32Array;
    const codes = Array.from({ length: K }, () => new Uint16Array(T));
    for (let k = 0; k < K; k++) {
      for (let t = 0; t < T; t++) {
        const v = Number(data[k * T + t]);
        if (v < 0 || v > 0xffff) throw new Error(`${this.session.path}: ${ENC_AUDIO_CODES} holds ${v} at codebook ${k}, frame ${t}: not a code`);
        codes[k][t] = v;
      }
    }
    return codes;
  }

  /**
   * Codebook-major codes (codes[k][t]) of mono audio at the model's rate:
   * ceil(length / hop) frames, encoded in windows of `chunkFrames` with
   * `contextFrames` of context either side.
   */
  async encode(audio: Float32Array, options: EncodeOptions = {}): Promise<Uint16Array[]> {
    if (audio.length === 0) throw new RangeError('encode needs at least one sample');
    const chunk = positiveInt('chunkFrames', options.chunkFrames ?? DEFAULT_ENCODE.chunkFrames, 1);
    const context = positiveInt('contextFrames', options.contextFrames ?? DEFAULT_ENCODE.contextFrames, 0);
    const H = this.hop;
    const total = this.frames(audio.length);
    if (total <= chunk) return this.run(audio);
    const codes = Array.from({ length: this.codebooks }, () => new Uint16Array(total));
    for (let start = 0; start < total; start += chunk) {
      const end = Math.min(total, start + chunk);
      const from = Math.max(0, start - context);
      const to = Math.min(total, end + context);
      const part = await this.run(audio.subarray(from * H, Math.min(audio.length, to * H)));
      for (let k = 0; k < this.codebooks; k++) codes[k].set(part[k].subarray(start - from, end - from), start);
    }
    return codes;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
