/** smitin probes: train SMITIN's per-head probes for a model, and show what a probe set holds. */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command } from 'commander';
import { EncodecEncoder } from '../../model/codec/encodec/encoder.js';
import { encodecOf } from '../../model/codec/encodec/traits.js';
import { loadSteerableModel } from '../../smitin/prepare.js';
import { probeMapSvg } from '../../smitin/probe-map.js';
import { alongMassMean, checkConcept, conceptPairs, type ConceptPrompts } from '../../smitin/concept-pairs.js';
import { examplePairs } from '../../smitin/example-pairs.js';
import { findProbesFile, userDataDir, userProbesFile } from '../../smitin/probe-location.js';
import { checkProbesFit, encodeProbeSet, modelIdentity, readProbeSet, type FeatureProbes, type ModelIdentity, type ProbeSet } from '../../smitin/probe-set.js';
import { readStemsFolder, stemPairs } from '../../smitin/stem-pairs.js';
import { FEATURE_DESCRIPTIONS, isTinybandMonitor, isTinybandProbe, KEEP_BAND_DESCRIPTION, TINYBAND_PROBES, tinybandPairs, type TinybandProbe } from '../../smitin/tinyband-features.js';
import { isInstrument } from '../../model/tinyband/layout.js';
import type { ProbeExample } from '../../smitin/probe-example.js';
import { collectActivations, fitFeatureProbes } from '../../smitin/train-probes.js';
import { UsageError } from '../../util/errors.js';
import { quoted } from '../../util/printable.js';
import { PendingFile } from '../../util/pending-file.js';
import { numberIn } from '../options.js';
import { addModelOptions, loadOptionsOf, type ModelCliOptions } from '../model-options.js';
import { progressBar } from '../progress.js';

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
  concept?: string;
  with?: string;
  without?: string;
  examplesWith?: string;
  examplesWithout?: string;
  n: number;
  keepBand?: boolean;
}

/** A concept's data: two prompts the model generates under, or two folders of recordings (EnCodec models). */
interface ConceptSource extends ConceptPrompts {
  /** prompts: with / without are prompts; examples: folders of WAV files. */
  kind: 'prompts' | 'examples';
}

/** The probe set a concept joins: the one at --out if it exists, else the one render and live use for this model now (the user's or the folder's own). */
function conceptBase(out: string, modelDir: string, identity: ModelIdentity): { set: ProbeSet; file: string } | null {
  const file = existsSync(out) ? out : findProbesFile(modelDir, identity)?.file;
  if (!file) return null;
  const set = readProbeSet(file);
  checkProbesFit(set, identity, file);
  return { set, file };
}

/** What the probe set records of how a concept was made. */
function conceptRecord(c: ConceptSource, opts: TrainOptions, seconds: number): Record<string, unknown> {
  const how = c.kind === 'prompts' ? { with: c.with, without: c.without, n: opts.n, validation: 'every fifth seed' } : { examplesWith: c.with, examplesWithout: c.without, segments: opts.pairs, validation: 'every fifth file of each folder' };
  return { ...how, seed: opts.seed, l2: opts.l2, seconds };
}

/** --concept needs --with and --without (or --examples-with and --examples-without), and stands alone: its pairs come from the model or the examples. */
function checkConceptOptions(opts: TrainOptions): ConceptSource | null {
  const prompts = [opts.with !== undefined && '--with', opts.without !== undefined && '--without'].filter((x): x is string => !!x);
  const folders = [opts.examplesWith !== undefined && '--examples-with', opts.examplesWithout !== undefined && '--examples-without'].filter((x): x is string => !!x);
  const given = [...prompts, ...folders];
  if (opts.concept === undefined) {
    if (given.length) throw new UsageError(`${given.join(' and ')} ${given.length > 1 ? 'need' : 'needs'} --concept NAME (the knob the contrast becomes)`);
    return null;
  }
  const name = quoted(opts.concept);
  if (prompts.length && folders.length) throw new UsageError(`--concept ${name}: give prompts (--with, --without) or example folders (--examples-with, --examples-without), not both`);
  if (opts.stems !== undefined || opts.features !== undefined) throw new UsageError(`--concept makes its own pairs: leave out ${opts.stems !== undefined ? '--stems' : '--features'}`);
  if (folders.length) {
    if (folders.length < 2) throw new UsageError(`--concept ${name} needs --examples-with DIR and --examples-without DIR: WAV files that have the concept and files that do not`);
    return { kind: 'examples', name: opts.concept, with: opts.examplesWith!, without: opts.examplesWithout! };
  }
  if (prompts.length < 2) throw new UsageError(`--concept ${name} needs --with TEXT and --without TEXT: a prompt with the concept and one without it`);
  return { kind: 'prompts', name: opts.concept, with: opts.with!, without: opts.without! };
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

function parseFeatures(list: string): TinybandProbe[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('--features needs at least one feature');
  for (const n of names) if (!isTinybandProbe(n)) throw new UsageError(`--features: unknown feature ${quoted(n)} (tinyband has: ${TINYBAND_PROBES.join(', ')})`);
  return [...new Set(names)] as TinybandProbe[];
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
    .option('--out <file>', 'probe set to write (default: your data folder, keyed by the model\'s decoder, where render, live and eval find it; see docs/probes.md)')
    .option('--map <file.svg>', 'picture of validation accuracy per layer x head (default: the --out path with .svg)')
    .option('--features <list>', `comma-separated features (tinyband: ${TINYBAND_PROBES.join(', ')}, the default; sounding is a monitor, not a knob; with --stems: stem names, default the stems every song has)`)
    .option('--stems <dir>', 'probe data from audio stems, for an EnCodec MusicGen: a folder per song with mixture.wav and stem WAVs (MUSDB18 layout; see docs/probes.md)')
    .option('--pairs <n>', 'positive/negative pairs per feature (a fifth of the pieces are held out for validation)', numberIn('pairs', 10, 100_000, { integer: true }), 1000)
    .option('--seed <n>', 'seed of the composed pieces and segment cuts', numberIn('seed', 0, 2 ** 31 - 1, { integer: true }), 1)
    .option('--keep-band', "tinyband: an instrument's pairs only where the rest of the band still plays in the negative's last bar (never silence against music; measured, not shipped: docs/eval.md)")
    .option('--l2 <lambda>', "L2 penalty of the probes (sklearn's 1/C)", numberIn('l2', 1e-6, 1e6), 1)
    .option('--concept <name>', 'a knob from prompts: the model generates under --with and --without, and the probes learn from its own head activations (see docs/probes.md)')
    .option('--with <text>', '--concept: a prompt that has the concept (e.g. "rock drums bass guitar")')
    .option('--without <text>', '--concept: a prompt that lacks it (e.g. "rock bass guitar")')
    .option('--examples-with <dir>', '--concept from recordings (EnCodec models): a folder of WAV files that have the concept')
    .option('--examples-without <dir>', '--concept: a folder of WAV files that do not (segments per folder: --pairs)')
    .option('--n <n>', '--concept: pieces generated under each prompt (a fifth held out for validation)', numberIn('n', 5, 10_000, { integer: true }), 100)
    .option('--json', 'print the per-feature summary as JSON')
    .option('--quiet', 'no progress bar')
    .action(async (opts: TrainOptions) => {
      const concept = checkConceptOptions(opts);
      if (opts.keepBand && (concept || opts.stems !== undefined)) throw new UsageError(`--keep-band chooses among tinyband's composer pairs: leave out ${concept ? '--concept' : '--stems'}`);
      const stems = opts.stems ? readStemsFolder(opts.stems) : null;
      const features = concept ? [concept.name] : stems ? parseStemFeatures(opts.features, stems.common) : parseFeatures(opts.features ?? TINYBAND_PROBES.join(','));
      const t0 = performance.now();
      const model = await loadSteerableModel(opts.model, loadOptionsOf(opts));
      try {
        const { spec } = model;
        if (spec.codec.kind !== 'tinyband-synth' && !stems && !concept) {
          throw new UsageError(`${opts.model}: probe data is built from the tinyband composer; for an EnCodec MusicGen pass --stems DIR (a folder per song with mixture.wav and stem WAVs, see docs/probes.md)`);
        }
        // --stems: every feature's pairs, encoded song by song before the decoder runs
        let fromStems: Awaited<ReturnType<typeof stemPairs>> | null = null;
        if (stems) {
          const encodec = encodecOf(spec.codec);
          if (!encodec) throw new UsageError(`${opts.model}: --stems needs an EnCodec MusicGen (its codec is ${spec.codec.kind}, which cannot encode audio)`);
          const encoder = await EncodecEncoder.open(spec);
          try {
            if (!opts.quiet) process.stderr.write(`encoding ${stems.songs.length} songs from ${opts.stems} ...\n`);
            fromStems = await stemPairs(stems, features, encoder, { pairs: opts.pairs, seed: opts.seed, maxFrames: spec.maxFrames - spec.dims.codebooks, frameRate: encodec.frameRate });
          } finally {
            await encoder.release();
          }
        }
        const identity = modelIdentity(spec);
        // the model folder may be shipped and tracked (models/tinyband): a user's probes go to the user's folder unless --out says otherwise
        const out = opts.out ?? userProbesFile(identity);
        const base = concept ? conceptBase(out, opts.model, identity) : null;
        let fromConcept: ProbeExample[] | null = null;
        if (concept?.kind === 'prompts') {
          const prompts: ConceptPrompts = { name: concept.name, with: concept.with, without: concept.without };
          checkConcept(model, prompts);
          const gen = opts.quiet ? null : progressBar(`generating {bar} {value}/{total} piece pairs | ${quoted(prompts.with)} / ${quoted(prompts.without)} | {eta_formatted} left`, 20);
          gen?.start(opts.n, 0);
          try {
            fromConcept = await conceptPairs(model, prompts, { n: opts.n, seed: opts.seed, onPiece: (done) => gen?.update(done) });
          } finally {
            gen?.stop();
          }
        } else if (concept) {
          const encodec = encodecOf(spec.codec);
          if (!encodec) throw new UsageError(`${opts.model}: --examples-with needs an EnCodec MusicGen with onnx/encodec_encode.onnx (its codec is ${spec.codec.kind}, which cannot encode audio); --with and --without make a knob from prompts`);
          const encoder = await EncodecEncoder.open(spec);
          try {
            fromConcept = await examplePairs(concept.with, concept.without, encoder, { segments: opts.pairs, seed: opts.seed, maxFrames: spec.maxFrames - spec.dims.codebooks, frameRate: encodec.frameRate });
          } finally {
            await encoder.release();
          }
        }
        const pairsOf = (f: string): ProbeExample[] => fromConcept ?? fromStems?.examples.get(f) ?? tinybandPairs(f as TinybandProbe, opts.pairs, opts.seed, { keepBand: opts.keepBand });
        const describe = (f: string): string =>
          concept?.kind === 'prompts'
            ? `the model's own music under ${quoted(concept.with)} / under ${quoted(concept.without)}, read under the empty prompt; steered along the mass-mean shift`
            : concept
              ? `segments of the recordings in ${quoted(concept.with)} / in ${quoted(concept.without)}`
            : stems
              ? `the ${f} stem is audible in the segment's last second / the same segment of the mixture without the ${f} stem`
              : FEATURE_DESCRIPTIONS[f as TinybandProbe] + (opts.keepBand && isInstrument(f) ? KEEP_BAND_DESCRIPTION : '');
        if (!opts.out) mkdirSync(dirname(out), { recursive: true });
        const map = opts.map ?? out.replace(/\.[^./]*$/, '') + '.svg';
        const total = fromConcept ? fromConcept.length : fromStems ? [...fromStems.examples.values()].reduce((n, e) => n + e.length, 0) : features.length * opts.pairs * 2;
        const bar = opts.quiet ? null : progressBar('probes {bar} {value}/{total} segments | {feature} | {eta_formatted} left', 200);
        bar?.start(total, 0, { feature: features[0] });
        const trained: FeatureProbes[] = [];
        const result = await PendingFile.produce(out, '--out', async (file) => {
          // the bar's redraw timer keeps the process alive: it stops on every way out, an error's too
          try {
            let before = 0;
            for (const f of features) {
              const examples = pairsOf(f);
              const acts = await collectActivations(model, examples, { onProgress: (done) => bar?.update(before + done, { feature: f }) });
              before += examples.length;
              const probes = fitFeatureProbes(f, describe(f), acts, examples, spec.dims.heads, { l2: opts.l2 });
              trained.push(concept?.kind === 'prompts' ? alongMassMean(probes) : !stems && !concept && isTinybandMonitor(f) ? { ...probes, role: 'monitor' } : probes);
            }
          } finally {
            bar?.stop();
          }
          const seconds = (performance.now() - t0) / 1000;
          const concepts = { ...((base?.set.training.concepts as object | undefined) ?? {}) };
          const set: ProbeSet = {
            model: identity,
            features: concept ? [...(base?.set.features.filter((f) => f.name !== concept.name) ?? []), ...trained] : trained,
            training: concept
              ? { ...base?.set.training, ...(base && { base: base.file }), concepts: { ...concepts, [concept.name]: conceptRecord(concept, opts, seconds) } }
              : fromStems
                ? { source: `stems ${opts.stems}`, songs: stems!.songs.map((s) => s.name), pairs: opts.pairs, seed: opts.seed, l2: opts.l2, validation: 'every fifth song', segmentFrames: fromStems.segmentFrames, thresholdDb: fromStems.thresholdDb, seconds }
                : { source: 'tinyband composer pairs', pairs: opts.pairs, seed: opts.seed, l2: opts.l2, validation: 'every fifth piece', segmentFrames: [16, 128], ...(opts.keepBand && { keepBand: true }), seconds },
          };
          file.write(encodeProbeSet(set));
          return set;
        });
        const svg = probeMapSvg(
          result.features.map((f) => ({ feature: f.name, accuracy: f.accuracy })),
          spec.dims.layers,
          spec.dims.heads,
          `${result.model.name}: probe validation accuracy per layer x head (${concept ? `${opts.n} piece pairs per prompt` : `${opts.pairs} pairs per feature`})`,
        );
        await PendingFile.produce(map, '--map', (f) => f.write(Buffer.from(svg)));
        const summary = Object.fromEntries(trained.map((f) => [f.name, probeSummary(f, spec.dims.heads)]));
        if (opts.json) process.stdout.write(JSON.stringify({ out, map, seconds: (performance.now() - t0) / 1000, probes: summary }) + '\n');
        else {
          for (const [name, s] of Object.entries(summary)) {
            process.stdout.write(`${name.padEnd(8)} best ${s.best_acc.toFixed(3)} (L${s.best_head[0]} H${s.best_head[1]})  best after layer 0 ${s.best_acc_after_first_layer.toFixed(3)}  mean ${s.mean_acc.toFixed(3)}\n`);
          }
          if (base) {
            const kept = base.set.features.filter((f) => f.name !== concept!.name);
            const monitors = kept.filter((f) => f.role !== undefined).map((f) => f.name);
            process.stdout.write(`with the probes of ${base.file} (${kept.filter((f) => f.role === undefined).map((f) => f.name).join(', ')}${monitors.length ? `; monitor: ${monitors.join(', ')}` : ''})\n`);
          }
          process.stdout.write(`wrote ${out} and ${map} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
          process.stdout.write(
            opts.out
              ? `steer with them: --probes ${out} (render, live, eval)\n`
              : `render, live and eval now steer ${result.model.name} with them by default (${userDataDir()} holds your probe sets); another set: --probes FILE\n`,
          );
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
      const summary = Object.fromEntries(set.features.map((f) => [f.name, { ...probeSummary(f, set.model.heads), role: f.role ?? 'knob', train: f.train, validation: f.validation, description: f.description }]));
      if (opts.json) process.stdout.write(JSON.stringify({ model: set.model, training: set.training, probes: summary }) + '\n');
      else {
        const m = set.model;
        process.stdout.write(`${file}: probes for ${m.name} (${m.layers} layers x ${m.heads} heads x ${m.headDim}), decoder ${m.decoderFingerprint.slice(0, 12)}\n`);
        for (const [name, s] of Object.entries(summary)) {
          process.stdout.write(`${name.padEnd(8)} best ${s.best_acc.toFixed(3)} (L${s.best_head[0]} H${s.best_head[1]})  after layer 0 ${s.best_acc_after_first_layer.toFixed(3)}  mean ${s.mean_acc.toFixed(3)}  ${s.train}+${s.validation} segments${s.role === 'knob' ? '' : ` (${s.role}, not a knob)`}: ${s.description}\n`);
        }
      }
    });
}

export function probesCommand(): Command {
  return new Command('probes').description("SMITIN's per-head probes: train them, inspect them").addCommand(trainCommand()).addCommand(showCommand());
}
