/**
 * Probe data for a concept the model knows in words, without a dataset:
 * contrastive activation steering's recipe, with SMITIN's probes on top.
 * The model generates N pieces under a prompt that has the concept ("rock
 * drums bass guitar") and N under one that lacks it ("rock bass guitar"),
 * piece i of both with the same sampling seed; a positive example is a
 * segment of a "with" piece, its negative the same frames of the "without"
 * piece. The activations are then read under one common text (the empty
 * prompt; `capture: 'own'` reads each under its own prompt instead), so the probe learns what the music the model
 * made for each prompt does to its heads, not the prompt words themselves:
 * at play time the user's prompt is anything, and the knob must read and
 * push the music.
 *
 * `piece` is the seed index, so the train / validation split (every fifth
 * piece) keeps both pieces of a seed on one side.
 */
import { basename } from 'node:path';
import { MusicgenGenerator, encodeText, type MusicgenModel } from '../model/musicgen/index.js';
import { codecTraits } from '../model/codec/traits.js';
import { UsageError } from '../util/errors.js';
import { quoted } from '../util/printable.js';
import { Rng } from '../util/rng.js';
import { evalSampling } from './eval/runner.js';
import type { FeatureProbes } from './probe-set.js';
import { cutFrames, randomSegment, type ProbeExample } from './probe-example.js';

/** A knob's name: what a preset, OSC and --steer call it (steering.json's feature names). */
export const CONCEPT_NAME = /^[A-Za-z][\w-]*$/;

export interface ConceptPrompts {
  name: string;
  with: string;
  without: string;
}

export interface ConceptPairOptions {
  /** Pieces generated under each prompt. */
  n: number;
  seed: number;
  /** Segments cut from each pair of pieces. */
  segmentsPerPiece?: number;
  /** The text the activations are read under: 'empty' (the default: the music alone) or 'own' (each piece under the prompt it was made with: plain contrastive activation addition, prompt words included). */
  capture?: 'empty' | 'own';
  /** After each piece pair: pieces done, pieces in all. */
  onPiece?: (done: number, total: number) => void;
}

/** Frames per generated piece and the shortest segment: 8 bars and 1 bar for tinyband, 5 s and 1 s for an EnCodec model; within the window. */
export function conceptFrames(model: MusicgenModel): { piece: number; minSegment: number } {
  const { spec } = model;
  const room = spec.maxFrames - spec.dims.codebooks;
  // a codec with its own time has no bars in its tokens: a second stands in for one
  const { frameRate, tokenBarFrames } = codecTraits(spec.codec);
  const bar = frameRate === null ? tokenBarFrames : Math.round(frameRate);
  const piece = Math.min(room, frameRate === null ? 8 * bar : 5 * bar);
  return { piece, minSegment: Math.min(bar, piece) };
}

/** Checks a concept's name and prompts: a word-level vocabulary (tinyband) must know every word, and the prompts must differ. */
export function checkConcept(model: MusicgenModel, concept: ConceptPrompts): void {
  if (!CONCEPT_NAME.test(concept.name)) throw new UsageError(`--concept ${quoted(concept.name)}: expected a knob name (a letter, then letters, digits, _ or -)`);
  for (const [option, text] of [['--with', concept.with], ['--without', concept.without]] as const) {
    const unknown = model.tokenizer.encode(text).unknown;
    if (unknown.length && model.tokenizer.words) {
      throw new UsageError(`${option} ${quoted(text)}: ${basename(model.spec.dir)} does not know ${unknown.map((w) => quoted(w)).join(', ')} (it knows: ${model.tokenizer.words.join(' ')})`);
    }
  }
  const ids = (t: string) => model.tokenizer.encode(t).ids.join(',');
  if (ids(concept.with) === ids(concept.without)) throw new UsageError(`--with ${quoted(concept.with)} and --without ${quoted(concept.without)}: the model reads them as the same prompt; they must differ in the concept`);
}

/** Positive, negative, positive, negative, ... examples for `concept` from the model's own generations. */
export async function conceptPairs(model: MusicgenModel, concept: ConceptPrompts, options: ConceptPairOptions): Promise<ProbeExample[]> {
  checkConcept(model, concept);
  const { piece: frames, minSegment } = conceptFrames(model);
  const segments = options.segmentsPerPiece ?? 4;
  const sampling = evalSampling(model);
  const [withCond, withoutCond] = [await encodeText(model, [concept.with], sampling.guidance), await encodeText(model, [concept.without], sampling.guidance)];
  const examples: ProbeExample[] = [];
  for (let i = 0; i < options.n; i++) {
    const seed = options.seed * 1_000_003 + i;
    const generate = (cond: typeof withCond) => new MusicgenGenerator(model.decoder, model.spec, cond, { ...sampling, seed, doSample: true }).generate(frames);
    const yes = await generate(withCond);
    const no = await generate(withoutCond);
    const rng = new Rng(seed ^ 0x5eed);
    for (let s = 0; s < segments; s++) {
      const { start, end } = randomSegment(rng, frames, minSegment, frames);
      const cut = (tokens: Uint16Array[]) => cutFrames(tokens, start, end);
      const own = options.capture === 'own';
      examples.push({ tokens: cut(yes), label: 1, piece: i, text: own ? concept.with : '' }, { tokens: cut(no), label: 0, piece: i, text: own ? concept.without : '' });
    }
    options.onPiece?.(i + 1, options.n);
  }
  return examples;
}

/**
 * A knob from prompts steers along the mass-mean shift, not the probe's
 * weight: its labels are noisy (a piece made under "drums" need not have
 * drums in every segment), and on tinyband the logistic direction of such
 * probes hardly moves the music while the mass-mean one does (add lift at
 * alpha 30, 60 piece pairs, 30 prompts, bench/concept-steering.bench.ts:
 * drums 0.03 against 0.63, piano 0.17 against 0.73, guitar 0.20 against
 * 0.87, minor 0.17 against 0.43; docs/eval.md). The monitor still reads
 * the probe (weights and bias), which stay.
 */
export function alongMassMean(f: FeatureProbes): FeatureProbes {
  return { ...f, direction: f.massMeanDirection.slice(), sigma: f.massMeanSigma.slice() };
}
