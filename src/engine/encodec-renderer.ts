/**
 * An EnCodec model's renderer: frames stream through the EnCodec decoder
 * (overlapping windows of bounded size, encodec/stream.ts) and a resampler
 * from the model's rate to the output's. EnCodec decodes a window at a time,
 * so most pushes return no audio and some return several frames' worth.
 */
import { StreamResampler } from '../audio/resample.js';
import { encodecOf, EncodecStream } from '../model/codec/encodec/index.js';
import type { MusicgenModel } from '../model/musicgen/index.js';
import type { FrameRenderer, StereoBlock } from './frame-renderer.js';

export class EncodecRenderer implements FrameRenderer {
  private constructor(
    private readonly stream: EncodecStream,
    private readonly resampler: StreamResampler,
    private readonly outRate: number,
    private readonly frameRate: number,
  ) {}

  static async create(model: MusicgenModel, outRate: number): Promise<EncodecRenderer> {
    const { spec } = model;
    const encodec = encodecOf(spec.codec);
    if (!encodec || !model.codec) throw new Error(`${spec.dir}: playing an EnCodec model needs onnx/encodec_decode.onnx`);
    const stream = new EncodecStream(model.codec, spec.dims.codebooks, encodec.hop);
    return new EncodecRenderer(stream, await StreamResampler.create(spec.sampleRate, outRate), outRate, encodec.frameRate);
  }

  samplesPerFrame(): number {
    return this.outRate / this.frameRate;
  }

  async push(frame: readonly number[]): Promise<StereoBlock> {
    return mono(this.resampler.process(await this.stream.push(frame)));
  }

  async flush(): Promise<StereoBlock> {
    const last = this.resampler.process(await this.stream.flush());
    const tail = this.resampler.flush();
    const out = new Float32Array(last.length + tail.length);
    out.set(last);
    out.set(tail, last.length);
    return mono(out);
  }

  setTempo(): void {
    // EnCodec audio has the model's own time: 50 frames a second whatever the DAW plays
  }

  figures(): Record<string, number> {
    return { codecCalls: this.stream.stats.calls, maxCodecFrames: this.stream.stats.maxFramesPerCall };
  }

  close(): void {
    this.resampler.close();
  }
}

/** EnCodec's 32 kHz is mono: the same samples on both channels. */
function mono(samples: Float32Array): StereoBlock {
  return { left: samples, right: samples };
}
