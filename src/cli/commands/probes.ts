/** smitin probes: train SMITIN's per-head probes for a model, and show what a probe set holds. */
import { join } from 'node:path';
import { Command } from 'commander';
import { EncodecEncoder } from '../../model/codec/encodec/encoder.js';
import { loadSteerableModel } from '../../smitin/prepare.js';
import { probeMapSvg } from '../../smitin/probe-map.js';
import { encodeProbeSet, modelIdentity, readProbeSet, type FeatureProbes, type ProbeSet } from '../../smitin/probe-set.js';
import { readStemsFolder, stemPairs } from '../../smitin/stem-pairs.js';
import { FEATURE_DESCRIPTIONS, isTinybandFeature, TINYBAND_FEATURES, tinybandPairs, type ProbeExample, type TinybandFeature } from '../../smitin/tinyband-features.js';
import { collectActivations, fitFeatureProbes } from '../../smitin/train-probes.js';
import { UsageError } from '../../util/errors.js';
import { PendingFile } from '../../util/pending-file.js';
import { numberIn } from '../options.js';
import { addModelOptions, loadOptionsOf, type ModelCliOptions } from '../model-options.js';
import { progressBar } from '../progress.js';

/** The probe set a model folder ships with (render and live use it by default). */
export const PROBES_FILE = 'probes.safetensors';

export function defaultProbesFile(modelDir: string): string {
  return join(modelDir, PROBES_FILE);
}

interface TrainOptions extends ModelCliOptions {
  out?: string;
  map?: string;
  features?: string;
  stems?: string;
  pairs: number;
  seed: number;
  l2: number;
  json?: boolean;
  quiet?: boolean;
}

/** Per feature: the best head's validation accuracy, the best outside layer 0, and the mean over heads. */
export function probeSummary(f: FeatureProbes, heads: number): { best_acc: number; best_head: [number, number]; best_acc_after_first_layer: number; mean_acc: number } {
  const acc = Array.from(f.accuracy);
  const best = acc.indexOf(Math.max(...acc));
  const after = acc.slice(heads);
  return {
    best_acc: acc[best],
    best_head: [Math.floor(best / heads), best % heads],
    best_acc_after_first_layer: after.length ? Math.max(...after) : NaN,
    mean_acc: acc.reduce((a, b) => a + b, 0) / acc.length,
  };
}

function parseFeatures(list: string): TinybandFeature[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('--features needs at least one feature');
  for (const n of names) if (!isTinybandFeature(n)) throw new UsageError(`--features: unknown feature ${n} (tinyband has: ${TINYBAND_FEATURES.join(', ')})`);
  return [...new Set(names)] as TinybandFeature[];
}

/** --features with --stems: stem names (checked against the folder by stemPairs); default the stems every song has. */
function parseStemFeatures(list: string | undefined, common: readonly string[]): string[] {
  const names = list === undefined ? [...common] : list.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0 && list !== undefined) throw new UsageError('--features needs at least one feature');
  return [...new Set(names)];
}

function trainCommand(): Command {
  const cmd = new Command('train').description(
    'train one L2 logistic-regression probe per attention head and feature; writes a probe set (safetensors) and a picture of validation accuracy per layer x head',
  );
  return addModelOptions(cmd)
    .option('--out <file>', `probe set to write (default: <model>/${PROBES_FILE})`)
    .option('--map <file.svg>', 'picture of validation accuracy per layer x head (default: the --out path with .svg)')
    .option('--features <list>', `comma-separated features (tinyband: ${TINYBAND_FEATURES.join(', ')}, the default; with --stems: stem names, default the stems every song has)`)
    .option('--stems <dir>', 'probe data from audio stems, for an EnCodec MusicGen: a folder per song with mixture.wav and stem WAVs (MUSDB18 layout; see docs/probes.md)')
    .option('--pairs <n>', 'positive/negative pairs per feature (a fifth of the pieces are held out for validation)', numberIn('pairs', 10, 100_000, { integer: true }), 1000)
    .option('--seed <n>', 'seed of the composed pieces and segment cuts', numberIn('seed', 0, 2 ** 31 - 1, { integer: true }), 1)
    .option('--l2 <lambda>', "L2 penalty of the probes (sklearn's 1/C)", numberIn('l2', 1e-6, 1e6), 1)
    .option('--json', 'print the per-feature summary as JSON')
    .option('--quiet', 'no progress bar')
    .action(async (opts: TrainOptions) => {
      const stems = opts.stems ? readStemsFolder(opts.stems) : null;
      const features = stems ? parseStemFeatures(opts.features, stems.common) : parseFeatures(opts.features ?? TINYBAND_FEATURES.join(','));
      const t0 = performance.now();
      const model = await loadSteerableModel(opts.model, loadOptionsOf(opts));
      try {
        const { spec } = model;
        if (spec.codec.kind !== 'tinyband-synth' && !stems) {
          throw new UsageError(`${opts.model}: probe data is built from the tinyband composer; for an EnCodec MusicGen pass --stems DIR (a folder per song with mixture.wav and stem WAVs, see docs/probes.md)`);
        }
        // --stems: every feature's pairs, encoded song by song before the decoder runs
        let fromStems: Awaited<ReturnType<typeof stemPairs>> | null = null;
        if (stems) {
          if (spec.codec.kind !== 'encodec') throw new UsageError(`${opts.model}: --stems needs an EnCodec MusicGen (its codec is ${spec.codec.kind}, which cannot encode audio)`);
          const encoder = await EncodecEncoder.open(spec);
          try {
            if (!opts.quiet) process.stderr.write(`encoding ${stems.songs.length} songs from ${opts.stems} ...\n`);
            fromStems = await stemPairs(stems, features, encoder, { pairs: opts.pairs, seed: opts.seed, maxFrames: spec.maxFrames - spec.dims.codebooks, frameRate: spec.codec.frameRate });
          } finally {
            await encoder.release();
          }
        }
        const pairsOf = (f: string): ProbeExample[] => fromStems?.examples.get(f) ?? tinybandPairs(f as TinybandFeature, opts.pairs, opts.seed);
        const describe = (f: string): string => (stems ? `the ${f} stem is audible in the segment's last second / the same segment of the mixture without the ${f} stem` : FEATURE_DESCRIPTIONS[f as TinybandFeature]);
        const out = opts.out ?? defaultProbesFile(opts.model);
        const map = opts.map ?? out.replace(/\.[^./]*$/, '') + '.svg';
        const total = fromStems ? [...fromStems.examples.values()].reduce((n, e) => n + e.length, 0) : features.length * opts.pairs * 2;
        const bar = opts.quiet ? null : progressBar('probes {bar} {value}/{total} segments | {feature} | {eta_formatted} left', 200);
        bar?.start(total, 0, { feature: features[0] });
        const trained: FeatureProbes[] = [];
        const result = await PendingFile.produce(out, '--out', async (file) => {
          let before = 0;
          for (const f of features) {
            const examples = pairsOf(f);
            const acts = await collectActivations(model, examples, { onProgress: (done) => bar?.update(before + done, { feature: f }) });
            before += examples.length;
            trained.push(fitFeatureProbes(f, describe(f), acts, examples, spec.dims.heads, { l2: opts.l2 }));
          }
          bar?.stop();
          const set: ProbeSet = {
            model: modelIdentity(spec),
            features: trained,
            training: fromStems
              ? { source: `stems ${opts.stems}`, songs: stems!.songs.map((s) => s.name), pairs: opts.pairs, seed: opts.seed, l2: opts.l2, validation: 'every fifth song', segmentFrames: fromStems.segmentFrames, thresholdDb: fromStems.thresholdDb, seconds: (performance.now() - t0) / 1000 }
              : { source: 'tinyband composer pairs', pairs: opts.pairs, seed: opts.seed, l2: opts.l2, validation: 'every fifth piece', segmentFrames: [16, 128], seconds: (performance.now() - t0) / 1000 },
          };
          file.write(encodeProbeSet(set));
          return set;
        });
        const svg = probeMapSvg(
          result.features.map((f) => ({ feature: f.name, accuracy: f.accuracy })),
          spec.dims.layers,
          spec.dims.heads,
          `${result.model.name}: probe validation accuracy per layer x head (${opts.pairs} pairs per feature)`,
        );
        await PendingFile.produce(map, '--map', (f) => f.write(Buffer.from(svg)));
        const summary = Object.fromEntries(result.features.map((f) => [f.name, probeSummary(f, spec.dims.heads)]));
        if (opts.json) process.stdout.write(JSON.stringify({ out, map, seconds: (performance.now() - t0) / 1000, probes: summary }) + '\n');
        else {
          for (const [name, s] of Object.entries(summary)) {
            process.stdout.write(`${name.padEnd(8)} best ${s.best_acc.toFixed(3)} (L${s.best_head[0]} H${s.best_head[1]})  best after layer 0 ${s.best_acc_after_first_layer.toFixed(3)}  mean ${s.mean_acc.toFixed(3)}\n`);
          }
          process.stdout.write(`wrote ${out} and ${map} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
        }
      } finally {
        await model.release();
      }
    });
}

function showCommand(): Command {
  return new Command('show')
    .description('print what a probe set holds: its model, features and per-feature accuracies')
    .argument('<file>', 'probe set (safetensors)')
    .option('--json', 'print JSON')
    .action((file: string, opts: { json?: boolean }) => {
      const set = readProbeSet(file);
      const summary = Object.fromEntries(set.features.map((f) => [f.name, { ...probeSummary(f, set.model.heads), train: f.train, validation: f.validation, description: f.description }]));
      if (opts.json) process.stdout.write(JSON.stringify({ model: set.model, training: set.training, probes: summary }) + '\n');
      else {
        const m = set.model;
        process.stdout.write(`${file}: probes for ${m.name} (${m.layers} layers x ${m.heads} heads x ${m.headDim}), decoder ${m.decoderFingerprint.slice(0, 12)}\n`);
        for (const [name, s] of Object.entries(summary)) {
          process.stdout.write(`${name.padEnd(8)} best ${s.best_acc.toFixed(3)} (L${s.best_head[0]} H${s.best_head[1]})  after layer 0 ${s.best_acc_after_first_layer.toFixed(3)}  mean ${s.mean_acc.toFixed(3)}  ${s.train}+${s.validation} segments: ${s.description}\n`);
        }
      }
    });
}

export function probesCommand(): Command {
  return new Command('probes').description("SMITIN's per-head probes: train them, inspect them").addCommand(trainCommand()).addCommand(showCommand());
}
