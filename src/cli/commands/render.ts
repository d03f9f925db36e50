/** smitin render: a MusicGen model (tinyband by default) generates from a text prompt, rendered to a WAV file. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { BEATS_PER_BAR, DEFAULT_TEMPO, FRAMES_PER_BEAT, MAX_TEMPO, MIN_TEMPO, SAMPLE_RATE } from '../../constants.js';
import { PROMPT_WORDS } from '../../model/tinyband/styles.js';
import { cutWithFade } from '../../audio/fade.js';
import { encodeWav } from '../../audio/wav.js';
import type { FrameRenderer } from '../../engine/frame-renderer.js';
import { openFrameRenderer } from '../../engine/open-renderer.js';
import { encodecOf } from '../../model/codec/encodec/index.js';
import { codecTraits } from '../../model/codec/traits.js';
import { readDataset } from '../../model/tinyband/dataset.js';
import {
  encodeText,
  MusicgenGenerator,
  requireCodecFile,
  slideFor,
  formatDtypes,
  type ModelSpec,
  type MusicgenModel,
} from '../../model/musicgen/index.js';
import { loadModel } from '../../model/families.js';
import { UsageError } from '../../util/errors.js';
import { PendingFile } from '../../util/pending-file.js';
import { resolveModelAndProbes } from '../model-check.js';
import { numberIn } from '../options.js';
import { addModelOptions, loadOptionsOf, samplingOf, type ModelCliOptions, type SamplingCliOptions } from '../model-options.js';
import { addSteerOption, addSteeringResearchOptions, resolveSteering, type SteeringCliOptions } from '../steering-options.js';
import { loadSteerableModel } from '../../smitin/prepare.js';
import { Steerer } from '../../smitin/steerer.js';
import { formatWeighting } from '../../smitin/weighting.js';
import { featureAmount, isTinybandFeature } from '../../smitin/tinyband-features.js';
import { INSTRUMENTS, soundingInstruments } from '../../model/tinyband/layout.js';
import { MAX_SECONDS } from './compose.js';

interface RenderCliOptions extends SteeringCliOptions, ModelCliOptions, SamplingCliOptions {
  prompt: string;
  seconds: number;
  seed: number;
  out: string;
  tempo: number;
  continue?: string;
  item: number;
  promptBars: number;
  json?: boolean;
}

/**
 * The first `bars` bars of one piece of a tinyband token dataset (from
 * `smitin dataset`, or generated samples), as a prompt to continue.
 */
function continuationPrompt(dir: string, item: number, bars: number): Uint16Array[] {
  let data;
  try {
    data = readDataset(dir, (p) => readFileSync(p));
  } catch (err) {
    throw new UsageError(`--continue: ${(err as Error).message}`);
  }
  const piece = data.pieces[item];
  if (!piece) throw new UsageError(`--item must be below ${data.pieces.length} (the pieces in ${dir}), got: ${item}`);
  const frames = bars * FRAMES_PER_BEAT * BEATS_PER_BAR;
  if (frames > piece.tokens[0].length) throw new UsageError(`--prompt-bars ${bars} is longer than piece ${item} (${piece.tokens[0].length / 16} bars)`);
  return piece.tokens.map((row) => row.slice(0, frames));
}

/** EnCodec frames that cover `seconds` at `frameRate` frames per second (MusicGen: 50). */
export function encodecFramesFor(seconds: number, frameRate: number): number {
  return Math.max(1, Math.ceil(seconds * frameRate - 1e-9));
}

/** Concatenates chunks of one channel. */
function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Generates `frames` frames and plays them as they come through the frame
 * renderer live plays through (a continuation's prompt first: it is heard
 * before what continues it, as audiocraft returns it), then flushes what
 * the codec still holds. The model's and the codec's time are kept apart.
 */
async function generateAudio(
  generator: MusicgenGenerator,
  renderer: FrameRenderer,
  frames: number,
  prompt: readonly Uint16Array[] | undefined,
): Promise<{ left: Float32Array; right: Float32Array; tokens: Uint16Array[]; generateMs: number; codecMs: number }> {
  const tokens = Array.from({ length: generator.codebooks }, () => new Uint16Array(frames));
  const left: Float32Array[] = [];
  const right: Float32Array[] = [];
  let generateMs = 0;
  let codecMs = 0;
  const play = async (block: Promise<{ left: Float32Array; right: Float32Array }>, t0: number) => {
    const { left: l, right: r } = await block;
    left.push(l);
    right.push(r);
    codecMs += performance.now() - t0;
  };
  for (let f = 0; f < (prompt?.[0].length ?? 0); f++) await play(renderer.push(prompt!.map((row) => row[f])), performance.now());
  for (let n = 0; n < frames; ) {
    const t0 = performance.now();
    const frame = await generator.step();
    const t1 = performance.now();
    generateMs += t1 - t0;
    if (!frame) continue;
    frame.forEach((id, k) => (tokens[k][n] = id));
    n++;
    await play(renderer.push(frame), t1);
  }
  await play(renderer.flush(), performance.now());
  return { left: concat(left), right: concat(right), tokens, generateMs, codecMs };
}

/** 16th-note frames that cover `seconds` at `bpm` (the epsilon keeps 30 s at 120 BPM at 240, not 241, after rounding error). */
export function framesFor(seconds: number, bpm: number): number {
  return Math.max(1, Math.ceil((seconds * bpm * FRAMES_PER_BEAT) / 60 - 1e-9));
}

/** Per instrument, the share of frames it sounds in; per probed tinyband feature, its amount (featureAmount). */
function tokenFigures(tokens: readonly Uint16Array[], features: readonly string[]): { sounding: Record<string, number>; features: Record<string, number> } {
  const sounding = Object.fromEntries(soundingInstruments(tokens).map((row, i) => [INSTRUMENTS[i], row.reduce((a, b) => a + b, 0) / Math.max(1, row.length)]));
  return { sounding, features: Object.fromEntries(features.filter(isTinybandFeature).map((f) => [f, featureAmount(f, tokens)])) };
}

/** The steerer's trace, per feature: monitor value, gain and applied push at every decoder run. */
function traceSummary(steerer: Steerer): Record<string, unknown> {
  const per = (pick: (t: Steerer['trace'][number]) => Float64Array, i: number) => steerer.trace.map((t) => round(pick(t)[i]));
  return Object.fromEntries(
    steerer.features.map((name, i) => [
      name,
      {
        strength: steerer.strength(name),
        meanApplied: steerer.trace.reduce((a, t) => a + Math.abs(t.applied[i]), 0) / Math.max(1, steerer.trace.length),
        monitor: per((t) => t.monitor, i),
        gain: per((t) => t.gain, i),
        applied: per((t) => t.applied, i),
      },
    ]),
  );
}

function round(x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null;
}

export function renderCommand(): Command {
  const cmd = new Command('render')
    .description('generate music with a MusicGen model (default: the shipped tinyband) from a text prompt and render it to WAV')
    .optionsGroup('Music:')
    .requiredOption('--prompt <text>', `what to play, e.g. "funk happy energetic" (tinyband knows: ${PROMPT_WORDS.join(' ')}; words the model does not know are read as <unk>)`)
    .requiredOption('--out <file.wav>', 'output WAV file (48 kHz stereo, 32-bit float)')
    .option('--seconds <n>', `length in seconds (0 < n <= ${MAX_SECONDS}); past the model's window it slides, keeping the last part as context`, numberIn('seconds', 0.001, MAX_SECONDS), 10)
    .option('--seed <n>', 'random seed: the same seed gives the same music', numberIn('seed', 0, 2 ** 32 - 1, { integer: true }), 1)
    .option('--tempo <bpm>', `tempo in BPM (${MIN_TEMPO}..${MAX_TEMPO}); tinyband frames are 16th notes (EnCodec models ignore it: 50 frames/s)`, numberIn('tempo', MIN_TEMPO, MAX_TEMPO), DEFAULT_TEMPO);
  addSteerOption(cmd)
    .option('--continue <dir>', 'tinyband: continue a piece of a token dataset (smitin dataset, or samples) instead of starting from silence; the WAV holds the prompt, then the continuation')
    .option('--item <n>', 'with --continue: which piece (0-based)', numberIn('item', 0, 1e9, { integer: true }), 0)
    .option('--prompt-bars <n>', 'with --continue: how many bars of it to continue from', numberIn('prompt-bars', 1, 15, { integer: true }), 2)
    .option('--json', 'print a JSON summary: frames, seconds, wallSeconds, realtimeFactor (audio seconds per second of generation and synthesis), msPerStep, ...')
    .optionsGroup('Model and sampling:');
  addModelOptions(cmd, { sampling: 'render' })
    .optionsGroup('Steering research (how SMITIN pushes; the model folder\'s steering.json holds the measured choices):');
  return addSteeringResearchOptions(cmd)
    .optionsGroup('')
    .action(async (opts: RenderCliOptions) => {
      if (!opts.out.toLowerCase().endsWith('.wav')) throw new UsageError(`--out must name a .wav file, got: ${opts.out}`);
      const started = performance.now();
      const loadOptions = loadOptionsOf(opts);
      // model files, then probes, then the steering arguments: all before any session opens or a prepared decoder is written
      const checked = resolveModelAndProbes(opts.model, { dtype: opts.dtype, probes: opts.steer ? opts.probes : 'none', requireProbes: !!opts.steer, prepare: false });
      const steering = resolveSteering(opts, checked);
      const note = (m: string) => process.stderr.write(`${m}\n`);
      checked.notes.forEach(note);
      const model = steering ? await loadSteerableModel(opts.model, { ...loadOptions, onNote: note }) : await loadModel(opts.model, loadOptions);
      try {
        const { spec } = model;
        const steerer = steering ? new Steerer(steering.probes, steering.strengths, steering.settings, { record: true }) : undefined;
        const encodec = encodecOf(spec.codec);
        if (encodec) requireCodecFile(spec); // refused before anything is generated
        if (opts.continue && encodec) {
          throw new UsageError('--continue reads tinyband token datasets; an EnCodec audio prompt needs encodec_encode.onnx, which is not supported yet');
        }
        const prompt = opts.continue ? continuationPrompt(opts.continue, opts.item, opts.promptBars) : undefined;
        const frames = encodec ? encodecFramesFor(opts.seconds, encodec.frameRate) : framesFor(opts.seconds, opts.tempo);
        const { guidance, topK, topP, temperature } = spec.generation;
        const settings = { guidance, topK, topP, temperature, ...samplingOf(opts) };
        const loaded = performance.now();
        const summary = await PendingFile.produce(opts.out, '--out', async (file) => {
          const conditioning = await encodeText(model, [opts.prompt], settings.guidance);
          const generator = new MusicgenGenerator(model.decoder, spec, conditioning, {
            ...settings,
            seed: opts.seed,
            doSample: spec.generation.doSample,
            slide: slideFor(spec),
            prompt,
            hook: steerer,
          });
          const renderer = await openFrameRenderer(model, opts.tempo, SAMPLE_RATE);
          const audio = await generateAudio(generator, renderer, frames, prompt).finally(() => renderer.close());
          const { tokens: generatedTokens, generateMs, codecMs: synthMs } = audio;
          const promptSeconds = prompt ? (prompt[0].length * 60) / (opts.tempo * FRAMES_PER_BEAT) : 0;
          const [left, right] = cutWithFade([audio.left, audio.right], Math.round((opts.seconds + promptSeconds) * SAMPLE_RATE));
          const codecFigures = encodec ? { codec: 'encodec', modelSampleRate: spec.sampleRate, frameRate: encodec.frameRate, ...renderer.figures() } : {};
          file.write(encodeWav([left, right], SAMPLE_RATE));
          const steps = generator.metrics.steps;
          return {
            out: opts.out,
            model: opts.model,
            dtype: formatDtypes(opts.dtype),
            ep: opts.ep,
            threads: model.threads ?? null,
            prompt: opts.prompt,
            unknownWords: conditioning.prompts[0].unknown,
            promptFrames: prompt ? prompt[0].length : 0,
            seed: opts.seed,
            tempo: opts.tempo,
            ...codecFigures,
            ...settings,
            frames,
            steps,
            seconds: left.length / SAMPLE_RATE,
            sampleRate: SAMPLE_RATE,
            loadSeconds: (loaded - started) / 1000,
            generateSeconds: generateMs / 1000,
            synthSeconds: synthMs / 1000,
            slides: generator.metrics.slides,
            msPerStep: generateMs / steps,
            maxStepMs: generator.metrics.maxStepMs,
            modelMsPerStep: generator.metrics.modelMs / steps,
            realtimeFactor: left.length / SAMPLE_RATE / ((generateMs + synthMs) / 1000),
            wallSeconds: 0,
            ...(encodec ? {} : tokenFigures(generatedTokens, steering?.probes.features.map((f) => f.name) ?? [])),
            ...(steering && steerer
              ? {
                  steering: {
                    probes: steering.probesFile,
                    strengths: steering.strengths,
                    ...steering.settings,
                    weighting: formatWeighting(steering.settings.weighting),
                    monitorMsPerStep: steerer.monitorMs / steps,
                    features: traceSummary(steerer),
                  },
                }
              : {}),
          };
        });
        summary.wallSeconds = (performance.now() - started) / 1000;
        if (summary.unknownWords.length && !opts.json) {
          process.stderr.write(`note: not in the model's vocabulary, read as <unk>: ${summary.unknownWords.join(', ')}\n`);
        }
        if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
        else {
          process.stdout.write(
            `wrote ${opts.out}: ${summary.seconds.toFixed(2)} s${codecTraits(spec.codec).followsTempo ? ` at ${opts.tempo} BPM` : ''}, ${frames} frames, ` +
              `${summary.msPerStep.toFixed(2)} ms/step, ${summary.realtimeFactor.toFixed(1)}x real time\n`,
          );
        }
      } finally {
        await model.release();
      }
    });
}
