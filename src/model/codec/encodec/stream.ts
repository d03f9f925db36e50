/**
 * Streaming EnCodec decoding: code frames (one token per codebook) come in
 * one at a time from the generator; mono audio at the model's sampling rate
 * comes out in chunks, each at a bounded cost. Nothing is decoded twice over
 * the whole piece: every call decodes one window of overlapping frames.
 *
 * Windows. Let B be the frame up to which audio is final, and e the frames
 * received when a chunk is due (e = last window's end + chunk). One call
 * decodes frames [B - context, e): `context` frames of left context warm the
 * decoder's convolutions (and EnCodec's LSTM) so the samples from B on are
 * what a one-shot decode gives. It emits the samples of frames [B, e - margin)
 * and holds back the last `margin` frames, whose samples lack right context
 * (EnCodec's 32 kHz decoder is not causal); the next window decodes them again
 * with that context. So one call feeds at most context + margin + chunk frames
 * to onnxruntime, however long the piece.
 *
 * Seams. Each call also keeps `overlap` samples just past its emitted end (the
 * start of the held margin). The next call's first `overlap` samples are a
 * crossfade from those into its own, raised-cosine (cos^2 / sin^2). The two
 * are decodes of the same frames and almost equal, i.e. fully correlated, so
 * the gains sum to 1 (an equal-power fade would add up to +3 dB there).
 *
 * flush() decodes what is left (the held margin and any frames short of a
 * chunk) and emits it all.
 *
 * Threading model: onnxruntime-node runs the graph synchronously on the
 * calling thread (see onnx/session.ts); a push() that completes a chunk blocks
 * that thread for one decode of context + margin + chunk frames. The live
 * engine calls it from its generation worker, between decoder steps. One call
 * at a time: the stream is not re-entrant.
 */
import { halfToFloat32 } from '../../onnx/float16.js';
import { ort, type OnnxSession } from '../../onnx/session.js';
import { CODEC_AUDIO_CODES, CODEC_AUDIO_VALUES } from '../../musicgen/contract.js';

export interface EncodecStreamOptions {
  /** Frames decoded per call once the stream runs (default 25: 0.5 s at 50 frames/s). */
  chunk?: number;
  /** Frames of left context each call decodes again (default 10: 0.2 s). */
  context?: number;
  /**
   * Frames held back at the right edge until the next call has their right
   * context (default 4: 80 ms). It must cover the decoder's right receptive
   * field: MusicGen's 32 kHz SEANet decoder starts with a 7-tap conv over
   * frames (3 frames of right context) and its upsampling stack adds under one
   * more; the random-weight fixture needs 2. Too small a margin shows up as a
   * small error before each seam, not as a failure.
   */
  margin?: number;
  /** Crossfade length at each seam, in samples at the model rate (default: 5 ms; at most margin frames). */
  overlap?: number;
}

export const DEFAULT_ENCODEC_STREAM = { chunk: 25, context: 10, margin: 4, overlapSeconds: 0.005 } as const;

/** Figures for tests and benchmarks. */
export interface EncodecStreamStats {
  /** Decoder runs. */
  calls: number;
  /** Frames fed to onnxruntime, all calls. */
  framesFed: number;
  /** The most frames one call fed (bounded by context + margin + chunk). */
  maxFramesPerCall: number;
  /** Milliseconds inside the graph, all calls. */
  modelMs: number;
}

/** Runs encodec_decode.onnx on frames codebook-major (codes[k][t], t in [from, to)); returns the mono samples. */
export async function decodeCodes(
  session: OnnxSession,
  codes: readonly ArrayLike<number>[],
  from = 0,
  to = codes[0]?.length ?? 0,
): Promise<Float32Array> {
  const K = codes.length;
  const T = to - from;
  if (T <= 0) return new Float32Array(0);
  const ids = new BigInt64Array(K * T);
  for (let k = 0; k < K; k++) for (let t = 0; t < T; t++) ids[k * T + t] = BigInt(codes[k][from + t]);
  const out = await session.run({ [CODEC_AUDIO_CODES]: new ort.Tensor('int64', ids, [1, 1, K, T]) });
  const values = out[CODEC_AUDIO_VALUES];
  if (!values) throw new Error(`${session.path}: run returned no ${CODEC_AUDIO_VALUES}`);
  const samples = values.type === 'float16' ? halfToFloat32(values.data as Uint16Array) : Float32Array.from(values.data as Float32Array);
  if (samples.length % T !== 0) {
    throw new Error(`${session.path}: ${CODEC_AUDIO_VALUES} has ${samples.length} samples for ${T} frames: not a whole number per frame`);
  }
  return samples;
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got: ${value}`);
  return value;
}

export class EncodecStream {
  readonly chunk: number;
  readonly context: number;
  readonly margin: number;
  readonly overlap: number;
  readonly stats: EncodecStreamStats = { calls: 0, framesFed: 0, maxFramesPerCall: 0, modelMs: 0 };
  /** Frames kept, codebook-major; frames[k][i] is frame base + i. */
  private readonly frames: number[][];
  private base = 0;
  /** Frames received. */
  private received = 0;
  /** End of the last window (frames). */
  private decodedTo = 0;
  /** Audio is final before this frame. */
  private final = 0;
  /** The last window's samples just past `final`, to crossfade from. */
  private tail: Float32Array | null = null;
  private flushed = false;

  /**
   * @param session encodec_decode.onnx (checked against the contract by loadModel)
   * @param codebooks tokens per frame (4 for MusicGen)
   * @param hop samples per frame at the model rate (640 for 32 kHz at 50 frames/s)
   */
  constructor(
    private readonly session: OnnxSession,
    readonly codebooks: number,
    readonly hop: number,
    options: EncodecStreamOptions = {},
  ) {
    checkCount('codebooks', codebooks, 1);
    checkCount('hop', hop, 1);
    this.chunk = checkCount('chunk', options.chunk ?? DEFAULT_ENCODEC_STREAM.chunk, 1);
    this.context = checkCount('context', options.context ?? DEFAULT_ENCODEC_STREAM.context, 0);
    this.margin = checkCount('margin', options.margin ?? DEFAULT_ENCODEC_STREAM.margin, 0);
    if (this.margin >= this.chunk) throw new RangeError(`margin (${this.margin}) must be below chunk (${this.chunk})`);
    // 5 ms at 32 kHz with 50 frames/s (hop 640): the model rate is hop * 50 there; other rates scale with hop
    const overlap = options.overlap ?? Math.round(DEFAULT_ENCODEC_STREAM.overlapSeconds * hop * 50);
    this.overlap = Math.min(checkCount('overlap', overlap, 0), this.margin * hop);
    this.frames = Array.from({ length: codebooks }, () => []);
  }

  /** The most frames one decoder run is fed. */
  get maxWindow(): number {
    return this.context + this.margin + this.chunk;
  }

  /** Samples (model rate) emitted so far. */
  get emittedSamples(): number {
    return this.final * this.hop;
  }

  /** Adds one frame; returns the audio that became final (empty until a chunk is due). */
  async push(frame: ArrayLike<number>): Promise<Float32Array> {
    if (this.flushed) throw new Error('the stream is flushed: start a new one');
    if (frame.length !== this.codebooks) throw new RangeError(`a frame has ${this.codebooks} tokens, got: ${frame.length}`);
    for (let k = 0; k < this.codebooks; k++) this.frames[k].push(frame[k]);
    this.received++;
    if (this.received - this.decodedTo < this.chunk) return new Float32Array(0);
    return this.decodeTo(this.received, false);
  }

  /** Decodes and returns everything not yet emitted; the stream takes no more frames. */
  async flush(): Promise<Float32Array> {
    if (this.flushed) return new Float32Array(0);
    this.flushed = true;
    if (this.received === this.final) return new Float32Array(0);
    return this.decodeTo(this.received, true);
  }

  private async decodeTo(end: number, last: boolean): Promise<Float32Array> {
    const H = this.hop;
    const start = Math.max(0, this.final - this.context);
    // frames before the window are never needed again
    const drop = start - this.base;
    if (drop > 0) {
      for (const row of this.frames) row.splice(0, drop);
      this.base = start;
    }
    const t0 = performance.now();
    const y = await decodeCodes(this.session, this.frames, start - this.base, end - this.base);
    this.stats.modelMs += performance.now() - t0;
    const fed = end - start;
    if (y.length !== fed * H) {
      throw new Error(`${this.session.path}: ${CODEC_AUDIO_VALUES} has ${y.length} samples for ${fed} frames, expected ${fed * H} (${H} per frame)`);
    }
    this.stats.calls++;
    this.stats.framesFed += fed;
    this.stats.maxFramesPerCall = Math.max(this.stats.maxFramesPerCall, fed);

    const to = last ? end : end - this.margin;
    const out = y.slice((this.final - start) * H, (to - start) * H);
    const tail = this.tail;
    if (tail) {
      const n = Math.min(tail.length, out.length);
      for (let i = 0; i < n; i++) {
        const s = Math.sin((Math.PI / 2) * ((i + 0.5) / n));
        const w = s * s;
        out[i] = tail[i] * (1 - w) + out[i] * w;
      }
    }
    this.tail = last || this.overlap === 0 ? null : y.slice((to - start) * H, (to - start) * H + this.overlap);
    this.final = to;
    this.decodedTo = end;
    return out;
  }
}
