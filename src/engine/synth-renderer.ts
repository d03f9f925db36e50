/**
 * tinyband's renderer: the band synthesizer, streamed a frame at a time at
 * the output rate. Its frames count from the first pushed, as a whole
 * render's do, so a streamed piece is the whole render sample for sample.
 */
import { BandSynth, STEM_CHANNELS } from '../model/codec/synth/index.js';
import type { FrameRenderer, Replay, StereoBlock } from './frame-renderer.js';

export class SynthRenderer implements FrameRenderer {
  private readonly synth: BandSynth;
  private frames = 0;

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

  async push(frame: readonly number[], replay?: Replay): Promise<StereoBlock> {
    this.synth.setNextFrameIndex(replay?.of ?? this.frames, replay?.seam);
    this.frames++;
    this.synth.pushFrame(frame);
    return this.take(this.synth.queuedSamples());
  }

  /** Every frame's samples come out with its push: nothing is held. */
  async flush(): Promise<StereoBlock> {
    return this.take(0);
  }

  private take(n: number): StereoBlock {
    if (this.stems) return this.takeStems(n);
    const block = { left: new Float32Array(n), right: new Float32Array(n) };
    this.synth.process(block.left, block.right);
    return block;
  }

  private takeStems(n: number): StereoBlock {
    const channels = Array.from({ length: STEM_CHANNELS }, () => new Float32Array(n));
    this.synth.processStems(channels);
    const pairs = Array.from({ length: STEM_CHANNELS / 2 }, (_, p) => ({ left: channels[2 * p], right: channels[2 * p + 1] }));
    return { ...pairs[0], pairs };
  }

  setTempo(bpm: number): void {
    this.synth.setTempo(bpm);
  }

  figures(): Record<string, number> {
    return {};
  }

  close(): void {}
}
