/**
 * Token frames -> stereo audio at the output's rate, one frame in, the
 * samples it makes out: the codec side of the engine's seam (the token
 * source is the other, token-source.ts). Live and `smitin render` play
 * through the same renderer, so what a take holds is what render writes.
 * tinyband's codec is the band synthesizer (rendered at the output rate
 * directly, tempo live); EnCodec models stream through their decoder and a
 * resampler (mono, the same samples on both channels; tempo is the model's
 * own). openFrameRenderer (open-renderer.ts) makes the one a model needs.
 */
export interface StereoBlock {
  left: Float32Array;
  right: Float32Array;
  /** Stems renderers only: every pair in output order, the mix (left, right) first, then one per instrument. */
  pairs?: readonly StereoBlock[];
}

export interface Replay {
  of: number;
  seam: boolean;
}

export interface FrameRenderer {
  /** Audio frames (samples per channel) one token frame lasts, now. */
  samplesPerFrame(): number;
  /** `replay`: the frame (counted from the start) this one repeats in a loop, and whether a repetition starts here: tinyband renders it as it did then. */
  push(frame: readonly number[], replay?: Replay): Promise<StereoBlock>;
  /** The audio still held when no frame follows (EnCodec: its last window and the resampler's delay); the renderer takes no frame after. */
  flush(): Promise<StereoBlock>;
  /** tinyband only: frames pushed from now on play at this tempo. */
  setTempo(bpm: number): void;
  /** The codec's own counters for a report (EnCodec: decoder calls and the most frames one took); none for the synth. */
  figures(): Record<string, number>;
  close(): void;
}
