/**
 * MusicGen's streaming generator: one decoder step per call, the delay
 * pattern, guidance and sampling. step() returns the next completed frame
 * (one token id per codebook) or null while the delay pattern fills.
 *
 * Delay pattern (delay-pattern.ts): codebook k runs k steps behind codebook
 * 0. The decoder input at position q of codebook k is frame q-1-k of that
 * codebook: BOS at position 0, the pad id where q-1-k < 0, else a known
 * frame (given by the prompt, or sampled one step earlier). The output at
 * position q samples frame q-k of codebook k; frame f is complete when
 * codebook K-1 has it, at q = f + K - 1, so after the first K-1 steps every
 * step completes a frame.
 * A pad is never sampled (the logits cover ids below vocab_size, and a pad
 * inside that range is suppressed), so a pad in the input always means "not
 * started yet".
 *
 * A prompt of given frames (continuation, audiocraft's audio prompt) is fed
 * in one first run of P + 1 positions; its frames are not returned again,
 * and where the delay makes a codebook's next token a prompt frame, the
 * prompt frame is used instead of a sample.
 *
 * Endless generation (with `slide`): when the model's window is full, the
 * oldest frames are dropped and the rest, including the codebooks already
 * sampled for frames still in flight, are fed again in one run from
 * position 0 (audiocraft's extend_stride, with a re-primed cache). Because
 * in-flight tokens are kept, the seam costs one longer step and no null
 * steps: every token sampled before it stays as it was.
 *
 * Threading model: step() runs the decoder synchronously on the calling
 * thread (see onnx/session.ts); one step at a time. The live engine calls
 * it from its generation worker.
 */
import { applyAll, buildProcessors, checkGuidance, combineGuidance, makeSampler, Temperature, type LogitsProcessor, type Sampler, type SamplingSettings } from '../generation/index.js';
import { halfToFloat32 } from '../onnx/float16.js';
import type { OnnxSession } from '../onnx/session.js';
import { codecTraits } from '../codec/traits.js';
import type { Conditioning } from './conditioning.js';
import { DecoderSession } from './decoder-session.js';
import { knownPositions, outputFrame, positionsFor, writeDelayed } from './delay-pattern.js';
import type { ModelSpec } from './folder.js';
import type { StepHook } from '../steerable-decoder.js';

export interface SlideOptions {
  /** Frames (about) kept as context when the window slides. */
  keep: number;
  /** The frames dropped at a slide are a multiple of this, so every window starts where the model expects one (tinyband: on a bar). */
  align: number;
}

// the hooks' side of the seam is the generic one: they see a SteerableDecoder, not a DecoderSession
export type { DecoderRun, StepHook } from '../steerable-decoder.js';

export interface GeneratorOptions extends SamplingSettings {
  seed: number;
  doSample: boolean;
  /** Frames to continue from, codebook-major: prompt[k][f]. */
  prompt?: readonly ArrayLike<number>[];
  /** Ids codebook k may produce are below limits[k] (default: the codec's, where it has its own ranges). */
  codebookLimits?: readonly number[];
  /** Slide the window when it is full, instead of stopping. */
  slide?: SlideOptions;
  /** Runs around every decoder run (SMITIN). */
  hook?: StepHook;
}

/** Plain figures, read by the runner and benchmarks. */
export interface GeneratorMetrics {
  steps: number;
  frames: number;
  /** Window slides (re-primed caches). */
  slides: number;
  /** Milliseconds inside the decoder graph, all steps. */
  modelMs: number;
  /** Milliseconds in guidance, processors and sampling, all steps. */
  sampleMs: number;
  /** The longest step, ms (a slide's re-prime is the usual one). */
  maxStepMs: number;
}

/** audiocraft keeps 12 s of a 30 s window when it extends (extend_stride 18 s). */
export const DEFAULT_KEEP_FRACTION = 0.4;

/**
 * How the window slides past the model's length: keep audiocraft's share of
 * it as context; tinyband learned windows that start on a bar, so drop whole
 * bars.
 */
export function slideFor(spec: ModelSpec): SlideOptions {
  const align = codecTraits(spec.codec).tokenBarFrames;
  return { keep: Math.floor((DEFAULT_KEEP_FRACTION * spec.maxFrames) / align) * align, align };
}

export class MusicgenGenerator {
  readonly codebooks: number;
  readonly vocab: number;
  readonly promptFrames: number;
  readonly metrics: GeneratorMetrics = { steps: 0, frames: 0, slides: 0, modelMs: 0, sampleMs: 0, maxStepMs: 0 };
  private readonly decoder: DecoderSession;
  private readonly processors: LogitsProcessor[];
  private readonly sampler: Sampler;
  private readonly halves: number;
  private guidance: number;
  private readonly slide: SlideOptions | undefined;
  private readonly hook: StepHook | undefined;
  /** Per-codebook scores after guidance: K rows of vocab. */
  private readonly rows: Float32Array[];
  /** Input ids of a one-position step: [halves * K]. */
  private readonly stepIds: BigInt64Array;
  /** The tokens of the current window, per codebook: window[k][f]. */
  private readonly window: Int32Array[];
  /** Frames of codebook k known in the window (given or sampled). */
  private readonly known: Int32Array;
  private f16: Float32Array | null = null;
  /** Next input position in the window; 0 = the next run starts the cache. */
  private q = 0;
  /** Frames dropped by slides: the window's frame 0 is frame `offset` of the piece (the prompt's frame 0 being 0). */
  private offset = 0;
  private readonly maxPositions: number;

  constructor(
    decoder: OnnxSession,
    private readonly spec: ModelSpec,
    conditioning: Conditioning,
    options: GeneratorOptions,
  ) {
    if (conditioning.batch !== 1) throw new RangeError(`the generator plays one prompt at a time, got: ${conditioning.batch}`);
    const { codebooks: K, vocab: V } = spec.dims;
    this.codebooks = K;
    this.vocab = V;
    this.guidance = conditioning.guidance;
    this.halves = conditioning.rows;
    this.decoder = new DecoderSession(decoder, spec.dims, conditioning);
    const limits = options.codebookLimits ?? codecTraits(spec.codec).codebookLimits;
    const inside = [spec.padId, spec.bosId].filter((id) => id < V);
    this.processors = buildProcessors(options, V, { limits, ids: inside });
    this.sampler = makeSampler(options.doSample, options.seed);
    this.maxPositions = positionsFor(spec.maxFrames, K);
    this.rows = Array.from({ length: K }, () => new Float32Array(V));
    this.stepIds = new BigInt64Array(this.halves * K);
    this.window = Array.from({ length: K }, () => new Int32Array(spec.maxFrames + K));
    this.known = new Int32Array(K);
    const prompt = options.prompt ?? [];
    this.promptFrames = this.checkPrompt(prompt);
    if (this.promptFrames + K > this.maxPositions) {
      throw new RangeError(`a prompt of ${this.promptFrames} frames leaves no room: this model's window holds ${spec.maxFrames} frames`);
    }
    for (let k = 0; k < prompt.length; k++) this.window[k].set(Array.from(prompt[k]));
    this.known.fill(this.promptFrames);
    if (options.slide) {
      const { keep, align } = options.slide;
      if (!Number.isInteger(align) || align < 1) throw new RangeError(`slide.align must be an integer >= 1, got: ${align}`);
      if (!Number.isInteger(keep) || keep < 0 || keep + align + K > spec.maxFrames) {
        throw new RangeError(`slide.keep must be an integer in [0, ${spec.maxFrames - align - K}] (the window holds ${spec.maxFrames} frames), got: ${keep}`);
      }
    }
    this.slide = options.slide;
    this.hook = options.hook;
  }

  /** Changes the sampling temperature from the next step on (a live control). */
  setTemperature(value: number): void {
    const i = this.processors.findIndex((p) => p instanceof Temperature);
    this.processors[i] = new Temperature(value);
  }

  /** Changes the guidance scale from the next step on; a generator started without guidance (one row) can only keep 1. */
  setGuidance(value: number): void {
    checkGuidance(value);
    if (this.halves === 1 && value !== 1) throw new RangeError(`this generator runs without guidance (no unconditional half): it cannot take guidance ${value}`);
    this.guidance = value;
  }

  /** The last `count` completed frames of the window (fewer when it holds fewer), codebook-major: a new generator continues from them. */
  completedFrames(count: number): Uint16Array[] {
    const end = this.known[this.codebooks - 1];
    const start = Math.max(0, end - count);
    return this.window.map((row) => Uint16Array.from(row.subarray(start, end)));
  }

  /** The decoder and its cache (SMITIN reads whether it is steerable). */
  get decoderSession(): DecoderSession {
    return this.decoder;
  }

  private checkPrompt(prompt: readonly ArrayLike<number>[]): number {
    if (prompt.length === 0) return 0;
    const { codebooks: K, vocab: V } = this.spec.dims;
    if (prompt.length !== K) throw new RangeError(`prompt must have ${K} codebook rows, got: ${prompt.length}`);
    const frames = prompt[0].length;
    for (let k = 0; k < K; k++) {
      if (prompt[k].length !== frames) throw new RangeError(`prompt codebook rows must all have ${frames} frames, row ${k} has ${prompt[k].length}`);
      for (let f = 0; f < frames; f++) {
        const id = prompt[k][f];
        if (!Number.isInteger(id) || id < 0 || id >= V) {
          throw new RangeError(`prompt[${k}][${f}] must be a token id in [0, ${V - 1}], got: ${id}`);
        }
      }
    }
    return frames;
  }

  /** Frames returned so far (the prompt's not counted). */
  get frames(): number {
    return this.metrics.frames;
  }

  /** Frames the current window can still return (Infinity when it slides). */
  get framesLeft(): number {
    if (this.slide) return Infinity;
    return this.maxPositions - (this.codebooks - 1) - this.known[this.codebooks - 1];
  }

  /** Where the current window starts, in frames of the piece (prompt included). */
  get windowStart(): number {
    return this.offset;
  }

  /**
   * Drops the oldest frames (a multiple of slide.align, leaving about
   * slide.keep) and restarts the cache; the next run feeds what is left.
   */
  private slideWindow(): void {
    const { keep, align } = this.slide!;
    const drop = Math.floor((this.known[0] - keep) / align) * align;
    for (let k = 0; k < this.codebooks; k++) {
      this.window[k].copyWithin(0, drop, this.known[k]);
      this.known[k] -= drop;
    }
    this.decoder.reset();
    this.q = 0;
    this.offset += drop;
    this.metrics.slides++;
  }

  async step(): Promise<number[] | null> {
    const K = this.codebooks;
    const V = this.vocab;
    // the first run of a window feeds every position whose inputs are all known: through codebook 0's last frame
    let length = this.q === 0 ? knownPositions(this.known[0]) : 1;
    if (this.q + length > this.maxPositions) {
      if (!this.slide) {
        throw new RangeError(
          `the context window is full: this model holds ${this.spec.maxFrames} frames (generation_config.json max_length); generate with a sliding window for more`,
        );
      }
      this.slideWindow();
      length = knownPositions(this.known[0]);
    }
    const start = this.q;
    const ids = length === 1 ? this.stepIds : new BigInt64Array(this.halves * K * length);
    // the unconditional half reads the same tokens as the conditional one
    for (let h = 0; h < this.halves; h++) writeDelayed(ids, h * K, this.window, start, length, this.spec);
    const t0 = performance.now();
    const run = this.hook ? { index: this.metrics.steps, length, ids } : null;
    if (run) {
      const pending = this.hook!.before(run, this.decoder);
      if (pending) await pending;
    }
    const out = await this.decoder.forward(ids, length);
    if (run) this.hook!.after(run, this.decoder);
    const t1 = performance.now();
    let logits: Float32Array;
    if (out.type === 'float16') {
      const n = (out.data as Uint16Array).length;
      if (!this.f16 || this.f16.length < n) this.f16 = new Float32Array(n);
      logits = halfToFloat32(out.data as Uint16Array, this.f16);
    } else {
      logits = out.data as Float32Array;
    }
    const q = start + length - 1; // the output position that samples the next tokens
    let completed = -1; // a frame is new when codebook K-1 samples it
    for (let k = 0; k < K; k++) {
      const f = outputFrame(q, k);
      if (f < this.known[k]) continue; // not started yet (pad), or given
      const cond = (k * length + length - 1) * V;
      const row = this.rows[k];
      if (this.halves === 2) {
        const uncond = ((K + k) * length + length - 1) * V;
        combineGuidance(logits.subarray(cond, cond + V), logits.subarray(uncond, uncond + V), this.guidance, row);
      } else {
        row.set(logits.subarray(cond, cond + V));
      }
      applyAll(this.processors, row, k);
      this.window[k][f] = this.sampler.sample(row);
      this.known[k] = f + 1;
      if (k === K - 1) completed = f;
    }
    this.q = start + length;
    const t2 = performance.now();
    this.metrics.steps++;
    this.metrics.modelMs += t1 - t0;
    this.metrics.sampleMs += t2 - t1;
    this.metrics.maxStepMs = Math.max(this.metrics.maxStepMs, t2 - t0);
    if (completed < 0) return null;
    this.metrics.frames++;
    const frame = new Array<number>(K);
    for (let k = 0; k < K; k++) frame[k] = this.window[k][completed];
    return frame;
  }

  /** Runs steps until `frames` more frames are out; returns them codebook-major (tokens[k][f]). */
  async generate(frames: number): Promise<Uint16Array[]> {
    if (!Number.isInteger(frames) || frames < 0) throw new RangeError(`frames must be an integer >= 0, got: ${frames}`);
    const tokens = Array.from({ length: this.codebooks }, () => new Uint16Array(frames));
    for (let n = 0; n < frames; ) {
      const frame = await this.step();
      if (!frame) continue;
      for (let k = 0; k < this.codebooks; k++) tokens[k][n] = frame[k];
      n++;
    }
    return tokens;
  }
}
