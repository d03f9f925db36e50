/**
 * The same greedy generation with guidance on one MusicGen export, in our runtime and in transformers.js
 * (`@huggingface/transformers`, a dev dependency): a peer that no one here wrote, on the same onnxruntime-node.
 * The conformance test requires identical tokens and audio from the two; the peer benchmark times their steps.
 *
 * What a step is, on both sides: one decoder run with guidance (two rows of K codebooks), the guidance, the
 * logits processors and the greedy pick; not the text encoder before the first step, nor EnCodec after the last.
 * transformers.js hands each step's tokens to its streamer, so the time between two of those calls is one step.
 *
 * Threading model: both run onnxruntime-node synchronously on the calling thread (src/model/onnx/session.ts).
 */
import { basename, dirname } from 'node:path';
import { BaseStreamer, env, MusicgenForConditionalGeneration, Tensor as PeerTensor, AutoTokenizer } from '@huggingface/transformers';
import { decodeCodes, EncodecStream } from '../src/model/codec/encodec/index.js';
import { encodeText, loadModel, MusicgenGenerator, type Dtype, type MusicgenModel } from '../src/model/musicgen/index.js';

/** One greedy generation with guidance, as either side made it. */
export interface GreedyRun {
  /** The prompt's text-encoder input ids. */
  promptIds: number[];
  /** Frames codebook-major: codes[k][f]. */
  codes: Int32Array[];
  /** EnCodec's audio of all frames decoded in one call, at the model's rate. */
  audio: Float32Array;
  /** Wall-clock ms of each decoder step, in order (the first one has no cache). */
  stepMs: number[];
}

/** Session settings both sides run with, so that a timing compares code and not configuration. */
export interface RunSettings {
  dtype: Dtype;
  /** onnxruntime's intra-op threads. */
  threads: number;
}

// the peer reads only the folder it is given: no hub, no cache written next to node_modules
env.allowRemoteModels = false;
env.useFSCache = false;

/** Collects what transformers.js streams: the initial decoder ids, then each step's tokens, with the time each came. */
class StepRecorder extends BaseStreamer {
  rows: bigint[][] = [];
  times: number[] = [];

  override put(value: bigint[][]): void {
    this.times.push(performance.now());
    if (this.rows.length === 0) this.rows = value.map((row) => [...row]);
    else value.forEach((row, r) => this.rows[r].push(...row));
  }

  override end(): void {}
}

function floats(t: PeerTensor): Float32Array {
  return (t.type === 'float16' ? t.to('float32') : t).data as Float32Array;
}

/** transformers.js' MusicgenForConditionalGeneration on a model folder (optimum / transformers.js layout). */
export class PeerMusicgen {
  private constructor(
    private readonly tokenizer: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>,
    private readonly model: MusicgenForConditionalGeneration,
    private readonly codebooks: number,
  ) {}

  static async load(dir: string, { dtype, threads }: RunSettings): Promise<PeerMusicgen> {
    // it resolves model ids below localModelPath
    env.localModelPath = `${dirname(dir)}/`;
    const id = basename(dir);
    const tokenizer = await AutoTokenizer.from_pretrained(id);
    const model = (await MusicgenForConditionalGeneration.from_pretrained(id, {
      dtype,
      device: 'cpu',
      // what src/model/onnx/session.ts asks of onnxruntime
      session_options: { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' },
    })) as MusicgenForConditionalGeneration;
    const config = model.config as unknown as { decoder: { num_codebooks: number } };
    return new PeerMusicgen(tokenizer, model, config.decoder.num_codebooks);
  }

  /** Greedy, with guidance: `frames` frames take frames + K - 1 decoder steps (the delay pattern). */
  async generate(prompt: string, frames: number, guidance: number): Promise<GreedyRun> {
    const inputs = this.tokenizer(prompt);
    const recorder = new StepRecorder();
    const audio = (await this.model.generate({
      ...inputs,
      max_new_tokens: frames + this.codebooks - 1,
      do_sample: false,
      guidance_scale: guidance,
      // its typings ask for a TextStreamer here; generate() calls only put() and end() (generation/streamers.js)
      streamer: recorder as never,
    })) as PeerTensor;
    // the frames its generate() handed to EnCodec: the streamed ids through its own delay-pattern filter
    const { rows } = recorder;
    const ids = new PeerTensor('int64', BigInt64Array.from(rows.flat()), [rows.length, rows[0].length]);
    const codes = this.model._apply_and_filter_by_delay_pattern_mask(ids);
    const [, K, F] = codes.dims;
    const data = codes.data as BigInt64Array;
    return {
      promptIds: Array.from((inputs.input_ids as PeerTensor).data as BigInt64Array, Number),
      codes: Array.from({ length: K }, (_, k) => Int32Array.from(data.subarray(k * F, (k + 1) * F), Number)),
      audio: floats(audio),
      stepMs: recorder.times.slice(1).map((t, i) => t - recorder.times[i]),
    };
  }

  async release(): Promise<void> {
    await this.model.dispose();
  }
}

/** Our runtime on the same folder: src/model/musicgen as `smitin render` drives it, greedy. */
export class OurMusicgen {
  private constructor(readonly model: MusicgenModel) {}

  static async load(dir: string, { dtype, threads }: RunSettings): Promise<OurMusicgen> {
    return new OurMusicgen(await loadModel(dir, { dtype, threads }));
  }

  /** Frames one generation can hold (the model's window). */
  get maxFrames(): number {
    return this.model.spec.maxFrames;
  }

  async generate(prompt: string, frames: number, guidance: number): Promise<GreedyRun> {
    const { spec } = this.model;
    const conditioning = await encodeText(this.model, [prompt], guidance);
    const generator = new MusicgenGenerator(this.model.decoder, spec, conditioning, { ...spec.generation, seed: 0, doSample: false });
    const K = spec.dims.codebooks;
    const codes = Array.from({ length: K }, () => new Int32Array(frames));
    const stepMs: number[] = [];
    for (let f = 0; f < frames; ) {
      const t0 = performance.now();
      const frame = await generator.step();
      stepMs.push(performance.now() - t0);
      if (!frame) continue;
      for (let k = 0; k < K; k++) codes[k][f] = frame[k];
      f++;
    }
    return { promptIds: conditioning.prompts[0].ids, codes, audio: await decodeCodes(this.codec(), codes), stepMs };
  }

  /** The frames through EnCodec as `smitin render` and `live` decode them: streamed, one frame pushed at a time, with the default chunks. */
  async streamAudio(codes: readonly Int32Array[]): Promise<Float32Array> {
    const { spec } = this.model;
    if (spec.codec.kind !== 'encodec') throw new Error(`${spec.dir}: streamAudio needs an EnCodec model`);
    const frames = codes[0].length;
    const stream = new EncodecStream(this.codec(), codes.length, spec.codec.hop);
    const audio = new Float32Array(frames * spec.codec.hop);
    let at = 0;
    const take = (part: Float32Array) => {
      audio.set(part, at);
      at += part.length;
    };
    for (let f = 0; f < frames; f++) take(await stream.push(codes.map((row) => row[f])));
    take(await stream.flush());
    return audio.subarray(0, at);
  }

  private codec() {
    if (!this.model.codec) throw new Error(`${this.model.spec.dir}: has no onnx/encodec_decode.onnx`);
    return this.model.codec;
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}
