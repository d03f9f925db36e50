/**
 * smitin eval's live setting: every knob at +1 and -1 on music the model
 * plays itself (knobs.ts), in both ways a performer uses it (from the first
 * step, and turned at bar TURN_BAR), with what it does to every instrument
 * (crosstalk), to quality (NLL under the unsteered model, in-key, drums on
 * the grid, silent bars), how presence follows the knob's position
 * (dose-response), and the random-direction control at equal NLL.
 */
import { INSTRUMENTS, type Instrument } from '../../model/tinyband/layout.js';
import { INSTRUMENT_SUCCESS_SHARE } from '../tinyband-features.js';
import { bestKey, drumsOnGrid } from '../../model/tinyband/quality.js';
import type { MusicgenModel } from '../../model/musicgen/index.js';
import type { ProbeSet } from '../probe-set.js';
import { DEFAULT_STEERING, Steerer, type SteeringSettings } from '../steerer.js';
import { KNOB_FRAMES, knobItems, knobRuns, KNOB_SETTINGS, MEASURED_FROM, measured, resampledItems, TURN_RUN, type KnobItem, type KnobSetting } from './knobs.js';
import { continuationNll } from './nll.js';
import { changeOfShares, crosstalkOf, finiteMean, instrumentShares, interpolateAt, newSilences, presenceOfShares, spearman, worstCell, type InstrumentValues, type PresenceChange } from './presence.js';
import { heardShares } from './heard.js';
import { evalSampling, randomDirections } from './runner.js';

export interface LiveMethod {
  method: string;
  settings: Partial<SteeringSettings>;
  /** Multiplies every alpha of the settings (the control's sweep); 1 when left out. */
  scale?: number;
  /** Random unit directions per head in place of the probes' (the control). */
  random?: boolean;
}

/** The settings a method runs with, its scale applied to alpha and the per-feature alphas. */
export function methodSettings(m: LiveMethod): Partial<SteeringSettings> {
  const scale = m.scale ?? 1;
  const alpha = (m.settings.alpha ?? DEFAULT_STEERING.alpha) * scale;
  const alphas = Object.fromEntries(Object.entries(m.settings.alphas ?? {}).map(([f, a]) => [f, a * scale]));
  return { ...m.settings, alpha, alphas };
}

/** The alpha a feature is pushed with under a method at a strength's sign (removal gain included). */
export function featureAlpha(m: LiveMethod, feature: string, strength: number): number {
  const s = methodSettings(m);
  return (s.alphas?.[feature] ?? s.alpha!) * (strength < 0 ? (s.removalGains?.[feature] ?? 1) : 1);
}

export interface LiveCondition {
  setting: KnobSetting;
  method: LiveMethod;
  feature: Instrument;
  strength: number;
}

/** The product's steering is named `product` in every table: the defaults plus the model's steering.json, as render and live run it. */
export const PRODUCT_METHOD = 'product';

export function productMethod(model: Partial<SteeringSettings>): LiveMethod {
  return { method: PRODUCT_METHOD, settings: model };
}

export interface LivePlan {
  n: number;
  conditions: LiveCondition[];
}

const SIGNS = [1, -1];

/** The conditions of a full run (and of --quick: the headline rows and the half-way doses only); `product` is the model's steering. */
export function livePlan(quick: boolean, product: LiveMethod): LiveCondition[] {
  const c: LiveCondition[] = [];
  const each = (setting: KnobSetting, method: LiveMethod, strengths: readonly number[]) => {
    for (const feature of INSTRUMENTS) for (const strength of strengths) c.push({ setting, method, feature, strength });
  };
  for (const setting of KNOB_SETTINGS) each(setting, product, SIGNS);
  each('turn', product, quick ? [0.5, -0.5] : [0.25, 0.5, 0.75, -0.25, -0.5, -0.75]);
  const random: LiveMethod = { ...product, method: 'random', random: true };
  for (const scale of quick ? [1] : CONTROL_SCALES) each('turn', { ...random, scale }, [1]);
  if (quick) return c;
  for (const scale of CONTROL_SCALES.filter((x) => x !== 1)) each('turn', { ...product, scale }, [1]);
  // what the product's choices are measured against (issue 11): each left out in turn, and the paper's SMITIN as it was the default
  each('start', holdAblation(product), SIGNS);
  const { companions: _companions, removalGains: _removal, ...noCompanions } = product.settings;
  each('start', { method: 'product-no-companions', settings: noCompanions }, SIGNS);
  // a removal setting of the product against the same removal without it, on the knobs it names, both settings
  const removalAblation = (field: 'removalOrthogonalTo' | 'removalStops', method: string) => {
    const { [field]: named, ...without } = product.settings;
    for (const feature of INSTRUMENTS.filter((f) => named?.[f] !== undefined)) {
      for (const setting of KNOB_SETTINGS) c.push({ setting, method: { method, settings: without }, feature, strength: -1 });
    }
  };
  // kept off other directions (the drums' off `sounding`, measured) against the removal along its own probe
  removalAblation('removalOrthogonalTo', 'product-removal-along-probe');
  // stopped where the instrument reads under the stop against the paper's monitor, which pushes on
  removalAblation('removalStops', 'product-removal-unstopped');
  each('start', { method: 'smitin-all-layers', settings: {} }, SIGNS);
  each('start', { method: 'smitin-from-step-1', settings: { pushAfterWarmup: false } }, SIGNS);
  return c;
}

/**
 * The hold monitor as tinyband shipped it until it was measured against
 * leaving it out (issue 11, docs/eval.md "Where the NLL goes, and the hold
 * monitor left out"):
 * gain 1.5 past a drift of 0.1, read on layer 0, the drums held at 40.
 */
export const TINYBAND_HOLD = { hold: 1.5, holdMargin: 0.1, holdLayers: [0], holdAlphas: { drums: 40 } } as const satisfies Partial<SteeringSettings>;

/** The product measured against the hold monitor: without it when the product holds, with TINYBAND_HOLD when it does not. */
export function holdAblation(product: LiveMethod): LiveMethod {
  const { hold, holdMargin: _margin, holdLayers: _layers, holdAlphas: _alphas, ...rest } = product.settings;
  return hold ? { method: 'product-no-hold', settings: rest } : { method: 'product-with-hold', settings: { ...rest, ...TINYBAND_HOLD } };
}

/** The control's sweep: every alpha halved, as is, doubled. */
export const CONTROL_SCALES = [0.5, 1, 2];

/**
 * A knob's effect on presence, read from per-item instrument shares (of
 * frames in the tokens, or of windows heard in the rendered audio) against
 * the unsteered twins'.
 */
export interface KnobPresence {
  /** The knob's own instrument: mean share and present rate in the measured bars. */
  share: number;
  present: number;
  /** Present rate over the items whose unsteered twin lacks the instrument (adding it). */
  success_absent: number;
  /** 1 - share / share of none (removing it). */
  share_drop: number;
  /** Per instrument: its share and present rate in the measured bars. */
  shares: InstrumentValues;
  presents: InstrumentValues;
  /** Per instrument, the change against the unsteered twins (the knob's own included). */
  change: Record<string, PresenceChange>;
  /** The largest change of another instrument (share or present). */
  crosstalk_max: number;
}

export interface LiveRow extends KnobPresence {
  /** `none`: the unsteered twins; `resampled`: the same prompts with other sampling seeds and no knob (what any changed sampling path does to a cell). */
  setting: KnobSetting | 'none' | 'resampled';
  method: string;
  feature: string;
  strength: number;
  /** The knob's alpha (its feature's, scale applied). */
  alpha: number;
  /** The method's alpha scale (the control's sweep). */
  scale: number;
  n: number;
  nll: number;
  nll_ratio: number;
  in_key: number;
  drums_on_grid: number;
  /** Items with a wholly silent bar that the unsteered twin does not have. */
  new_silences: number;
  /** Removal only: of those, the items whose every such bar is one where the twin played the removed instrument alone. */
  new_silences_removed_alone: number;
  /** Mean |applied push| / alpha of the knob over the runs it was on. */
  applied: number;
  /** The same presence heard in the rendered stems (heard.ts): the product's knobs at +-1, and the unsteered twins. */
  heard?: KnobPresence;
}

export interface LiveEvalOptions {
  model: MusicgenModel;
  probes: ProbeSet;
  n: number;
  seed: number;
  conditions: readonly LiveCondition[];
  /** Also render the items of the product's knobs at +-1 and their twins, and read presence from the stems (heardShares): about 0.15 s per item. */
  heard?: boolean;
  onProgress?: (done: number, total: number, label: string) => void;
}

/** The rows whose items are also rendered and listened to: the product's knobs at +-1 (the crosstalk matrix). */
export function isHeardCondition(c: LiveCondition): boolean {
  return c.method.method === PRODUCT_METHOD && (c.method.scale ?? 1) === 1 && !c.method.random && Math.abs(c.strength) === 1;
}

/** Steps of a live eval's progress: every item of every condition, the twins and the resampled twins, and each render when `heard`. */
export function liveProgressTotal(conditions: readonly LiveCondition[], n: number, heard: boolean): number {
  const rendered = heard ? conditions.filter(isHeardCondition).length : 0;
  return n * (conditions.length + 2) + (rendered ? n * (rendered + 2) : 0);
}

/** A knob's presence from the steered items' and their twins' per-item shares (INSTRUMENTS order). */
export function knobPresence(steered: readonly number[][], none: readonly number[][], feature: Instrument): KnobPresence {
  const own = presenceOfShares(steered);
  const before = presenceOfShares(none);
  const col = INSTRUMENTS.indexOf(feature);
  const lacking = steered.filter((_, i) => none[i][col] < INSTRUMENT_SUCCESS_SHARE);
  const change = changeOfShares(steered, none);
  return {
    share: own.share[feature],
    present: own.present[feature],
    success_absent: lacking.length ? presenceOfShares(lacking).present[feature] : NaN,
    share_drop: before.share[feature] > 0 ? 1 - own.share[feature] / before.share[feature] : NaN,
    shares: own.share,
    presents: own.present,
    change,
    crosstalk_max: worstCell(crosstalkOf(change, feature)),
  };
}

/** A row of presence with no knob: `items`' shares and every instrument's change against the twins (none: the twins themselves). */
function unsteeredPresence(items: readonly number[][], none: readonly number[][] = items): KnobPresence {
  const p = presenceOfShares(items);
  const change = changeOfShares(items, none);
  return { share: NaN, present: NaN, success_absent: NaN, share_drop: NaN, shares: p.share, presents: p.present, change, crosstalk_max: worstCell(change) };
}

export function conditionLabel(c: LiveCondition): string {
  return `${c.setting} ${c.method.method}${(c.method.scale ?? 1) !== 1 ? ` x${c.method.scale}` : ''} ${c.feature}=${c.strength > 0 ? '+' : ''}${c.strength}`;
}

export async function runLiveEval(options: LiveEvalOptions): Promise<LiveRow[]> {
  const { model, probes, n, seed, conditions } = options;
  const items = knobItems(n, seed);
  const sampling = evalSampling(model);
  const heard = !!options.heard && conditions.some(isHeardCondition);
  const total = liveProgressTotal(conditions, n, heard);
  let done = 0;
  const progress = (label: string) => () => options.onProgress?.(++done, total, label);
  const listen = (runs: readonly Uint16Array[][], label: string) => {
    const step = progress(`${label} (heard)`);
    return runs.map((r) => {
      const shares = heardShares(r, MEASURED_FROM, KNOB_FRAMES);
      step();
      return shares;
    });
  };
  const none = await knobRuns({ model, items, sampling, setting: 'start', onItem: progress('none') });
  const quality = await qualityOf(model, items, none);
  const noneShares = none.map((t) => instrumentShares(measured(t)));
  const noneHeard = heard ? listen(none, 'none') : [];
  const unknobbed = { feature: '-', strength: 0, alpha: 0, scale: 0, n, applied: 0 };
  const again = await knobRuns({ model, items: resampledItems(items), sampling, setting: 'start', onItem: progress('resampled') });
  const againQuality = await qualityOf(model, items, again);
  const rows: LiveRow[] = [
    { setting: 'none', method: 'none', ...unknobbed, ...unsteeredPresence(noneShares), ...quality, nll_ratio: 1, new_silences: 0, new_silences_removed_alone: 0, ...(heard ? { heard: unsteeredPresence(noneHeard) } : {}) },
    {
      setting: 'resampled',
      method: 'resampled',
      ...unknobbed,
      ...unsteeredPresence(again.map((t) => instrumentShares(measured(t))), noneShares),
      ...againQuality,
      nll_ratio: againQuality.nll / quality.nll,
      ...silences(newSilences(again, none)),
      ...(heard ? { heard: unsteeredPresence(listen(again, 'resampled'), noneHeard) } : {}),
    },
  ];
  for (const c of conditions) {
    const fi = probes.features.findIndex((f) => f.name === c.feature);
    if (fi < 0) throw new RangeError(`the probe set has no ${c.feature}`);
    const set = c.method.random ? { ...probes, features: probes.features.map((f, i) => (i === fi ? randomDirections(f, probes.model.headDim, seed * 7919 + fi + 1) : f)) } : probes;
    const strengths = { [c.feature]: c.strength };
    const steerers: Steerer[] = [];
    const label = conditionLabel(c);
    const runs = await knobRuns({
      model,
      items,
      sampling,
      setting: c.setting,
      strengths,
      steerer: () => {
        const s = new Steerer(set, c.setting === 'start' ? strengths : {}, methodSettings(c.method), { record: true });
        steerers.push(s);
        return s;
      },
      onItem: progress(label),
    });
    const q = await qualityOf(model, items, runs);
    const ownFi = steerers[0]?.features.indexOf(c.feature) ?? -1;
    const from = c.setting === 'turn' ? TURN_RUN : 0;
    const alpha = featureAlpha(c.method, c.feature, c.strength);
    const applied = finiteMean(steerers.flatMap((s) => s.trace.filter((t) => t.run >= from).map((t) => Math.abs(t.applied[ownFi]) / alpha)));
    rows.push({
      setting: c.setting,
      method: c.method.method,
      feature: c.feature,
      strength: c.strength,
      alpha,
      scale: c.method.scale ?? 1,
      n,
      ...knobPresence(runs.map((t) => instrumentShares(measured(t))), noneShares, c.feature),
      ...q,
      nll_ratio: q.nll / quality.nll,
      ...silences(newSilences(runs, none, c.strength < 0 ? c.feature : undefined)),
      applied,
      ...(heard && isHeardCondition(c) ? { heard: knobPresence(listen(runs, label), noneHeard, c.feature) } : {}),
    });
  }
  return rows;
}

function silences(s: { items: number; onlyRemoved: number }): Pick<LiveRow, 'new_silences' | 'new_silences_removed_alone'> {
  return { new_silences: s.items, new_silences_removed_alone: s.onlyRemoved };
}

/** NLL of the measured bars given the bars before them, in-key and drums on grid of the measured bars. */
async function qualityOf(model: MusicgenModel, items: readonly KnobItem[], runs: readonly Uint16Array[][]): Promise<{ nll: number; in_key: number; drums_on_grid: number }> {
  const nll = await continuationNll(
    model,
    items.map((it, i) => ({ text: it.text, prompt: runs[i].map((r) => r.subarray(0, MEASURED_FROM)), continuation: measured(runs[i]) })),
  );
  return {
    nll: finiteMean(Array.from(nll)),
    in_key: finiteMean(runs.map((r) => bestKey(measured(r)).inKey)),
    drums_on_grid: finiteMean(runs.map((r, i) => drumsOnGrid(measured(r), items[i].style).onGrid)),
  };
}

/** A row of the product's steering as shipped (not a scaled control row). */
export function isProductRow(r: LiveRow): boolean {
  return r.method === PRODUCT_METHOD && r.scale === 1;
}

const signed = (s: number): string => `${s > 0 ? '+' : ''}${s}`;

/** Which presence of a row a matrix reads: the tokens' (the row itself) or the heard one. */
export type PresenceOf = (r: LiveRow) => KnobPresence | undefined;

/** Per setting and product knob at +-1 ("piano=+1"), what `pick` takes of the presence `of` reads. */
function productKnobMatrix<T>(rows: readonly LiveRow[], of: PresenceOf, pick: (p: KnobPresence, r: LiveRow) => T): Record<string, Record<string, T>> {
  const out: Record<string, Record<string, T>> = {};
  for (const r of rows) {
    const p = of(r);
    if (!p || !isProductRow(r) || Math.abs(r.strength) !== 1 || r.setting === 'none') continue;
    (out[r.setting] ??= {})[`${r.feature}=${signed(r.strength)}`] = pick(p, r);
  }
  return out;
}

/** The product's crosstalk per setting and knob: every other instrument's change, in the tokens or (`of`: r => r.heard) in the audio. */
export function crosstalkMatrix(rows: readonly LiveRow[], of: PresenceOf = (r) => r): Record<string, Record<string, Record<string, PresenceChange>>> {
  return productKnobMatrix(rows, of, (p, r) => crosstalkOf(p.change, r.feature));
}

/** The product's knobs' change of their own instrument, per setting and knob (the heat map's framed cells). */
export function ownChangeMatrix(rows: readonly LiveRow[], of: PresenceOf = (r) => r): Record<string, Record<string, PresenceChange>> {
  return productKnobMatrix(rows, of, (p, r) => p.change[r.feature]);
}

export interface DoseResponse {
  strengths: number[];
  share: number[];
  present: number[];
  spearman_share: number;
}

/** Per instrument: its share at each knob position of the product in the turn setting (0 = the unsteered twins). */
export function doseResponse(rows: readonly LiveRow[]): Record<string, DoseResponse> {
  const none = rows.find((r) => r.setting === 'none');
  const out: Record<string, DoseResponse> = {};
  for (const inst of INSTRUMENTS) {
    const rs = rows.filter((r) => r.setting === 'turn' && isProductRow(r) && r.feature === inst);
    if (rs.length < 2 || !none) continue;
    const pts = [...rs.map((r) => ({ s: r.strength, share: r.share, present: r.present })), { s: 0, share: none.shares[inst], present: none.presents[inst] }].sort((a, b) => a.s - b.s);
    out[inst] = { strengths: pts.map((p) => p.s), share: pts.map((p) => p.share), present: pts.map((p) => p.present), spearman_share: spearman(pts.map((p) => p.s), pts.map((p) => p.share)) };
  }
  return out;
}

export interface ControlEntry {
  /** (alpha, NLL, own present-rate lift) of probe and random directions at +1 in the turn setting, over the alpha scales. */
  probe: { alpha: number; scale: number; nll: number; lift: number }[];
  random: { alpha: number; scale: number; nll: number; lift: number }[];
  /** The random directions' lift at the NLL the product's default spends (interpolated along its alphas, clamped to its ends). */
  random_lift_at_product_nll: number;
}

export function controlAtEqualNll(rows: readonly LiveRow[]): Record<string, ControlEntry> {
  const out: Record<string, ControlEntry> = {};
  for (const inst of INSTRUMENTS) {
    const pick = (method: string) =>
      rows
        .filter((r) => r.setting === 'turn' && r.method === method && r.feature === inst && r.strength === 1)
        .map((r) => ({ alpha: r.alpha, scale: r.scale, nll: r.nll, lift: r.change[inst].present }))
        .sort((a, b) => a.scale - b.scale);
    const probe = pick(PRODUCT_METHOD);
    const random = pick('random');
    if (!random.length) continue;
    const product = probe.find((p) => p.scale === 1);
    out[inst] = { probe, random, random_lift_at_product_nll: product ? interpolateAt(random.map((p) => ({ x: p.nll, y: p.lift })), product.nll) : NaN };
  }
  return out;
}
