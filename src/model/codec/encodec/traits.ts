/**
 * EnCodec as a MusicGen codec: audio codes at a fixed frame rate (the
 * model's own time, whatever tempo plays), no bars in the tokens, no
 * per-codebook limits, one mixed signal, decoded (and encoded) by ONNX graphs.
 */
import { BEATS_PER_BAR } from '../../../constants.js';
import type { Codec, EncodecCodec } from '../../musicgen/folder.js';
import type { CodecTraits } from '../traits.js';

/** The EnCodec codec of a model, or null when its codec is another. */
export function encodecOf(codec: Codec): EncodecCodec | null {
  return codec.kind === 'encodec' ? codec : null;
}

export function encodecTraits(codec: EncodecCodec): CodecTraits {
  const { frameRate } = codec;
  return {
    tokenBarFrames: 1,
    followsTempo: false,
    frameRate,
    barFramesAt: (bpm) => Math.max(1, Math.round((frameRate * 60 * BEATS_PER_BAR) / bpm)),
    beatsPerFrame: (bpm) => bpm / 60 / frameRate,
    frameMs: () => 1000 / frameRate,
    codebookLimits: undefined,
    stems: false,
    notes: false,
    onnxGraph: true,
  };
}
