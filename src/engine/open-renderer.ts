/** The renderer a model's codec needs (frame-renderer.ts), by the codec's kind. */
import { codecTraits } from '../model/codec/traits.js';
import type { Codec, MusicgenModel } from '../model/musicgen/index.js';
import { EncodecRenderer } from './encodec-renderer.js';
import type { FrameRenderer } from './frame-renderer.js';
import { SynthRenderer } from './synth-renderer.js';

/** Each codec's renderer, by the codec's kind. */
const OPEN: { readonly [K in Codec['kind']]: (model: MusicgenModel, tempo: number, sampleRate: number, stems: boolean) => Promise<FrameRenderer> } = {
  'tinyband-synth': async (_model, tempo, sampleRate, stems) => new SynthRenderer(tempo, sampleRate, stems),
  encodec: (model, _tempo, sampleRate) => EncodecRenderer.create(model, sampleRate),
};

/** `stems`: the mix and each instrument on its own pair (tinyband only: EnCodec makes one mixed signal). */
export async function openFrameRenderer(model: MusicgenModel, tempo: number, sampleRate: number, stems = false): Promise<FrameRenderer> {
  if (stems && !codecTraits(model.spec.codec).stems) throw new Error(`${model.spec.dir}: an EnCodec model has no stems (it decodes one mixed signal); play it with --outputs mix`);
  return OPEN[model.spec.codec.kind](model, tempo, sampleRate, stems);
}
