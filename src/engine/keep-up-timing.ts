/**
 * Measures what live asks of a loaded model (the figures keep-up.ts
 * judges): decoder steps with guidance (always two rows, as live runs them)
 * and SMITIN steering on (a knob pushed, the others held: the costliest
 * path the product takes), from silence and at the end of a full window;
 * one re-prime of the context a slide keeps; and the codec live plays
 * through, per frame and per audio write. Generators, steerer and codec are
 * the ones the generation loop uses, made fresh here, so the session's
 * music is not touched.
 *
 * Effort: `quick` (live, before it plays) times a few steps per context in
 * a fraction of a second on tinyband and stops after the short context when
 * that is already slower than real time (a big model on a CPU is then
 * refused in seconds, not minutes); `full` (smitin check) times more steps
 * and always measures everything.
 *
 * Threading: runs the model synchronously on the calling thread (the
 * generation worker, or the check command's main thread).
 */
import { codecTraits } from '../model/codec/traits.js';
import { encodeText, MusicgenGenerator, slideFor, type MusicgenModel } from '../model/musicgen/index.js';
import type { ProbeSet } from '../smitin/probe-set.js';
import { DEFAULT_STEERING, Steerer, type SteeringSettings } from '../smitin/steerer.js';
import { percentile } from '../util/percentile.js';
import { openFrameRenderer } from './open-renderer.js';
import type { KeepUpFigures, StepTiming } from './keep-up.js';

export type KeepUpEffort = 'quick' | 'full';

export interface KeepUpTimingOptions {
  prompt: string;
  tempo: number;
  /** The output rate the codec renders or resamples to. */
  sampleRate: number;
  guidance: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  /** null: no probe set, the steps run without steering (as live then plays). */
  probes: ProbeSet | null;
  steering: Partial<SteeringSettings>;
  effort: KeepUpEffort;
}

/** Steps per context: at least `min`, then until `budgetMs` or `max`. */
const EFFORT = {
  quick: { min: 6, max: 24, budgetMs: 100, codecWrites: 2 },
  full: { min: 12, max: 200, budgetMs: 2000, codecWrites: 4 },
} as const;
/** Steps timed at the full window: the prompt that fills it leaves room for this many (the cache must not slide meanwhile). */
const FULL_WINDOW_STEPS = 48;

export async function measureKeepUp(model: MusicgenModel, o: KeepUpTimingOptions): Promise<KeepUpFigures> {
  const t0 = performance.now();
  const { spec } = model;
  const effort = EFFORT[o.effort];
  const K = spec.dims.codebooks;
  const frameAudioMs = codecTraits(spec.codec).frameMs(o.tempo);
  const { keep } = slideFor(spec);
  // live keeps the unconditional half whatever the scale (a scale of 0 asks for it), so the guidance knob can move
  const conditioning = await encodeText(model, [o.prompt], o.guidance === 1 ? 0 : o.guidance);
  const steerer = (): Steerer | undefined => {
    if (!o.probes) return undefined;
    const [pushed] = o.probes.features.map((f) => f.name);
    return new Steerer(o.probes, { [pushed]: 1 }, o.steering);
  };
  const generator = (prompt?: Uint16Array[]) => {
    const g = new MusicgenGenerator(model.decoder, spec, conditioning, { ...spec.generation, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed, prompt, hook: steerer() });
    g.setGuidance(o.guidance);
    return g;
  };
  // from silence: the delay pattern fills and, steered, the push starts after the steerer's warm-up
  const warm = K + (o.probes ? (o.steering.warmup ?? DEFAULT_STEERING.warmup) : 1);
  const fromSilence = generator();
  const short = await timeSteps(fromSilence, warm, effort);
  const made = fromSilence.completedFrames(spec.maxFrames);
  const figures: KeepUpFigures = { frameAudioMs, window: spec.maxFrames, keep, short, full: null, reprimeMs: null, codec: null, steered: o.probes !== null, ms: 0 };
  const tooSlow = frameAudioMs < short.meanMs;
  if (o.effort === 'quick' && tooSlow) return { ...figures, ms: performance.now() - t0 };

  // the end of a full window: a prompt that fills it (its long first run also warms the kernels the re-prime uses)
  const fill = Math.max(keep, spec.maxFrames - 1 - FULL_WINDOW_STEPS - 2);
  const full = await timeSteps(generator(tile(made, fill)), 2, { ...effort, max: Math.min(effort.max, FULL_WINDOW_STEPS) });
  // a re-prime feeds the kept context in one run, as after a slide or a prompt change
  const reprime = generator(tile(made, keep));
  const r0 = performance.now();
  await reprime.step();
  const reprimeMs = performance.now() - r0;
  const codec = await timeCodec(model, tile(made, 64), o, effort.codecWrites);
  return { ...figures, full, reprimeMs, codec, ms: performance.now() - t0 };
}

/** Steps `warm` untimed, then times steps: at least `min`, then until `budgetMs` or `max`. */
async function timeSteps(g: MusicgenGenerator, warm: number, effort: { min: number; max: number; budgetMs: number }): Promise<StepTiming> {
  for (let i = 0; i < warm; i++) await g.step();
  const past = g.metrics.steps; // the first run fed one position, or the prompt and one
  const ms: number[] = [];
  const start = performance.now();
  while (ms.length < effort.min || (ms.length < effort.max && performance.now() - start < effort.budgetMs)) {
    const s0 = performance.now();
    await g.step();
    ms.push(performance.now() - s0);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  return { past: past + g.promptFrames, steps: ms.length, meanMs: ms.reduce((a, b) => a + b, 0) / ms.length, p90Ms: percentile(sorted, 90) };
}

/** `frames` frames (codebook-major) made by repeating `source` (a model's own frames: valid ids for its codec). */
function tile(source: readonly Uint16Array[], frames: number): Uint16Array[] {
  return source.map((row) => Uint16Array.from({ length: frames }, (_, f) => row[f % row.length]));
}

/** Frames the codec makes before it is timed (its first write included): the synthesizer's first frames run cold. */
const CODEC_WARM_FRAMES = 8;
/** Frames timed at least, so a codec that writes every frame is timed over more than a handful. */
const CODEC_MIN_FRAMES = 32;

/** The codec live plays through: after its warm-up, pushes frames until `writes` audio writes and CODEC_MIN_FRAMES frames, timing each push. */
async function timeCodec(model: MusicgenModel, frames: readonly Uint16Array[], o: KeepUpTimingOptions, writes: number): Promise<KeepUpFigures['codec']> {
  const codec = await openFrameRenderer(model, o.tempo, o.sampleRate);
  try {
    let warm = true;
    let written = 0;
    let counted = 0;
    let totalMs = 0;
    let writeMs = 0;
    for (let f = 0; warm || written < writes || counted < CODEC_MIN_FRAMES; f++) {
      const frame = frames.map((row) => row[f % row.length]);
      const t = performance.now();
      const block = await codec.push(frame);
      const ms = performance.now() - t;
      if (warm) {
        // warm until a write has come out and the cold frames are past; a write ends the warm-up so counting starts on a write's boundary
        warm = !(block.left.length > 0 && f >= CODEC_WARM_FRAMES - 1);
        continue;
      }
      counted++;
      totalMs += ms;
      if (block.left.length > 0) {
        written++;
        writeMs += ms;
      }
      if (f > 10_000) throw new Error(`${model.spec.dir}: the codec wrote no audio in 10,000 frames`);
    }
    return { msPerFrame: totalMs / counted, framesPerWrite: counted / written, msPerWrite: writeMs / written };
  } finally {
    codec.close();
  }
}
