/**
 * tinyband as a MusicGen codec: what a model folder's config.json must say
 * for its tokens to be played by the band synthesizer, and the codec's
 * properties (codecTraits in model/codec/traits.ts asks here): frames are
 * 16th notes, so they follow the tempo, a bar is written in the tokens,
 * every codebook has its own size, the tokens are notes, and the
 * synthesizer renders each instrument on its own stem.
 */
import { BEATS_PER_BAR, FRAMES_PER_BEAT } from '../../constants.js';
import { ModelFileError } from '../onnx/session.js';
import type { CodecTraits } from '../codec/traits.js';
import { CODEBOOK_SIZES, NUM_CODEBOOKS, PAD_ID, VOCAB_SIZE } from './layout.js';

/** config.json's tinyband.codec value that names the band synthesizer. */
export const TINYBAND_CODEC = 'tinyband-synth';

export interface TinybandCodec {
  kind: 'tinyband-synth';
  codebookSizes: readonly number[];
  framesPerBeat: number;
}

/** The config.json fields the tinyband codec is checked against. */
export interface TinybandConfig {
  decoder: { num_codebooks: number; vocab_size: number; pad_token_id: number };
  tinyband: { codec: string; frames_per_beat?: number };
}

/** Checks a tinyband model's config.json (`path`) against the token layout and the synthesizer; a ModelFileError names the field. */
export function tinybandCodec(path: string, config: TinybandConfig): TinybandCodec {
  const fail = (what: string): never => {
    throw new ModelFileError(`${path}: ${what}`);
  };
  if (config.tinyband.codec !== TINYBAND_CODEC) fail(`tinyband.codec: expected "${TINYBAND_CODEC}", got: ${JSON.stringify(config.tinyband.codec)}`);
  const d = config.decoder;
  if (d.num_codebooks !== NUM_CODEBOOKS) fail(`decoder.num_codebooks: the tinyband synthesizer plays ${NUM_CODEBOOKS} codebooks, got: ${d.num_codebooks}`);
  if (d.vocab_size !== VOCAB_SIZE) fail(`decoder.vocab_size: the tinyband token layout has ${VOCAB_SIZE} ids, got: ${d.vocab_size}`);
  if (d.pad_token_id !== PAD_ID) fail(`decoder.pad_token_id: the tinyband token layout pads with ${PAD_ID}, got: ${d.pad_token_id}`);
  const fpb = config.tinyband.frames_per_beat ?? FRAMES_PER_BEAT;
  if (fpb !== FRAMES_PER_BEAT) fail(`tinyband.frames_per_beat: the synthesizer plays ${FRAMES_PER_BEAT} frames per beat (16th notes), got: ${fpb}`);
  return { kind: 'tinyband-synth', codebookSizes: CODEBOOK_SIZES, framesPerBeat: fpb };
}

/** The band synthesizer's properties: a frame is a 1/framesPerBeat beat at whatever tempo plays. */
export function tinybandTraits(codec: TinybandCodec): CodecTraits {
  const bar = codec.framesPerBeat * BEATS_PER_BAR;
  return {
    tokenBarFrames: bar,
    followsTempo: true,
    frameRate: null,
    barFramesAt: () => bar,
    beatsPerFrame: () => 1 / codec.framesPerBeat,
    frameMs: (bpm) => 60_000 / (bpm * codec.framesPerBeat),
    codebookLimits: codec.codebookSizes,
    stems: true,
    notes: true,
    onnxGraph: false,
  };
}
