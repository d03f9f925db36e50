/**
 * Knobs from prompts against the composer-labelled probes on tinyband: for
 * each feature, probes are trained from the model's own generations under two
 * contrasting prompts (src/smitin/concept-pairs.ts, what `smitin probes train
 * --concept` does), then both probe sets steer the same eval prompts at the
 * same alpha with smitin eval's measurements (src/smitin/eval/runner.ts):
 * validation accuracy of the best head, add success (share of continuations
 * where the feature is present), its lift over no steering, and crosstalk
 * (the largest change of another instrument's share or presence; for minor,
 * the mean change of the instruments' shares).
 *
 *   npx tsc -p tsconfig.json && nice node dist/bench/concept-steering.bench.js \
 *     [--n-train 100] [--n-eval 40] [--alpha 30] [--capture empty|own] [--features drums,bass,piano,guitar,minor]
 *     [--with TEXT --without TEXT (another contrast, one feature)] [--json]
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { conceptPairs, type ConceptPrompts } from '../src/smitin/concept-pairs.js';
import { type MethodSpec, runEval, type EvalRow } from '../src/smitin/eval/runner.js';
import { loadSteerableModel } from '../src/smitin/prepare.js';
import { readProbeSet, type ProbeSet } from '../src/smitin/probe-set.js';
import type { TinybandFeature } from '../src/smitin/tinyband-features.js';
import { collectActivations, fitFeatureProbes } from '../src/smitin/train-probes.js';
import { probeSummary } from '../src/cli/commands/probes.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)); // from dist/bench/
const MODEL = join(REPO, 'models', 'tinyband');

/**
 * Contrasts made of words tinyband's tokenizer knows. Training added the
 * names of the instruments that play to some prompts (training/tinyband/data.py,
 * prompt_for), always all of them, so a list without an instrument says it is
 * out; "sad"/"dark" tag minor-key pieces and "happy"/"bright" major ones.
 */
export const CONTRASTS: Record<string, ConceptPrompts> = {
  drums: { name: 'drums', with: 'rock drums bass guitar', without: 'rock bass guitar' },
  // "rock drums bass guitar" / "rock drums guitar" pushed bass out (lift -0.20, docs/eval.md): rock has bass whatever the prompt lists
  bass: { name: 'bass', with: 'ballad bass piano', without: 'ballad piano' },
  piano: { name: 'piano', with: 'ballad drums bass piano', without: 'ballad drums bass guitar' },
  guitar: { name: 'guitar', with: 'rock drums bass guitar', without: 'rock drums bass piano' },
  minor: { name: 'minor', with: 'rock sad dark', without: 'rock happy bright' },
};

const { values: args } = parseArgs({
  options: {
    'n-train': { type: 'string', default: '100' },
    'n-eval': { type: 'string', default: '40' },
    alpha: { type: 'string', default: '30' },
    capture: { type: 'string', default: 'empty' },
    features: { type: 'string', default: Object.keys(CONTRASTS).join(',') },
    seed: { type: 'string', default: '1' },
    with: { type: 'string' },
    without: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const nTrain = Number(args['n-train']);
const nEval = Number(args['n-eval']);
const alpha = Number(args.alpha);
const seed = Number(args.seed);
const capture = args.capture === 'own' ? 'own' : 'empty';
const features = args.features!.split(',') as TinybandFeature[];

const model = await loadSteerableModel(MODEL);
const labelled = readProbeSet(join(MODEL, 'probes.safetensors'));
const methods = (): { add: MethodSpec[]; remove: MethodSpec[] } => ({
  add: [
    { method: 'none', kind: 'none', alpha: 0, strength: 0 },
    { method: 'smitin', kind: 'steer', alpha, strength: 1, settings: { weighting: { kind: 'soft' }, monitor: 'same' } },
    { method: 'smitin-massmean', kind: 'steer', alpha, strength: 1, settings: { weighting: { kind: 'soft' }, monitor: 'same', direction: 'massmean' } },
  ],
  remove: [],
});

interface Line {
  feature: string;
  probes: 'labelled' | 'prompts';
  contrast: string;
  best_acc: number;
  rows: Pick<EvalRow, 'method' | 'success' | 'lift' | 'crosstalk_max' | 'collateral'>[];
}

const lines: Line[] = [];
try {
  for (const feature of features) {
    // --with/--without: another contrast for a single feature
    const contrast = { ...CONTRASTS[feature], ...(args.with !== undefined && { with: args.with }), ...(args.without !== undefined && { without: args.without }) };
    const t0 = performance.now();
    const examples = await conceptPairs(model, contrast, { n: nTrain, seed, capture });
    const acts = await collectActivations(model, examples);
    const probes = fitFeatureProbes(feature, `prompts ${contrast.with} / ${contrast.without}`, acts, examples, model.spec.dims.heads);
    const fromPrompts: ProbeSet = { ...labelled, features: [probes] };
    process.stderr.write(`${feature}: concept probes from ${nTrain} piece pairs in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    for (const [kind, set] of [['labelled', labelled], ['prompts', fromPrompts]] as const) {
      const rows = await runEval({ model, probes: set, features: [feature], n: nEval, seed, sweep: { topk: [], smitin: [], random: [], ablation: null, removeSmitin: [], removeTopk: [] }, methods: methods(), referenceCount: 20 });
      const f = set.features.find((x) => x.name === feature)!;
      lines.push({
        feature,
        probes: kind,
        contrast: kind === 'prompts' ? `"${contrast.with}" / "${contrast.without}"` : 'composer pairs',
        best_acc: probeSummary(f, model.spec.dims.heads).best_acc,
        rows: rows.filter((r) => r.method !== 'reference').map((r) => ({ method: r.method, success: r.success, lift: r.lift, crosstalk_max: r.crosstalk_max, collateral: r.collateral })),
      });
      process.stderr.write(`${feature} ${kind}: done\n`);
    }
  }
} finally {
  await model.release();
}

if (args.json) process.stdout.write(JSON.stringify({ nTrain, nEval, alpha, seed, capture, lines }) + '\n');
const fmt = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(2));
process.stdout.write(`n-train ${nTrain} piece pairs, n-eval ${nEval} prompts, alpha ${alpha}, seed ${seed}, capture ${capture}\n`);
process.stdout.write('| feature | probes | best acc | none success | smitin success (lift) | crosstalk | massmean success (lift) | crosstalk |\n|---|---|---|---|---|---|---|---|\n');
for (const l of lines) {
  const [none, sm, mm] = ['none', 'smitin', 'smitin-massmean'].map((m) => l.rows.find((r) => r.method === m)!);
  const ct = (r: (typeof l.rows)[number]) => fmt(r.crosstalk_max ?? r.collateral);
  process.stdout.write(`| ${l.feature} | ${l.probes} | ${fmt(l.best_acc)} | ${fmt(none.success)} | ${fmt(sm.success)} (${fmt(sm.lift)}) | ${ct(sm)} | ${fmt(mm.success)} (${fmt(mm.lift)}) | ${ct(mm)} |\n`);
}
