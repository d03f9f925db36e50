/**
 * smitin check: can this machine play the model live? It opens the model as
 * live would (the same options, the prepared decoder when there are
 * probes), times what live asks of it (engine/keep-up-timing.ts), and
 * prints the multiple of real time, the verdict with its margin and the
 * settings that would help. When the answer is no and the folder has int8
 * files that were not asked for, it measures them too, so the advice says
 * by how much. Exit 0: it keeps up; 1: it does not (so `smitin check ... &&
 * smitin live ...` works); 2: a bad argument.
 */
import { Command } from 'commander';
import { DEFAULT_TEMPO, MAX_TEMPO, MIN_TEMPO, SAMPLE_RATE } from '../../constants.js';
import { DEFAULT_LIVE_PROMPT, parseLatency } from './live.js';
import { DEFAULT_LATENCY_MS } from '../../engine/live-engine.js';
import { loadLiveModel } from '../../engine/live-model.js';
import { measureKeepUp } from '../../engine/keep-up-timing.js';
import { formatMultiple, reportLines } from '../../engine/keep-up.js';
import { adviceContext, describeRun, keepUpReport, type KeepUpReport } from '../../engine/keep-up-context.js';
import { formatDtypes, type DtypeChoice } from '../../model/musicgen/index.js';
import { addModelOptions, loadOptionsOf, type ModelCliOptions, type SamplingCliOptions } from '../model-options.js';
import { resolveLiveModel } from '../model-check.js';
import { numberIn } from '../options.js';
import { quoted } from '../../util/printable.js';
import { PROBES_DEFAULT_HELP } from '../../smitin/probe-location.js';

interface CheckCliOptions extends ModelCliOptions, SamplingCliOptions {
  probes?: string;
  prompt: string;
  tempo: number;
  rate: number;
  latency: number;
  json?: boolean;
}

export function checkCommand(): Command {
  const cmd = new Command('check').description(
    'can this machine play the model live? times decoder steps with guidance and SMITIN at the context lengths live runs at, and the codec, then prints the multiple of real time, a verdict and the settings that would help (exit 0: yes, 1: no)',
  );
  return addModelOptions(cmd, { sampling: 'live' })
    .option('--probes <file>', `probe set (${PROBES_DEFAULT_HELP}; none: time the unsteered decoder)`)
    .option('--latency <ms>', 'the ring target live would play with (its --latency)', parseLatency, DEFAULT_LATENCY_MS)
    .option('--tempo <bpm>', `tempo (${MIN_TEMPO}..${MAX_TEMPO}): a tinyband frame is a 16th note, so its audio lasts 60 / (4 x tempo) s`, numberIn('tempo', MIN_TEMPO, MAX_TEMPO), DEFAULT_TEMPO)
    .option('--rate <hz>', 'output sample rate the codec renders or resamples to', numberIn('rate', 8000, 192000, { integer: true }), SAMPLE_RATE)
    .option('--prompt <text>', 'text prompt (it sets the conditioning length, a small part of the cost)', DEFAULT_LIVE_PROMPT)
    .option('--json', 'print the figures, the verdict and the advice as JSON')
    .action(async (opts: CheckCliOptions) => {
      const asked = await checkModel(opts, opts.dtype);
      if (!opts.json) for (const l of reportLines(quoted(opts.model, 80), asked.how, asked.report)) process.stdout.write(`${l}\n`);
      // "how much would int8 help?" is a measurement, not a guess, when the folder has the files
      const q8 = asked.report.verdict.reason === 'slow' && opts.dtype.decoder !== 'q8' && asked.hasQ8 ? await checkModel(opts, { ...opts.dtype, decoder: 'q8' }) : null;
      if (opts.json) process.stdout.write(JSON.stringify({ ...jsonOf(asked), ...(q8 ? { withQ8: jsonOf(q8) } : {}) }) + '\n');
      else if (q8) process.stdout.write(`measured with --dtype ${formatDtypes({ ...opts.dtype, decoder: 'q8' })}: x${formatMultiple(q8.report.verdict.multiple)} real time: ${q8.report.verdict.keepsUp ? 'that holds' : 'still not enough'}\n`);
      if (!asked.report.verdict.keepsUp) process.exitCode = 1;
    });
}

interface Checked {
  report: KeepUpReport;
  how: string;
  hasQ8: boolean;
  dtype: DtypeChoice;
  loadMs: number;
}

/** Opens the model as live would with `dtype`, measures it fully, and judges it at --latency. */
async function checkModel(opts: CheckCliOptions, dtype: DtypeChoice): Promise<Checked> {
  const checked = resolveLiveModel(opts.model, opts.probes, dtype);
  checked.notes.forEach((n) => process.stderr.write(`${n}\n`));
  const t0 = performance.now();
  const { model, probes } = await loadLiveModel(opts.model, checked.probesFile, { ...loadOptionsOf(opts), dtype });
  const loadMs = performance.now() - t0;
  try {
    const { spec } = model;
    const figures = await measureKeepUp(model, {
      prompt: opts.prompt,
      tempo: opts.tempo,
      sampleRate: opts.rate,
      guidance: opts.guidance ?? spec.generation.guidance,
      temperature: opts.temperature ?? spec.generation.temperature,
      topK: opts.topK ?? spec.generation.topK,
      topP: opts.topP ?? spec.generation.topP,
      seed: 1,
      probes,
      steering: checked.steering,
      effort: 'full',
    });
    const ran = { ep: model.decoder.ep, threads: model.threads ?? null };
    const context = adviceContext(spec, ran, opts.tempo);
    const how = describeRun(formatDtypes(dtype), ran);
    return { report: keepUpReport(figures, opts.latency, context), how, hasQ8: context.hasQ8, dtype, loadMs };
  } finally {
    await model.release();
  }
}

function jsonOf(c: Checked): Record<string, unknown> {
  const { figures, verdict, advice } = c.report;
  return { dtype: formatDtypes(c.dtype), how: c.how, loadSeconds: c.loadMs / 1000, ...verdict, figures, advice };
}
