/**
 * The model options, defined once for every command that loads a model
 * (render, live, check, probes train, eval, prepare): which folder, which
 * files (--dtype), where it runs (--ep, --threads) and, for the commands that
 * sample, how (--guidance, --temperature, --top-k, --top-p). A command takes
 * the subset it can use; the names, help and checks are the same everywhere,
 * so a line that works for render works for live and check.
 */
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import type { GraphDtypes, LoadOptions } from '../model/musicgen/index.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../model/onnx/session.js';
import { CONTROL_RANGES } from '../protocol.js';
import { packageRoot } from '../util/package-root.js';
import { DTYPE_HELP, dtypeOption, numberIn } from './options.js';

export function defaultModelDir(): string {
  return join(packageRoot(), 'models', 'tinyband');
}

/** What the model options parse into (commander's camelCase names). */
export interface ModelCliOptions {
  model: string;
  dtype: GraphDtypes;
  ep: ExecutionProvider;
  /** Undefined: 1 for tinyband-sized models, else onnxruntime's choice (model/musicgen/folder.ts defaultThreads). */
  threads?: number;
}

/** Sampling overrides; each left out is the model's generation_config.json. */
export interface SamplingCliOptions {
  guidance?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
}

/**
 * `render` takes any guidance and temperature the sampler can run;
 * `live` (and `check`, which measures what live plays) only what the live
 * controls accept (protocol.ts CONTROL_RANGES), since the command line's
 * value is where those controls start.
 */
export type SamplingRanges = 'render' | 'live';

const SAMPLING_RANGES = {
  render: { guidance: { min: 0, max: 100 }, temperature: { min: 1e-3, max: 100 } },
  live: { guidance: CONTROL_RANGES.guidance, temperature: CONTROL_RANGES.temperature },
} as const;

export interface ModelOptionsShape {
  /** Which options: the folder and its files always; placement (--ep, --threads) and sampling when asked. */
  placement?: boolean;
  sampling?: SamplingRanges | false;
  /** Help for --model (a command may say what it needs of the folder). */
  modelHelp?: string;
}

/** Adds the model options to `cmd` (in its current options group). */
export function addModelOptions(cmd: Command, { placement = true, sampling = false, modelHelp = 'model folder (config.json, generation_config.json, tokenizer.json, onnx/)' }: ModelOptionsShape = {}): Command {
  cmd.addOption(new Option('--model <dir>', modelHelp).default(defaultModelDir(), 'the shipped tinyband'));
  cmd.addOption(new Option('--dtype <type>', DTYPE_HELP).argParser(dtypeOption).default(dtypeOption('fp32'), 'fp32'));
  if (placement) {
    cmd
      .addOption(new Option('--ep <provider>', 'onnxruntime execution provider (cuda needs its files: see the README\'s install notes)').choices(EXECUTION_PROVIDERS).default('cpu'))
      .option('--threads <n>', 'threads per operator (default: 1 for tinyband-sized models, else onnxruntime picks)', numberIn('threads', 1, 256, { integer: true }));
  }
  if (sampling) {
    const r = SAMPLING_RANGES[sampling];
    const start = sampling === 'live' ? ", where the live control starts" : '';
    cmd
      .option('--guidance <g>', `classifier-free guidance scale in [${r.guidance.min}, ${r.guidance.max}]; 1 = off (default: generation_config.json${start})`, numberIn('guidance', r.guidance.min, r.guidance.max))
      .option('--temperature <t>', `sampling temperature in [${r.temperature.min}, ${r.temperature.max}] (default: generation_config.json${start})`, numberIn('temperature', r.temperature.min, r.temperature.max))
      .option('--top-k <k>', 'sample among the k most likely ids; 0 = all (default: generation_config.json)', numberIn('top-k', 0, 1_000_000, { integer: true }))
      .option('--top-p <p>', 'nucleus sampling mass, (0, 1]; 1 = off (default: generation_config.json)', numberIn('top-p', 1e-6, 1));
  }
  return cmd;
}

/** The loader's options from parsed model options. */
export function loadOptionsOf(opts: Partial<ModelCliOptions>): LoadOptions {
  return { dtype: opts.dtype ?? 'fp32', ep: opts.ep ?? 'cpu', threads: opts.threads };
}

/** The sampling overrides given (an option left out is absent, so the model's own value stands). */
export function samplingOf(opts: SamplingCliOptions): SamplingCliOptions {
  const out: SamplingCliOptions = {};
  if (opts.guidance !== undefined) out.guidance = opts.guidance;
  if (opts.temperature !== undefined) out.temperature = opts.temperature;
  if (opts.topK !== undefined) out.topK = opts.topK;
  if (opts.topP !== undefined) out.topP = opts.topP;
  return out;
}
