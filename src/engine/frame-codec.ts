/**
 * Token frames -> stereo audio at the output's rate, as the live engine
 * needs it: one frame in, the samples it makes out. tinyband's codec is the
 * band synthesizer (rendered at the output rate directly, tempo live);
 * EnCodec models stream through their decoder and a resampler (mono,
 * duplicated to both channels; tempo is the model's own).
 */
import { StreamResampler } from '../audio/resample.js';
import { encodecOf, EncodecStream } from '../model/codec/encodec/index.js';
import { BandSynth, STEM_CHANNELS } from '../model/codec/synth/index.js';
import { codecTraits } from '../model/codec/traits.js';
import type { Codec, MusicgenModel } from '../model/musicgen/index.js';

export interface StereoBlock {
  left: Float32Array;
  right: Float32Array;
  /** Stems codecs only: every pair in output order, the mix (left, right) first, then one per instrument. */
  pairs?: readonly StereoBlock[];
}

export interface Replay {
  of: number;
  seam: boolean;
}

export interface FrameCodec {
  /** Audio frames (samples per channel) one token frame lasts, now. */
  samplesPerFrame(): number;
  /** `replay`: the frame (counted from the start) this one repeats in a loop, and whether a repetition starts here: tinyband renders it as it did then. */
  push(frame: readonly number[], replay?: Replay): Promise<StereoBlock>;
  /** tinyband only: frames pushed from now on play at this tempo. */
  setTempo(bpm: number): void;
  close(): void;
}

class SynthCodec implements FrameCodec {
  private readonly synth: BandSynth;
  constructor(
    tempo: number,
    private readonly sampleRate: number,
    private readonly stems: boolean,
  ) {
    this.synth = new BandSynth({ tempo, sampleRate, stems });
  }

  samplesPerFrame(): number {
    return (this.sampleRate * 60) / (this.synth.tempo * 4);
  }

  private frames = 0;

  async push(frame: readonly number[], replay?: Replay): Promise<StereoBlock> {
    this.synth.setNextFrameIndex(replay?.of ?? this.frames, replay?.seam);
    this.frames++;
    this.synth.pushFrame(frame);
    const n = this.synth.queuedSamples();
    if (this.stems) return this.pushStems(n);
    const block = { left: new Float32Array(n), right: new Float32Array(n) };
    this.synth.process(block.left, block.right);
    return block;
  }

  private pushStems(n: number): StereoBlock {
    const channels = Array.from({ length: STEM_CHANNELS }, () => new Float32Array(n));
    this.synth.processStems(channels);
    const pairs = Array.from({ length: STEM_CHANNELS / 2 }, (_, p) => ({ left: channels[2 * p], right: channels[2 * p + 1] }));
    return { ...pairs[0], pairs };
  }

  setTempo(bpm: number): void {
    this.synth.setTempo(bpm);
  }

  close(): void {}
}

class EncodecFrameCodec implements FrameCodec {
  private constructor(
    private readonly stream: EncodecStream,
    private readonly resampler: StreamResampler,
    private readonly outRate: number,
    private readonly frameRate: number,
  ) {}

  static async create(model: MusicgenModel, outRate: number): Promise<EncodecFrameCodec> {
    const { spec } = model;
    const encodec = encodecOf(spec.codec);
    if (!encodec || !model.codec) throw new Error(`${spec.dir}: live playback of an EnCodec model needs onnx/encodec_decode.onnx`);
    const stream = new EncodecStream(model.codec, spec.dims.codebooks, encodec.hop);
    return new EncodecFrameCodec(stream, await StreamResampler.create(spec.sampleRate, outRate), outRate, encodec.frameRate);
  }

  samplesPerFrame(): number {
    return this.outRate / this.frameRate;
  }

  async push(frame: readonly number[]): Promise<StereoBlock> {
    const mono = this.resampler.process(await this.stream.push(frame));
    return { left: mono, right: mono };
  }

  setTempo(): void {
    // EnCodec audio has the model's own time: 50 frames a second whatever the DAW plays
  }

  close(): void {
    this.resampler.close();
  }
}

/** Each codec's live player, by the codec's kind. */
const OPEN: { readonly [K in Codec['kind']]: (model: MusicgenModel, tempo: number, sampleRate: number, stems: boolean) => Promise<FrameCodec> } = {
  'tinyband-synth': async (_model, tempo, sampleRate, stems) => new SynthCodec(tempo, sampleRate, stems),
  encodec: (model, _tempo, sampleRate) => EncodecFrameCodec.create(model, sampleRate),
};

/** `stems`: the mix and each instrument on its own pair (tinyband only: EnCodec makes one mixed signal). */
export async function openFrameCodec(model: MusicgenModel, tempo: number, sampleRate: number, stems = false): Promise<FrameCodec> {
  if (stems && !codecTraits(model.spec.codec).stems) throw new Error(`${model.spec.dir}: an EnCodec model has no stems (it decodes one mixed signal); play it with --outputs mix`);
  return OPEN[model.spec.codec.kind](model, tempo, sampleRate, stems);
}
