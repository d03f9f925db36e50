/** smitin eval: the paper's table on tinyband (success vs quality of steering methods), with exact ground truth from the tokens. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { bestRows, markdownReport, textReport, tradeoffSvg, type ProbeStats } from '../../smitin/eval/report.js';
import { continuationCrosstalk, continuationOwnChange, evalSampling, FULL_SWEEP, QUICK_SWEEP, runEval, totalContinuations, type EvalRow, type Sweep } from '../../smitin/eval/runner.js';
import { controlAtEqualNll, crosstalkMatrix, doseResponse, liveProgressTotal, livePlan, ownChangeMatrix, productMethod, runLiveEval, type LiveRow } from '../../smitin/eval/live.js';
import { modelSteering } from '../../smitin/steering-file.js';
import { controlSvg, crosstalkSvg, doseSvg, liveMarkdown, songsSvg } from '../../smitin/eval/live-report.js';
import { layoutFloor } from '../../smitin/eval/layout-floor.js';
import { KNOB_SETTINGS } from '../../smitin/eval/knobs.js';
import { isInstrument } from '../../model/tinyband/layout.js';
import { Option } from 'commander';
import { loadSteerableModel } from '../../smitin/prepare.js';
import { checkProbesFit, modelIdentity, readProbeSet } from '../../smitin/probe-set.js';
import { isTinybandFeature, TINYBAND_FEATURES, type TinybandFeature } from '../../smitin/tinyband-features.js';
import { UsageError } from '../../util/errors.js';
import { numberIn } from '../options.js';
import { probeSummary } from './probes.js';
import { defaultProbesFile, findProbesFile, PROBES_DEFAULT_HELP } from '../../smitin/probe-location.js';
import { addModelOptions, loadOptionsOf, type ModelCliOptions } from '../model-options.js';
import { progressBar } from '../progress.js';

interface EvalCliOptions extends ModelCliOptions {
  quick?: boolean;
  json?: boolean;
  out?: string;
  probes?: string;
  features: string;
  n?: number;
  seed: number;
  quiet?: boolean;
  setting: EvalSetting;
}

const EVAL_SETTINGS = ['continuation', 'live', 'both'] as const;
type EvalSetting = (typeof EVAL_SETTINGS)[number];

export const QUICK_N = 8;
export const FULL_N = 100;

function parseFeatures(list: string): TinybandFeature[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('--features needs at least one feature');
  for (const n of names) if (!isTinybandFeature(n)) throw new UsageError(`--features: unknown feature ${n} (tinyband has: ${TINYBAND_FEATURES.join(', ')})`);
  return [...new Set(names)] as TinybandFeature[];
}

export function evalCommand(): Command {
  const cmd = new Command('eval').description(
    "SMITIN's evaluation on tinyband: for each feature, continuations of prompts that lack it under no intervention, text, random directions, ITI top-K and SMITIN over an alpha sweep (plus ablations and removal); success, quality, NLL, Frechet distance, collateral and cost per row (see docs/eval.md)",
  );
  return addModelOptions(cmd, { modelHelp: 'model folder (tinyband)' })
    .option('--quick', `a reduced run (${QUICK_N} prompts per feature, one alpha per method, no ablations): under a minute`)
    .option('--json', 'print one JSON object {probes, rows} instead of the table')
    .option('--out <dir>', 'also write eval.json, table.md and tradeoff.svg into this folder')
    .option('--probes <file>', `probe set (${PROBES_DEFAULT_HELP})`)
    .option('--features <list>', `comma-separated features (${TINYBAND_FEATURES.join(', ')})`, TINYBAND_FEATURES.join(','))
    .option('--n <n>', `prompts per feature and method (default ${FULL_N}; --quick ${QUICK_N})`, numberIn('n', 1, 100_000, { integer: true }))
    .option('--seed <n>', 'seed of the prompts, sampling and random directions', numberIn('seed', 0, 2000, { integer: true }), 1)
    .option('--quiet', 'no progress bar')
    .addOption(new Option('--setting <s>', "continuation (the paper's: composer prompts continued with the knob on), live (knobs on music the model plays itself, from the first step and turned mid-piece), or both").choices(EVAL_SETTINGS).default('both'))
    .action(async (opts: EvalCliOptions) => {
      const features = parseFeatures(opts.features);
      const sweep: Sweep = opts.quick ? QUICK_SWEEP : FULL_SWEEP;
      const n = opts.n ?? (opts.quick ? QUICK_N : FULL_N);
      if (opts.out) mkdirSync(opts.out, { recursive: true });
      const t0 = performance.now();
      const model = await loadSteerableModel(opts.model, loadOptionsOf(opts));
      try {
        if (model.spec.codec.kind !== 'tinyband-synth') throw new UsageError(`${opts.model}: smitin eval measures features from tinyband tokens; this model is not tinyband`);
        const probesFile = opts.probes ?? findProbesFile(opts.model, modelIdentity(model.spec))?.file ?? defaultProbesFile(opts.model);
        const probes = readProbeSet(probesFile);
        checkProbesFit(probes, modelIdentity(model.spec), probesFile);
        for (const f of features) if (!probes.features.some((p) => p.name === f)) throw new UsageError(`${probesFile}: has no probes for ${f}`);
        const probeStats: Record<string, ProbeStats> = {};
        for (const f of probes.features) {
          const s = probeSummary(f, probes.model.heads);
          probeStats[f.name] = { best_acc: s.best_acc, best_acc_after_first_layer: s.best_acc_after_first_layer, mean_acc: s.mean_acc };
        }
        const continuation = opts.setting !== 'live';
        const instruments = features.filter(isInstrument);
        const product = modelSteering(opts.model, probesFile, probes);
        const conditions = opts.setting !== 'continuation' ? livePlan(!!opts.quick, productMethod(product)).filter((c) => instruments.includes(c.feature)) : [];
        const liveTotal = conditions.length ? liveProgressTotal(conditions, n, true) : 0;
        const total = (continuation ? totalContinuations(features, n, sweep, undefined, product) : 0) + liveTotal;
        const bar = opts.quiet ? null : progressBar('eval {bar} {value}/{total} continuations | {label} | {eta_formatted} left', 500);
        bar?.start(total, 0, { label: '' });
        let done = 0;
        const onProgress = (_d: number, _t: number, label: string) => bar?.update(++done, { label });
        const rows: EvalRow[] = continuation ? await runEval({ model, probes, features, n, seed: opts.seed, sweep, product, referenceCount: opts.quick ? 100 : 400, onProgress }) : [];
        const liveRows: LiveRow[] = conditions.length ? await runLiveEval({ model, probes, n, seed: opts.seed, conditions, heard: true, onProgress }) : [];
        bar?.stop();
        const command = ['smitin eval', ...process.argv.slice(3)].join(' ');
        const seconds = (performance.now() - t0) / 1000;
        const live = liveRows.length
          ? { rows: liveRows, crosstalk: crosstalkMatrix(liveRows), crosstalk_heard: crosstalkMatrix(liveRows, (r) => r.heard), dose_response: doseResponse(liveRows), control: controlAtEqualNll(liveRows), layout_floor: layoutFloor() }
          : null;
        const crosstalk = { ...(continuation ? { continuation: continuationCrosstalk(rows) } : {}), ...(live?.crosstalk ?? {}) };
        const result = {
          command,
          config: { n, seed: opts.seed, quick: !!opts.quick, setting: opts.setting, features, sweep, product, sampling: evalSampling(model), seconds },
          probes: Object.fromEntries(features.map((f) => [f, probeStats[f]])),
          rows,
          best: bestRows(rows).map((r) => ({ feature: r.feature, method: r.method, alpha: r.alpha, success: r.success, in_key: r.in_key, within_tolerance: r.within_tolerance })),
          crosstalk,
          crosstalk_heard: live?.crosstalk_heard ?? {},
          dose_response: live?.dose_response ?? {},
          control: live?.control ?? {},
          layout_floor: live?.layout_floor ?? null,
          live: live?.rows ?? [],
        };
        const json = JSON.stringify(result, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
        const liveText = live ? liveMarkdown(live.rows, live.dose_response, live.control, live.layout_floor) : '';
        if (opts.out) {
          const pretty = JSON.stringify(JSON.parse(json), null, 1) + '\n';
          if (continuation) {
            writeFileSync(join(opts.out, 'eval.json'), pretty);
            writeFileSync(join(opts.out, 'table.md'), markdownReport(rows, result.probes, command));
            writeFileSync(join(opts.out, 'tradeoff.svg'), tradeoffSvg(rows, `smitin eval: success vs quality (n=${n} per cell)`));
          }
          if (live) {
            if (!continuation) writeFileSync(join(opts.out, 'live.json'), pretty);
            writeFileSync(join(opts.out, 'live.md'), `Made by \`${command}\`.\n` + liveText);
            // the tokens' panels, then the same knobs heard in the rendered stems
            const heardKey = (setting: string) => `${setting}, heard`;
            const renamed = <T>(m: Record<string, T>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [heardKey(k), v]));
            const own = { ...ownChangeMatrix(live.rows), ...(continuation ? { continuation: continuationOwnChange(rows) } : {}), ...renamed(ownChangeMatrix(live.rows, (r) => r.heard)) };
            const panels = { ...crosstalk, ...renamed(live.crosstalk_heard) };
            const again = live.rows.find((r) => r.setting === 'resampled');
            const yardstick = again ? Object.fromEntries(KNOB_SETTINGS.flatMap((k) => [[k, again.change], ...(again.heard ? [[heardKey(k), again.heard.change]] : [])])) : {};
            writeFileSync(join(opts.out, 'crosstalk.svg'), crosstalkSvg(panels, own, `crosstalk of the product's knobs (n=${n} per cell)`, yardstick));
            const { continuation: _continuation, ...livePanels } = panels;
            writeFileSync(join(opts.out, 'songs.svg'), songsSvg(livePanels, `the product's knobs song by song: other instruments brought in (+) and taken out (-), % of songs (n=${n})`, yardstick));
            writeFileSync(join(opts.out, 'dose-response.svg'), doseSvg(live.dose_response, n));
            writeFileSync(join(opts.out, 'control.svg'), controlSvg(live.control, n));
          }
        }
        if (opts.json) process.stdout.write(json + '\n');
        else {
          if (continuation) process.stdout.write(textReport(rows, result.probes));
          if (live) process.stdout.write(liveText);
          process.stdout.write(`\n${total} continuations in ${seconds.toFixed(1)} s${opts.out ? `; wrote ${opts.out}` : ''}\n`);
        }
      } finally {
        await model.release();
      }
    });
}
