/** smitin render: a MusicGen model (tinyband by default) generates from a text prompt, rendered to a WAV file. */
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { BEATS_PER_BAR, DEFAULT_TEMPO, FRAMES_PER_BEAT, MAX_TEMPO, MIN_TEMPO, SAMPLE_RATE } from '../../constants.js';
import { cutWithFade } from '../../audio/fade.js';
import { encodeWav } from '../../audio/wav.js';
import { renderTokens } from '../../model/codec/synth/index.js';
import { DEFAULT_KEEP_FRACTION, DTYPES, encodeText, loadModel, MusicgenGenerator, type Dtype, type ModelSpec, type SlideOptions } from '../../model/musicgen/index.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../../model/onnx/session.js';
import { UsageError } from '../../util/errors.js';
import { packageRoot } from '../../util/package-root.js';
import { PendingFile } from '../../util/pending-file.js';
import { numberIn } from '../options.js';
import { MAX_SECONDS } from './compose.js';

export function defaultModelDir(): string {
  return join(packageRoot(), 'models', 'tinyband');
}

interface RenderCliOptions {
  model: string;
  prompt: string;
  seconds: number;
  seed: number;
  out: string;
  tempo: number;
  dtype: Dtype;
  ep: ExecutionProvider;
  threads?: number;
  guidance?: number;
  topK?: number;
  topP?: number;
  temperature?: number;
  json?: boolean;
}

/**
 * How the window slides past the model's length: keep audiocraft's share of
 * it as context; tinyband learned windows that start on a bar, so drop whole
 * bars.
 */
export function slideFor(spec: ModelSpec): SlideOptions {
  const align = spec.codec.kind === 'tinyband-synth' ? spec.codec.framesPerBeat * BEATS_PER_BAR : 1;
  return { keep: Math.floor((DEFAULT_KEEP_FRACTION * spec.maxFrames) / align) * align, align };
}

/** 16th-note frames that cover `seconds` at `bpm` (the epsilon keeps 30 s at 120 BPM at 240, not 241, after rounding error). */
export function framesFor(seconds: number, bpm: number): number {
  return Math.max(1, Math.ceil((seconds * bpm * FRAMES_PER_BEAT) / 60 - 1e-9));
}

export function renderCommand(): Command {
  return new Command('render')
    .description('generate music with a MusicGen model (default: the shipped tinyband) from a text prompt and render it to WAV')
    .requiredOption('--prompt <text>', 'what to play, e.g. "funk happy energetic" (words the model does not know are read as <unk>)')
    .requiredOption('--out <file.wav>', 'output WAV file (48 kHz stereo, 32-bit float)')
    .option('--model <dir>', 'model folder (config.json, generation_config.json, tokenizer.json, onnx/)', defaultModelDir())
    .option('--seconds <n>', `length in seconds (0 < n <= ${MAX_SECONDS}); past the model's window it slides, keeping the last part as context`, numberIn('seconds', 0.001, MAX_SECONDS), 10)
    .option('--seed <n>', 'random seed: the same seed gives the same music', numberIn('seed', 0, 2 ** 32 - 1, { integer: true }), 1)
    .option('--tempo <bpm>', `tempo in BPM (${MIN_TEMPO}..${MAX_TEMPO}); tinyband frames are 16th notes`, numberIn('tempo', MIN_TEMPO, MAX_TEMPO), DEFAULT_TEMPO)
    .addOption(new Option('--dtype <type>', 'model files: fp32 (*.onnx), fp16 (*_fp16.onnx), q8 (*_quantized.onnx)').choices(DTYPES).default('fp32'))
    .addOption(new Option('--ep <provider>', 'onnxruntime execution provider').choices(EXECUTION_PROVIDERS).default('cpu'))
    .option('--threads <n>', 'threads per operator (default: 1 for tinyband-sized models, else onnxruntime picks)', numberIn('threads', 1, 256, { integer: true }))
    .option('--guidance <g>', 'classifier-free guidance scale; 1 = off (default: generation_config.json)', numberIn('guidance', 0, 100))
    .option('--top-k <k>', 'sample among the k most likely ids; 0 = all (default: generation_config.json)', numberIn('top-k', 0, 1_000_000, { integer: true }))
    .option('--top-p <p>', 'nucleus sampling mass, (0, 1]; 1 = off (default: generation_config.json)', numberIn('top-p', 1e-6, 1))
    .option('--temperature <t>', 'sampling temperature > 0 (default: generation_config.json)', numberIn('temperature', 1e-3, 100))
    .option('--json', 'print a JSON summary: frames, seconds, wallSeconds, realtimeFactor (audio seconds per second of generation and synthesis), msPerStep, ...')
    .action(async (opts: RenderCliOptions) => {
      if (!opts.out.toLowerCase().endsWith('.wav')) throw new UsageError(`--out must name a .wav file, got: ${opts.out}`);
      const started = performance.now();
      const model = await loadModel(opts.model, { dtype: opts.dtype, ep: opts.ep, threads: opts.threads });
      try {
        const { spec } = model;
        if (spec.codec.kind !== 'tinyband-synth') {
          throw new UsageError(`${opts.model}: this model's codec is EnCodec (onnx/${spec.codec.file}.onnx): not supported yet: encodec decoding`);
        }
        const frames = framesFor(opts.seconds, opts.tempo);
        const settings = {
          guidance: opts.guidance ?? spec.generation.guidance,
          topK: opts.topK ?? spec.generation.topK,
          topP: opts.topP ?? spec.generation.topP,
          temperature: opts.temperature ?? spec.generation.temperature,
        };
        const loaded = performance.now();
        const summary = await PendingFile.produce(opts.out, '--out', async (file) => {
          const conditioning = await encodeText(model, [opts.prompt], settings.guidance);
          const generator = new MusicgenGenerator(model.decoder, spec, conditioning, {
            ...settings,
            seed: opts.seed,
            doSample: spec.generation.doSample,
            slide: slideFor(spec),
          });
          const t0 = performance.now();
          const tokens = await generator.generate(frames);
          const t1 = performance.now();
          const full = renderTokens(tokens, { tempo: opts.tempo });
          const [left, right] = cutWithFade([full.left, full.right], Math.round(opts.seconds * SAMPLE_RATE));
          const t2 = performance.now();
          file.write(encodeWav([left, right], SAMPLE_RATE));
          const steps = generator.metrics.steps;
          return {
            out: opts.out,
            model: opts.model,
            dtype: opts.dtype,
            ep: opts.ep,
            threads: model.threads ?? null,
            prompt: opts.prompt,
            unknownWords: conditioning.prompts[0].unknown,
            seed: opts.seed,
            tempo: opts.tempo,
            ...settings,
            frames,
            steps,
            seconds: left.length / SAMPLE_RATE,
            sampleRate: SAMPLE_RATE,
            loadSeconds: (loaded - started) / 1000,
            generateSeconds: (t1 - t0) / 1000,
            synthSeconds: (t2 - t1) / 1000,
            slides: generator.metrics.slides,
            msPerStep: (t1 - t0) / steps,
            maxStepMs: generator.metrics.maxStepMs,
            modelMsPerStep: generator.metrics.modelMs / steps,
            realtimeFactor: left.length / SAMPLE_RATE / ((t2 - t0) / 1000),
            wallSeconds: 0,
          };
        });
        summary.wallSeconds = (performance.now() - started) / 1000;
        if (summary.unknownWords.length && !opts.json) {
          process.stderr.write(`note: not in the model's vocabulary, read as <unk>: ${summary.unknownWords.join(', ')}\n`);
        }
        if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
        else {
          process.stdout.write(
            `wrote ${opts.out}: ${summary.seconds.toFixed(2)} s at ${opts.tempo} BPM, ${frames} frames, ` +
              `${summary.msPerStep.toFixed(2)} ms/step, ${summary.realtimeFactor.toFixed(1)}x real time\n`,
          );
        }
      } finally {
        await model.release();
      }
    });
}
