/**
 * What generic code (the generator, the live engine, SMITIN, the CLI) may
 * ask of a model's codec, answered by the codec itself: each codec's folder
 * says its own facts (tinyband: model/tinyband/codec.ts; EnCodec:
 * model/codec/encodec/traits.ts), and this is the one place that picks
 * between them by kind. Nothing outside the codecs' folders needs to know
 * which codec it holds.
 */
import type { Codec } from '../musicgen/folder.js';
import { tinybandTraits } from '../tinyband/codec.js';
import { encodecTraits } from './encodec/traits.js';

export interface CodecTraits {
  /**
   * Frames of one bar written in the tokens themselves: windows and prompts
   * are cut on these lines (tinyband: framesPerBeat * BEATS_PER_BAR). 1 where
   * the tokens have no bars (EnCodec: any frame may start a window).
   */
  tokenBarFrames: number;
  /** Whether a frame lasts a fixed share of a beat, so the music follows the tempo (tinyband); false where the codec keeps its own time (EnCodec). */
  followsTempo: boolean;
  /** Frames per second where the codec keeps its own time (EnCodec's frame rate); null where frames follow the tempo. */
  frameRate: number | null;
  /** A bar in frames at `bpm`: the token bar, or, for a codec with its own time, a bar of that tempo at its frame rate (at least 1). */
  barFramesAt(bpm: number): number;
  /** A frame's length in beats at `bpm`. */
  beatsPerFrame(bpm: number): number;
  /** A frame's length of audio in ms at `bpm`. */
  frameMs(bpm: number): number;
  /** Ids each codebook may produce (ids at or above are never sampled); undefined: every id below vocab_size. */
  codebookLimits: readonly number[] | undefined;
  /** Whether its audio comes as one stem per instrument besides the mix. */
  stems: boolean;
  /** Whether its tokens are notes (instruments and pitches can be read from them: MIDI out, feature measurements). */
  notes: boolean;
  /** Whether tokens become audio through an ONNX graph of the model folder (requireCodecFile). */
  onnxGraph: boolean;
}

/** The properties of `codec`. */
export function codecTraits(codec: Codec): CodecTraits {
  switch (codec.kind) {
    case 'tinyband-synth':
      return tinybandTraits(codec);
    case 'encodec':
      return encodecTraits(codec);
  }
}
