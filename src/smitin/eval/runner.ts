/**
 * smitin eval's runner: for each feature, every method continues the same
 * prompts with the same sampling seeds, so methods differ only by the
 * intervention; then every row's metrics (see docs/eval.md).
 */
import { encodeText, MusicgenGenerator, type Conditioning, type MusicgenModel } from '../../model/musicgen/index.js';
import { INSTRUMENTS, isInstrument } from '../../model/tinyband/layout.js';
import { bestKey, drumsOnGrid } from '../../model/tinyband/quality.js';
import { Rng } from '../../util/rng.js';
import type { FeatureProbes, ProbeSet } from '../probe-set.js';
import { DEFAULT_STEERING, Steerer, type SteeringSettings } from '../steerer.js';
import { featureAmount, featurePresent, type TinybandFeature } from '../tinyband-features.js';
import { bassOnOwnChords, tokenEmbedding } from './embedding.js';
import { fitGaussian, frechetDistance, type Gaussian } from './frechet.js';
import { continuationNll } from './nll.js';
import { crosstalkOf, finiteMean, instrumentShares, presenceChange, worstCell, type PresenceChange } from './presence.js';
import { additionItems, CONTINUATION_FRAMES, referenceWindows, removalItems, type EvalItem } from './prompts.js';

/** The model's own sampling (generation_config.json; tinyband: guidance 1.5, top-k 16, temperature 1): what render and live play by default. */
export function evalSampling(model: MusicgenModel): { guidance: number; topK: number; topP: number; temperature: number } {
  const g = model.spec.generation;
  return { guidance: g.guidance, topK: g.topK, topP: g.topP, temperature: g.temperature };
}

/** The conditioning word that names each feature (the `text` method appends it to the style word). */
export const FEATURE_WORDS: Record<TinybandFeature, string> = { drums: 'drums', bass: 'bass', piano: 'piano', guitar: 'guitar', minor: 'sad', dense: 'energetic' };

export type MethodKind = 'none' | 'text' | 'steer' | 'reference';

export interface MethodSpec {
  method: string;
  kind: MethodKind;
  alpha: number;
  strength: number;
  settings?: Partial<SteeringSettings>;
  /** Random unit directions per head in place of the probes' (the control). */
  random?: boolean;
}

export interface Sweep {
  /** Alphas of topk16 (and of topk8 unless given). */
  topk: number[];
  topk8?: number[];
  smitin: number[];
  random: number[];
  /** Alphas of random directions on ITI's top-16 heads (the control at ITI's push size). */
  randomTopk?: number[];
  /** Alphas of random directions with everything else as `smitin`'s, the monitor included (the control at SMITIN's push). */
  randomMonitor?: number[];
  /** The alpha of the ablation rows (null: no ablations). */
  ablation: number | null;
  removeSmitin: number[];
  removeTopk: number[];
}

export const FULL_SWEEP: Sweep = { topk: [5, 10, 20], topk8: [10, 20], smitin: [15, 30, 60], random: [30, 60], randomTopk: [10], randomMonitor: [30], ablation: 30, removeSmitin: [30, 60], removeTopk: [20] };
export const QUICK_SWEEP: Sweep = { topk: [10], topk8: [10], smitin: [30], random: [30], ablation: null, removeSmitin: [30], removeTopk: [10] };

/** K of ITI's top-K: the paper's 16 and 48 of MusicGen-large's 1536 heads, mapped to our 32 heads (the nearest sensible K: 8 and 16). */
export const TOPK = [8, 16];

const SOFT = { kind: 'soft' } as const;

/** The product's steering (the defaults plus the model's steering.json) as a method of strength `strength`. */
export function productSpec(product: Partial<SteeringSettings>, strength: number): MethodSpec {
  return { method: strength > 0 ? 'product' : 'product-remove', kind: 'steer', alpha: product.alpha ?? DEFAULT_STEERING.alpha, strength, settings: product };
}

export function additionMethods(sweep: Sweep, product?: Partial<SteeringSettings>): MethodSpec[] {
  const m: MethodSpec[] = [
    { method: 'none', kind: 'none', alpha: 0, strength: 0 },
    { method: 'text', kind: 'text', alpha: 0, strength: 0 },
  ];
  if (product) m.push(productSpec(product, 1));
  for (const a of sweep.random) m.push({ method: 'random', kind: 'steer', alpha: a, strength: 1, random: true, settings: { weighting: SOFT, monitor: 'off' } });
  for (const a of sweep.randomTopk ?? []) m.push({ method: 'random-topk16', kind: 'steer', alpha: a, strength: 1, random: true, settings: { weighting: { kind: 'topk', k: 16 }, monitor: 'off' } });
  for (const a of sweep.randomMonitor ?? []) m.push({ method: 'random-monitor', kind: 'steer', alpha: a, strength: 1, random: true, settings: { weighting: SOFT, monitor: 'same' } });
  for (const k of TOPK) for (const a of k === 8 ? (sweep.topk8 ?? sweep.topk) : sweep.topk) m.push({ method: `topk${k}`, kind: 'steer', alpha: a, strength: 1, settings: { weighting: { kind: 'topk', k }, monitor: 'off' } });
  for (const a of sweep.smitin) m.push({ method: 'smitin', kind: 'steer', alpha: a, strength: 1, settings: { weighting: SOFT, monitor: 'same' } });
  if (sweep.ablation !== null) {
    const a = sweep.ablation;
    const base = { weighting: SOFT, monitor: 'same' } as const;
    const ablations: [string, Partial<SteeringSettings>][] = [
      ['smitin+layer0', { fromLayer: 0 }],
      // the prompt run comes before the first bar's warmup, which would hold its shift back
      ['smitin+prompt', { shiftPrompt: true, pushAfterWarmup: false }],
      ['smitin-clean', { monitor: 'clean' }],
      ['smitin-both', { halves: 'both' }],
      ['smitin-paper-tau', { thresholdOffset: 0 }],
      ['smitin-massmean', { direction: 'massmean' }],
      ['smitin-every5', { every: 5 }],
    ];
    for (const [method, s] of ablations) m.push({ method, kind: 'steer', alpha: a, strength: 1, settings: { ...base, ...s } });
  }
  return m;
}

export function removalMethods(sweep: Sweep, product?: Partial<SteeringSettings>): MethodSpec[] {
  const m: MethodSpec[] = [{ method: 'none', kind: 'none', alpha: 0, strength: 0 }];
  if (product) m.push(productSpec(product, -1));
  for (const a of sweep.removeSmitin) m.push({ method: 'smitin-remove', kind: 'steer', alpha: a, strength: -1, settings: { weighting: SOFT, monitor: 'same' } });
  for (const a of sweep.removeTopk) m.push({ method: 'topk16-remove', kind: 'steer', alpha: a, strength: -1, settings: { weighting: { kind: 'topk', k: 16 }, monitor: 'off' } });
  return m;
}

export interface EvalRow {
  feature: string;
  method: string;
  alpha: number;
  strength: number;
  n: number;
  success: number;
  lift: number;
  /** Mean amount of the feature (instrument frame share, minor-chord share, onsets per frame). */
  amount: number;
  in_key: number;
  bass_on_chords: number;
  drums_on_grid: number;
  nll: number;
  frechet: number | null;
  collateral: number;
  applied: number;
  ms_per_step: number;
  /** Instruments: every other instrument's change of frame share and present rate against `none` (per cell, not averaged). */
  crosstalk?: Record<string, PresenceChange>;
  /** The largest of those changes (share or present). */
  crosstalk_max?: number;
  /** Removal rows: the instrument's frame share in the continuation, and its drop against `none`. */
  share?: number;
  share_drop?: number;
}

export interface EvalOptions {
  model: MusicgenModel;
  probes: ProbeSet;
  features: TinybandFeature[];
  n: number;
  seed: number;
  sweep: Sweep;
  /** The product's steering (the model's steering.json over the defaults): `product` rows, the continuation crosstalk's subject. */
  product?: Partial<SteeringSettings>;
  /** Methods to run instead of the sweep's (experiments): additions, and removals for instruments. */
  methods?: { add: MethodSpec[]; remove: MethodSpec[] };
  /** Real windows with the feature per Frechet reference. */
  referenceCount: number;
  /** Called after each continuation (done, total, what is running). */
  onProgress?: (done: number, total: number, label: string) => void;
}

interface Outcome {
  tokens: Uint16Array[][];
  msPerStep: number;
  applied: number;
}

/** A copy of a feature's probes whose directions are random unit vectors per head (seeded); sigma, accuracies and so the head weights stay. */
export function randomDirections(f: FeatureProbes, headDim: number, seed: number): FeatureProbes {
  const rng = new Rng(seed);
  const dir = new Float32Array(f.direction.length);
  for (let i = 0; i < dir.length; i += headDim) {
    let norm = 0;
    for (let d = 0; d < headDim; d++) {
      // Box-Muller: isotropic directions
      const g = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
      dir[i + d] = g;
      norm += g * g;
    }
    norm = Math.sqrt(norm);
    for (let d = 0; d < headDim; d++) dir[i + d] /= norm;
  }
  return { ...f, direction: dir, massMeanDirection: dir, massMeanSigma: f.sigma };
}

export function totalContinuations(features: readonly TinybandFeature[], n: number, sweep: Sweep, methods?: EvalOptions['methods'], product?: Partial<SteeringSettings>): number {
  const add = (methods?.add ?? additionMethods(sweep, product)).length;
  const rem = (methods?.remove ?? removalMethods(sweep, product)).length;
  return features.reduce((s, f) => s + n * add + (isInstrument(f) ? n * rem : 0), 0);
}

function crosstalkInto(row: EvalRow, feature: string, tokens: Uint16Array[][], none: Uint16Array[][]): void {
  row.crosstalk = crosstalkOf(presenceChange(tokens, none), feature);
  row.crosstalk_max = worstCell(row.crosstalk);
}

/** The product's crosstalk in the continuation setting: its addition rows (+1) and removal rows (-1). */
export function continuationCrosstalk(rows: readonly EvalRow[]): Record<string, Record<string, PresenceChange>> {
  const out: Record<string, Record<string, PresenceChange>> = {};
  for (const r of rows) {
    if (!r.crosstalk) continue;
    if (r.method === 'product') out[`${r.feature}=+1`] = r.crosstalk;
    if (r.method === 'product-remove') out[`${r.feature}=-1`] = r.crosstalk;
  }
  return out;
}

/** The knob's own change in the continuation setting, as the crosstalk picture shows it: frame share and success against `none` (or `none-remove`). */
export function continuationOwnChange(rows: readonly EvalRow[]): Record<string, PresenceChange> {
  const out: Record<string, PresenceChange> = {};
  for (const r of rows) {
    if (!isInstrument(r.feature)) continue;
    const add = r.method === 'product';
    if (!add && r.method !== 'product-remove') continue;
    const none = rows.find((x) => x.feature === r.feature && x.method === (add ? 'none' : 'none-remove'));
    if (none) out[`${r.feature}=${add ? '+1' : '-1'}`] = { share: r.amount - none.amount, present: r.lift };
  }
  return out;
}

export async function runEval(options: EvalOptions): Promise<EvalRow[]> {
  const { model, probes, features, n, seed, sweep } = options;
  const total = totalContinuations(features, n, sweep, options.methods, options.product);
  let done = 0;
  const sampling = evalSampling(model);
  const texts = new Map<string, Conditioning>();
  const conditioning = async (text: string): Promise<Conditioning> => {
    let c = texts.get(text);
    if (!c) texts.set(text, (c = await encodeText(model, [text], sampling.guidance)));
    return c;
  };

  const generate = async (feature: TinybandFeature, items: EvalItem[], spec: MethodSpec, label: string): Promise<Outcome> => {
    let set = probes;
    if (spec.random) {
      const fi = probes.features.findIndex((f) => f.name === feature);
      set = { ...probes, features: probes.features.map((f, i) => (i === fi ? randomDirections(f, probes.model.headDim, seed * 7919 + fi + 1) : f)) };
    }
    const tokens: Uint16Array[][] = [];
    let ms = 0;
    let steps = 0;
    let applied = 0;
    let runs = 0;
    for (const item of items) {
      const text = spec.kind === 'text' ? `${item.style} ${FEATURE_WORDS[feature]}` : item.style;
      const cond = await conditioning(text);
      const steer = spec.kind === 'steer' ? new Steerer(set, { [feature]: spec.strength }, { ...spec.settings, alpha: spec.alpha }, { record: true }) : undefined;
      const gen = new MusicgenGenerator(model.decoder, model.spec, cond, { ...sampling, seed: item.samplingSeed, doSample: true, prompt: item.prompt, hook: steer });
      const t0 = performance.now();
      tokens.push(await gen.generate(CONTINUATION_FRAMES));
      ms += performance.now() - t0;
      steps += gen.metrics.steps;
      if (steer) {
        const fi = steer.features.indexOf(feature);
        const alpha = spec.settings?.alphas?.[feature] ?? spec.alpha;
        for (const t of steer.trace) {
          applied += Math.abs(t.applied[fi]) / alpha;
          runs++;
        }
      }
      options.onProgress?.(++done, total, label);
    }
    return { tokens, msPerStep: steps ? ms / steps : 0, applied: runs ? applied / runs : 0 };
  };

  const rowOf = async (feature: TinybandFeature, items: EvalItem[], spec: MethodSpec, out: Outcome, reference: Gaussian | null): Promise<EvalRow> => {
    const nll = await continuationNll(
      model,
      items.map((it, i) => ({ text: it.style, prompt: it.prompt, continuation: out.tokens[i] })),
    );
    return {
      feature,
      method: spec.method,
      alpha: spec.alpha,
      strength: spec.strength,
      n: items.length,
      success: finiteMean(out.tokens.map((t) => (featurePresent(feature, t) ? 1 : 0))),
      lift: NaN,
      amount: finiteMean(out.tokens.map((t) => featureAmount(feature, t))),
      in_key: finiteMean(out.tokens.map((t) => bestKey(t).inKey)),
      bass_on_chords: finiteMean(out.tokens.map((t) => bassOnOwnChords(t))),
      drums_on_grid: finiteMean(out.tokens.map((t, i) => drumsOnGrid(t, items[i].style).onGrid)),
      nll: finiteMean(Array.from(nll)),
      frechet: reference ? frechetDistance(fitGaussian(out.tokens.map((t) => tokenEmbedding(t))), reference) : null,
      collateral: NaN,
      applied: out.applied,
      ms_per_step: out.msPerStep,
    };
  };

  /** Mean absolute change, against `none`, of the mean frame share of the instruments other than the feature. */
  const collateral = (feature: TinybandFeature, a: Uint16Array[][], none: Uint16Array[][]): number => {
    const sa = a.map(instrumentShares);
    const sn = none.map(instrumentShares);
    const ma = INSTRUMENTS.map((_, i) => finiteMean(sa.map((x) => x[i])));
    const mn = INSTRUMENTS.map((_, i) => finiteMean(sn.map((x) => x[i])));
    const others = INSTRUMENTS.map((inst, i) => ({ inst, i })).filter((x) => x.inst !== feature);
    return finiteMean(others.map(({ i }) => Math.abs(ma[i] - mn[i])));
  };

  const rows: EvalRow[] = [];
  for (const feature of features) {
    const items = additionItems(feature, n, seed);
    const reference = fitGaussian(referenceWindows(feature, options.referenceCount, seed).map((w) => tokenEmbedding(w)));
    const outcomes: Outcome[] = [];
    const specs = options.methods?.add ?? additionMethods(sweep, options.product);
    const featureRows: EvalRow[] = [];
    for (const spec of specs) {
      const out = await generate(feature, items, spec, `${feature} ${spec.method}${spec.alpha ? ` a${spec.alpha}` : ''}`);
      outcomes.push(out);
      featureRows.push(await rowOf(feature, items, spec, out, reference));
    }
    const realSpec: MethodSpec = { method: 'reference', kind: 'reference', alpha: 0, strength: 0 };
    const real: Outcome = { tokens: items.map((it) => it.real), msPerStep: 0, applied: 0 };
    outcomes.push(real);
    featureRows.push(await rowOf(feature, items, realSpec, real, reference));
    const none = featureRows[0];
    featureRows.forEach((r, i) => {
      r.lift = r.success - none.success;
      r.collateral = collateral(feature, outcomes[i].tokens, outcomes[0].tokens);
      if (isInstrument(feature)) crosstalkInto(r, feature, outcomes[i].tokens, outcomes[0].tokens);
    });
    rows.push(...featureRows);

    if (!isInstrument(feature)) continue;
    const removal = removalItems(feature, n, seed);
    const rOut: Outcome[] = [];
    const rRows: EvalRow[] = [];
    for (const spec of options.methods?.remove ?? removalMethods(sweep, options.product)) {
      const out = await generate(feature, removal, spec, `${feature} ${spec.method}${spec.alpha ? ` a${spec.alpha}` : ''} (removal)`);
      rOut.push(out);
      const row = await rowOf(feature, removal, spec, out, null);
      row.method = spec.method === 'none' ? 'none-remove' : spec.method;
      row.share = row.amount;
      rRows.push(row);
    }
    rRows.forEach((r, i) => {
      r.lift = r.success - rRows[0].success;
      r.collateral = collateral(feature, rOut[i].tokens, rOut[0].tokens);
      crosstalkInto(r, feature, rOut[i].tokens, rOut[0].tokens);
      r.share_drop = rRows[0].share! > 0 ? 1 - r.share! / rRows[0].share! : NaN;
    });
    rows.push(...rRows);
  }
  return rows;
}
