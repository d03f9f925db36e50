/**
 * SMITIN at generation time: a StepHook that writes each layer's shift
 * before a decoder run and reads the head outputs after it.
 *
 * Per feature f with strength s_f in [-1, 1], the shift of layer l is
 * s_f * alpha * gain_f * u_{f,l}, where u_{f,l} puts w_{l,h} * sigma_{l,h} *
 * theta_{l,h} into head h's slice (weights from weighting.ts). u is fixed by
 * the settings, so a step costs one multiply-add of F vectors per layer.
 * Features add up. A knob's companions (settings.companions) add a push of
 * their own to the features that share its streams, so s_f is the knob's
 * strength plus the companion pushes of the other knobs.
 *
 * The monitor (monitor.ts) reads the conditional row's head outputs:
 * - `same`: the heads.{l} outputs of the step just run, taken before each
 *   layer's shift was added (the monitor never reads its own push at that
 *   layer; earlier layers' shifts do reach it). Free.
 * - `clean`: before an intervening step, one extra run without any shift
 *   whose cache is thrown away (SteerableDecoder.peek). Exact, twice the cost.
 * - `off`: gain 1 (plain ITI); C_f is still read, as telemetry.
 */
import type { DecoderRun, SteerableDecoder, StepHook } from '../model/steerable-decoder.js';
import { monitorStep, monitorThreshold } from './monitor.js';
import type { FeatureProbes, ProbeSet } from './probe-set.js';
import { ORTHOGONALIZE, orthogonalHeads, orthogonalLayer, type Orthogonalize } from './orthogonalize.js';
import { headWeights, topHeads, type Weighting } from './weighting.js';

export const MONITOR_MODES = ['same', 'clean', 'off'] as const;
export type MonitorMode = (typeof MONITOR_MODES)[number];
export const HALVES = ['cond', 'both'] as const;
/** Which CFG rows are shifted: the conditional one, or both (the guidance difference then cancels part of the push). */
export type Halves = (typeof HALVES)[number];
export const DIRECTIONS = ['probe', 'massmean'] as const;
export type DirectionKind = (typeof DIRECTIONS)[number];

export interface SteeringSettings {
  weighting: Weighting;
  /** Multiplies every strength: the push of strength 1, in sigmas. */
  alpha: number;
  /** Intervene on every `every`-th decoder run (the paper's s). */
  every: number;
  halves: Halves;
  monitor: MonitorMode;
  /** Heads of layers below this are not pushed (layer 0's lexical heads). */
  fromLayer: number;
  /**
   * Per feature, the only layers its push goes into; a feature not named is
   * pushed through every layer from fromLayer. Steering only the layers
   * that carry a concept: on tinyband layer 1 carries the drums but moves
   * the whole band with them, layer 2 moves bass, piano and guitar each on
   * its own (models/tinyband/steering.json says how it was measured).
   */
  layers: Readonly<Record<string, readonly number[]>>;
  /** Per feature, its own alpha in place of `alpha`. */
  alphas: Readonly<Record<string, number>>;
  /**
   * Per feature, what its alpha is multiplied by while its strength is
   * negative (removal): on tinyband piano's removal, with its companion
   * holding guitar out, stopped at 0.85 of its share at the alpha that adds
   * it cleanly.
   */
  removalGains: Readonly<Record<string, number>>;
  /**
   * Per knob, pushes on other features that go with it: while `piano` is at
   * s > 0, every feature named in `companions.piano.up` is pushed with s
   * times its value (`down` while s < 0, with |s|), through that feature's
   * own layers, alpha and monitor. On tinyband piano and guitar share the
   * harmony and melody streams: raising one made the model hand the other's
   * notes over to it (guitar -0.21 / -0.27 of share / present rate with
   * piano=+1) and lowering one handed its notes to the other (+0.21 /
   * +0.20); a companion push on the other instrument with the knob's sign
   * took those cells to about 0.05 (models/tinyband/steering.json).
   */
  companions: Readonly<Record<string, Companions>>;
  /** Shift the positions of a window's first run (the prompt) too. */
  shiftPrompt: boolean;
  direction: DirectionKind;
  /**
   * Issue 11: push each feature along its direction projected off the span
   * of the other features' directions (orthogonalize.ts), per head or per
   * layer; `none` pushes the probes' directions as they are. The projected
   * direction is the feature's push in every role: its knob, its companion
   * pushes and its hold.
   * On the 1500-step tinyband it did not make the knobs more selective (the
   * worst other-instrument cell averaged 0.068 with none, 0.083 per head,
   * 0.101 per layer; smitin eval's live setting, seed 3): its instruments'
   * directions were already near orthogonal. On the 3000-step one, piano's
   * and guitar's share a component (cosine 0.56 at layer 2), and making
   * those two orthogonal per head took piano's add success from 0.69 to 0.90
   * (seed 1); its steering.json does that (docs/eval.md).
   */
  orthogonalize: Orthogonalize;
  /** The features whose directions the pushes are made orthogonal to (a feature never to itself); empty: every other feature of the probe set. */
  orthogonalTo: readonly string[];
  /**
   * Per feature, directions its push is also made orthogonal to, per head,
   * while the push is negative (its removal, or the hold pulling it back
   * down): with `head` together with orthogonalTo's, else on their own. On tinyband the
   * instruments' directions share part of `sounding` (the band plays at all;
   * a monitor probe), so taking the drums out also pushed toward the whole
   * band stopping; kept off it, drums=-1 took them out as much at a lower
   * NLL (x1.58-1.77 against x1.77-1.95, seeds 1-4) but let the guitar in
   * (+0.14 of present rate in the continuation setting), so tinyband's
   * steering.json leaves it out (docs/eval.md, "New silent bars").
   */
  removalOrthogonalTo: Readonly<Record<string, readonly string[]>>;
  /**
   * Per feature, the reading C_f under which its own knob's removal push
   * stops (and C_f + hysteresis over which it starts again); not named: the
   * paper's mirrored monitor, which pushes on, with gain C_f, until the
   * feature reads absent. A companion push on the feature stays as it was:
   * it keeps a partner from taking over, wherever it reads. On tinyband
   * (bass and guitar at 0.5) fewer items fell silent for a bar (17 against
   * 22, seed 4) at a lower NLL, but the push also stopped with a few notes
   * left, heard in 0.18 of the bass's windows against 0.03, so its
   * steering.json leaves it out (docs/eval.md, "Measured, not shipped: a
   * removal that stops").
   */
  removalStops: Readonly<Record<string, number>>;
  /** Heads the monitor pools (the paper: 16). */
  monitorHeads: number;
  /** The monitor reads heads of this layer and above (0: all, as the paper). */
  monitorFromLayer: number;
  /**
   * Added to tau_f, the monitor's threshold (0: the paper's median - std).
   * On tinyband the paper's tau stopped the push while piano and guitar
   * were still short of the success line (0.84 / 0.85 at alpha 30); 0.2
   * more took every instrument to >= 0.90 with in-key within 0.02 of
   * unsteered (100 prompts each), and the gain still decays as 1 - C_f.
   */
  thresholdOffset: number;
  hysteresis: number;
  /**
   * Per feature, the least monitor gain while its own knob is up / down
   * (0: the paper's monitor, which stops the push once the feature reads
   * present, or absent). A research setting: on tinyband a floor of 0.3
   * under piano's and guitar's removal took a little more of them out
   * (share drop 0.86-0.92 -> 0.87-0.95 on seeds 3, 4 and 5) but let the
   * other one in (piano=-1: guitar +0.06 -> +0.13 on held-out seed 4), and
   * up, a push that never stops took the drums out of music that had them
   * throughout (models/tinyband/steering.json). A companion push stays
   * monitored: the floor belongs to the knob.
   */
  gainFloors: Readonly<Record<string, GainFloors>>;
  /**
   * The monitor decides only once the window holds this many positions:
   * the probes learned segments of 16 frames or more, and their reading of
   * a window's first few positions (generation from silence) is noise.
   */
  warmup: number;
  /**
   * The hold monitor's gain (0: off): features at strength 0 are
   * counter-steered when their reading drifts while another is pushed
   * (holdStep). Measured by smitin eval's live setting (eval/tinyband/live.md,
   * the product-with-hold rows): on the 3000-step tinyband it held the other
   * instruments no better than companions and per-feature layers alone and
   * its counter-pushes cost NLL (x1.72 against x1.38 on seed 4), so its
   * steering.json leaves it out.
   */
  hold: number;
  /** Drift of a held feature's monitor value tolerated before it is counter-steered. */
  holdMargin: number;
  /**
   * Per feature, the alpha the hold monitor counter-steers it with, in place
   * of its push alpha. The push and the hold ask different things of one
   * direction: a push gentle enough to keep the music in the style may be
   * too weak to hold the feature where it was while another knob moves.
   */
  holdAlphas: Readonly<Record<string, number>>;
  /** The layers whose heads the hold monitor reads (empty: the monitor's own reading); below every pushed layer, it reads the music played, not the push. */
  holdLayers: readonly number[];
  /**
   * No push before the window holds `warmup` positions. Pushed from the
   * first step of a piece generated from silence, every knob at 30 moved the
   * whole band (piano=+1 took bass by -0.39 and guitar by -0.43 of frame
   * share, drums=+1 lowered the drums); waiting one bar, while the model
   * sets up the groove and the monitor can read it, took those cells to
   * -0.15 and -0.35 and made drums=+1 and bass=+1 raise their instrument
   * (30 prompts; smitin eval's live setting measures both, eval/tinyband/live.md).
   */
  pushAfterWarmup: boolean;
}

/** A knob's least monitor gain per sign. */
export interface GainFloors {
  up?: number;
  down?: number;
}

/** A knob's companion pushes per sign: feature -> strength at knob +1 (up) or -1 (down). */
export interface Companions {
  up?: Readonly<Record<string, number>>;
  down?: Readonly<Record<string, number>>;
}

/**
 * The push of strength 1, in sigmas, per weighting. Soft weights sum to far
 * less than K ones (on tinyband about a fifth of top-16's), so soft needs a
 * larger alpha for the same push. Measured by smitin eval on tinyband (100
 * drumless/bassless/... prompts per instrument, conditional half shifted,
 * eval/tinyband): soft + monitor at 30 took success to 0.97 / 0.98 / 0.93 /
 * 0.90 (drums, bass, piano, guitar) with in-key within 0.02 of unsteered; at
 * 60 bass's in-key fell by 0.05. Top-K without the monitor: 20 for 1.00 on
 * every instrument (in-key down by up to 0.06; 10 keeps it within 0.02 for
 * top-8).
 */
export function defaultAlpha(weighting: Weighting): number {
  return weighting.kind === 'soft' ? 30 : 20;
}

/**
 * Defaults chosen from smitin eval on tinyband (eval/tinyband, alpha 30, mean
 * over the instruments): shifting the conditional CFG half only steered more
 * per unit of push than shifting both (success 0.945 vs 0.82, at a quarter of
 * the full push applied), because with both halves shifted the guidance
 * difference cancels part of the push; the same-pass monitor matched the
 * clean pass's success (0.93) at half its step cost; leaving layer 0 out and
 * not shifting prompt positions raised success from 0.47 and 0.69.
 */
export const DEFAULT_STEERING: SteeringSettings = {
  weighting: { kind: 'soft' },
  alpha: 30,
  every: 1,
  halves: 'cond',
  monitor: 'same',
  fromLayer: 1,
  layers: {},
  alphas: {},
  removalGains: {},
  companions: {},
  shiftPrompt: false,
  direction: 'probe',
  orthogonalize: 'none',
  orthogonalTo: [],
  removalOrthogonalTo: {},
  removalStops: {},
  monitorHeads: 16,
  monitorFromLayer: 0,
  thresholdOffset: 0.2,
  hysteresis: 0.1,
  gainFloors: {},
  warmup: 16,
  hold: 0,
  holdMargin: 0.1,
  holdAlphas: {},
  holdLayers: [],
  pushAfterWarmup: true,
};

/** What the steerer did at one decoder run, per feature (the telemetry and the --json trace). */
export interface SteeringTelemetry {
  run: number;
  /** C_f read after (same) or before (clean) this run; NaN until the first reading. */
  monitor: Float64Array;
  /** The monitor's gain in force for this run. */
  gain: Float64Array;
  /** strength * alpha * gain actually added at this run (0 when it did not intervene). */
  applied: Float64Array;
}

interface FeatureState {
  probes: FeatureProbes;
  /** Per layer: the shift of strength 1 and alpha 1, [H*Dh]. */
  unit: Float32Array[];
  /** The same while the push is negative: `unit` itself unless removalOrthogonalTo names this feature. */
  down: Float32Array[];
  /** The monitor's heads (flat layer * H + h), their layers and their offsets in a layer's head outputs. */
  readers: number[];
  readerLayer: Int32Array;
  readerOffset: Int32Array;
  threshold: number;
  /** The monitor's threshold while this feature's own knob pushes it out (removalStops; else threshold). */
  downThreshold: number;
  /** The performer's knob. */
  knob: number;
  /** The strength pushed: the knob plus the companion pushes of the other knobs, clamped to [-1, 1]. */
  strength: number;
  /** This feature's alpha (the settings' unless a preset gives its own). */
  alpha: number;
  /** Multiplies alpha while the strength is negative. */
  removalGain: number;
  /** The least monitor gain while this feature's own knob is up / down (gainFloors; 0: none). */
  floorUp: number;
  floorDown: number;
  /** The hold monitor's alpha for this feature; NaN: the push alpha (which a preset may set). */
  holdAlpha: number;
  /** This knob's companion pushes while it is up / down: [feature index, strength at |knob| 1]. */
  companionsUp: [number, number][] | null;
  companionsDown: [number, number][] | null;
  active: boolean;
  gain: number;
  monitor: number;
  /** Hold monitor: its readers (flat layer * H + h; empty: the monitor's), its reading, the reading held (NaN until taken; a running mean while nothing is pushed), and the counter-strength now. */
  holdReaders: number[];
  holdLayer: Int32Array;
  holdOffset: Int32Array;
  held: number;
  baseline: number;
  holdStrength: number;
}

export class Steerer implements StepHook {
  /** Every probe of the set, knobs and monitors (probe-set.ts, role), in its order. */
  readonly features: readonly string[];
  /** Indexes into `features` of the knobs (what a performer turns and telemetry reports). */
  readonly knobs: readonly number[];
  readonly settings: SteeringSettings;
  private readonly states: FeatureState[];
  private readonly heads: number;
  private readonly headDim: number;
  private readonly width: number;
  private readonly probs: Float64Array;
  /** Scratch for updateStrengths (no allocation when a knob moves). */
  private readonly pushed: Float64Array;
  /** Telemetry of the last run. */
  readonly last: SteeringTelemetry;
  /** Every run's telemetry, when recording. */
  readonly trace: SteeringTelemetry[] = [];
  private readonly record: boolean;
  /** Decoder milliseconds spent on clean monitor passes. */
  monitorMs = 0;

  constructor(probes: ProbeSet, strengths: Readonly<Record<string, number>>, settings: Partial<SteeringSettings> = {}, options: { record?: boolean } = {}) {
    this.settings = { ...DEFAULT_STEERING, ...settings };
    checkSettings(this.settings, probes.model.layers);
    const { layers, heads, headDim } = probes.model;
    this.heads = heads;
    this.headDim = headDim;
    this.width = heads * headDim;
    this.record = options.record ?? false;
    for (const name of Object.keys(strengths)) {
      if (!probes.features.some((f) => f.name === name)) {
        throw new RangeError(`no probes for feature ${name} (the probe set has: ${probes.features.map((f) => f.name).join(', ')})`);
      }
    }
    const named: [string, readonly string[]][] = [['orthogonalTo', this.settings.orthogonalTo], ...Object.entries(this.settings.removalOrthogonalTo).map(([f, to]): [string, readonly string[]] => [`removalOrthogonalTo.${f}`, [f, ...to]])];
    for (const [field, names] of named) {
      for (const name of names) {
        if (!probes.features.some((f) => f.name === name)) throw new RangeError(`${field} names ${name}, which has no probes (the probe set has: ${probes.features.map((f) => f.name).join(', ')})`);
      }
    }
    const directionOf = (f: FeatureProbes) => (this.settings.direction === 'probe' ? f.direction : f.massMeanDirection);
    const { orthogonalize, orthogonalTo } = this.settings;
    // every feature of the set is steerable live; the ones not named start at 0
    this.states = probes.features.map((f) => {
      const weights = headWeights(f.accuracy, heads, this.settings.weighting, this.settings.fromLayer);
      const others = probes.features.filter((o) => o !== f && (orthogonalTo.length === 0 || orthogonalTo.includes(o.name))).map(directionOf);
      const offDown = (this.settings.removalOrthogonalTo[f.name] ?? []).map((name) => directionOf(probes.features.find((o) => o.name === name)!));
      const direction = (extra: Float32Array[]) => (orthogonalize === 'head' ? orthogonalHeads(directionOf(f), [...others, ...extra], headDim) : extra.length ? orthogonalHeads(directionOf(f), extra, headDim) : directionOf(f));
      const sigma = this.settings.direction === 'probe' ? f.sigma : f.massMeanSigma;
      const units = (dir: Float32Array) => Array.from({ length: layers }, (_, l) => {
        const u = new Float32Array(this.width);
        const only = this.settings.layers[f.name];
        if (only && !only.includes(l)) return u;
        for (let h = 0; h < heads; h++) {
          const i = l * heads + h;
          const scale = weights[i] * sigma[i];
          if (scale === 0) continue;
          for (let d = 0; d < headDim; d++) u[h * headDim + d] = scale * dir[i * headDim + d];
        }
        if (orthogonalize !== 'layer' || others.length === 0) return u;
        const slice = this.width * l;
        return orthogonalLayer(u, others.map((o) => o.subarray(slice, slice + this.width)), headDim);
      });
      const unit = units(direction([]));
      const first = this.settings.monitorFromLayer * heads;
      const readers = topHeads(f.accuracy.subarray(first), Math.min(this.settings.monitorHeads, f.accuracy.length - first)).map((i) => i + first);
      const holdHeads = this.settings.holdLayers.flatMap((l) => Array.from({ length: heads }, (_, h) => l * heads + h));
      const holdReaders = holdHeads.sort((a, b) => f.accuracy[b] - f.accuracy[a] || a - b).slice(0, this.settings.monitorHeads);
      // kept below 1 so that a feature fully there always stops the push
      const threshold = Math.min(0.99, monitorThreshold(f.accuracy) + this.settings.thresholdOffset);
      const state: FeatureState = {
        probes: f,
        unit,
        down: offDown.length ? units(direction(offDown)) : unit,
        readers,
        readerLayer: Int32Array.from(readers, (i) => Math.floor(i / heads)),
        readerOffset: Int32Array.from(readers, (i) => (i % heads) * headDim),
        threshold,
        downThreshold: f.name in this.settings.removalStops ? Math.min(threshold, 1 - this.settings.removalStops[f.name]) : threshold,
        knob: 0,
        strength: 0,
        alpha: this.settings.alphas[f.name] ?? this.settings.alpha,
        removalGain: this.settings.removalGains[f.name] ?? 1,
        floorUp: this.settings.gainFloors[f.name]?.up ?? 0,
        floorDown: this.settings.gainFloors[f.name]?.down ?? 0,
        holdAlpha: this.settings.holdAlphas[f.name] ?? NaN,
        companionsUp: null,
        companionsDown: null,
        active: true,
        gain: 1,
        monitor: NaN,
        holdReaders,
        holdLayer: Int32Array.from(holdReaders, (i) => Math.floor(i / heads)),
        holdOffset: Int32Array.from(holdReaders, (i) => (i % heads) * headDim),
        held: NaN,
        baseline: NaN,
        holdStrength: 0,
      };
      return state;
    });
    this.features = this.states.map((s) => s.probes.name);
    this.knobs = this.states.flatMap((s, i) => (s.probes.role === undefined ? [i] : []));
    const index = (name: string) => {
      const i = this.features.indexOf(name);
      if (i < 0) throw new RangeError(`companions name ${name}, which has no probes (the probe set has: ${this.features.join(', ')})`);
      return i;
    };
    for (const [knob, c] of Object.entries(this.settings.companions)) {
      const s = this.states[index(knob)];
      const pushes = (p: Readonly<Record<string, number>> | undefined) => (p ? Object.entries(p).map(([name, k]): [number, number] => [index(name), k]) : null);
      s.companionsUp = pushes(c.up);
      s.companionsDown = pushes(c.down);
    }
    for (const [field, named] of [['removalGains', this.settings.removalGains], ['holdAlphas', this.settings.holdAlphas], ['gainFloors', this.settings.gainFloors], ['removalStops', this.settings.removalStops]] as const) {
      for (const name of Object.keys(named)) {
        if (!this.features.includes(name)) throw new RangeError(`${field} name ${name}, which has no probes (the probe set has: ${this.features.join(', ')})`);
      }
    }
    this.probs = new Float64Array(this.settings.monitorHeads);
    this.pushed = new Float64Array(this.states.length);
    const n = this.states.length;
    this.last = { run: -1, monitor: new Float64Array(n).fill(NaN), gain: new Float64Array(n).fill(1), applied: new Float64Array(n) };
    for (const [name, s] of Object.entries(strengths)) this.setStrength(name, s);
  }

  /** Sets one feature's strength, clamped to [-1, 1]; a live control may call it between any two steps. */
  setStrength(name: string, value: number): void {
    this.setKnob(name, value);
    this.updateStrengths();
  }

  /** Sets several knobs at once (the live engine, once per control change), the pushed strengths worked out once. */
  setStrengths(names: readonly string[], values: ArrayLike<number>): void {
    names.forEach((name, i) => this.setKnob(name, values[i]));
    this.updateStrengths();
  }

  private setKnob(name: string, value: number): void {
    const s = this.states.find((x) => x.probes.name === name);
    if (!s) throw new RangeError(`no probes for feature ${name} (the probe set has: ${this.features.join(', ')})`);
    if (!Number.isFinite(value)) throw new RangeError(`strength of ${name} must be a finite number, got: ${value}`);
    s.knob = Math.max(-1, Math.min(1, value));
  }

  /** Each feature's pushed strength from the knobs and their companions. */
  private updateStrengths(): void {
    const pushed = this.pushed;
    this.states.forEach((s, i) => (pushed[i] = s.knob));
    for (const s of this.states) {
      const c = s.knob > 0 ? s.companionsUp : s.knob < 0 ? s.companionsDown : null;
      if (c) for (const [i, k] of c) pushed[i] += Math.abs(s.knob) * k;
    }
    this.states.forEach((s, i) => {
      const v = Math.max(-1, Math.min(1, pushed[i]));
      // a new direction starts the monitor afresh: "present enough" and "absent enough" are different states
      if (Math.sign(v) !== Math.sign(s.strength)) {
        s.active = true;
        s.gain = 1;
      }
      s.strength = v;
    });
  }

  /** Sets one feature's alpha (a live preset's per-feature maximum push); removal keeps its gain over it. */
  setAlpha(name: string, alpha: number): void {
    const s = this.states.find((x) => x.probes.name === name);
    if (!s) throw new RangeError(`no probes for feature ${name} (the probe set has: ${this.features.join(', ')})`);
    if (!(Number.isFinite(alpha) && alpha >= 0)) throw new RangeError(`alpha of ${name} must be a finite number >= 0, got: ${alpha}`);
    s.alpha = alpha;
  }

  /** Telemetry of one feature now: strength, monitor value, gain. */
  feature(i: number): { name: string; strength: number; monitor: number; gain: number } {
    const s = this.states[i];
    return { name: s.probes.name, strength: s.knob, monitor: s.monitor, gain: this.settings.monitor === 'off' ? 1 : s.gain };
  }

  strength(name: string): number {
    const s = this.states.find((x) => x.probes.name === name);
    if (!s) throw new RangeError(`no probes for feature ${name}`);
    return s.knob;
  }

  before(run: DecoderRun, decoder: SteerableDecoder): Promise<void> | void {
    const { settings } = this;
    const intervene =
      run.index % settings.every === 0 &&
      (run.length === 1 || settings.shiftPrompt) &&
      (!settings.pushAfterWarmup || decoder.length >= settings.warmup) &&
      this.states.some((s) => s.strength !== 0 || s.holdStrength !== 0);
    // the clean pass is the only asynchronous part: other steps stay free of promise ticks
    if (intervene && settings.monitor === 'clean') return this.cleanPass(run, decoder).then(() => this.shift(run, decoder, intervene));
    this.shift(run, decoder, intervene);
  }

  private async cleanPass(run: DecoderRun, decoder: SteerableDecoder): Promise<void> {
    decoder.setShifting(false);
    const t0 = performance.now();
    await decoder.peek(run.ids, run.length);
    this.monitorMs += performance.now() - t0;
    this.read(decoder, decoder.length + run.length);
  }

  private shift(run: DecoderRun, decoder: SteerableDecoder, intervene: boolean): void {
    const { settings } = this;
    const t = this.last;
    t.run = run.index;
    t.applied.fill(0);
    if (!intervene) {
      decoder.setShifting(false);
      return;
    }
    const rows = decoder.shifts[0].length / this.width;
    const shiftRows = settings.halves === 'both' ? rows : rows / 2;
    const n = this.states.length;
    for (let i = 0; i < n; i++) {
      const s = this.states[i];
      t.applied[i] = s.strength * s.alpha * (s.strength < 0 ? s.removalGain : 1) * (settings.monitor === 'off' ? 1 : s.gain) + s.holdStrength * (Number.isNaN(s.holdAlpha) ? s.alpha : s.holdAlpha);
    }
    if (t.applied.every((a) => a === 0)) {
      decoder.setShifting(false);
      return;
    }
    const width = this.width;
    for (let l = 0; l < decoder.shifts.length; l++) {
      const shift = decoder.shifts[l];
      shift.fill(0);
      for (let i = 0; i < n; i++) {
        const a = t.applied[i];
        if (a === 0) continue;
        const u = (a < 0 ? this.states[i].down : this.states[i].unit)[l];
        for (let j = 0; j < width; j++) shift[j] += a * u[j];
      }
      // conditional rows come first (conditioning.ts); B = 1 in the generator, so row 0 is the whole conditional half
      for (let r = 1; r < shiftRows; r++) shift.copyWithin(r * width, 0, width);
    }
    decoder.setShifting(true);
  }

  after(_run: DecoderRun, decoder: SteerableDecoder): void {
    // with the monitor off the values are still read: they are telemetry (free in the same pass)
    if (this.settings.monitor !== 'clean') this.read(decoder, decoder.length);
    const t = this.last;
    this.states.forEach((s, i) => {
      t.monitor[i] = s.monitor;
      t.gain[i] = s.gain;
    });
    if (this.record) this.trace.push({ run: t.run, monitor: t.monitor.slice(), gain: t.gain.slice(), applied: t.applied.slice() });
  }

  /**
   * The hold monitor: a feature at strength 0 keeps the reading it had
   * while no push was applied (a running mean; the first reading after the
   * warmup when the push came first). While another feature's push is
   * applied, a drift beyond holdMargin is counter-steered along the held
   * feature's own direction with strength hold * (drift - margin), clamped
   * to [-1, 1]. Holding whenever a knob was merely off centre fought the
   * music's own changes of section: on 30-s renders with drums=+1, drums
   * already playing and their push off, it took the drums out for bars.
   */
  private holdStep(positions: number): void {
    const { warmup, holdMargin, hold } = this.settings;
    // only a push being applied moves the other features: while the monitor holds every push off, the music is the model's own and the baselines follow it
    const pushing = this.states.some((s) => s.strength !== 0 && (this.settings.monitor === 'off' || s.gain > 0));
    for (const s of this.states) {
      // a monitor probe is read, never pushed: holding it would push the whole band (tinyband's sounding)
      if (s.strength !== 0 || !Number.isFinite(s.held) || s.probes.role !== undefined) {
        s.holdStrength = 0;
        continue;
      }
      if (!pushing) {
        s.holdStrength = 0;
        if (positions >= warmup) s.baseline = Number.isFinite(s.baseline) ? s.baseline + (s.held - s.baseline) / HOLD_MEAN_STEPS : s.held;
        continue;
      }
      if (positions < warmup) continue;
      if (!Number.isFinite(s.baseline)) s.baseline = s.held;
      const drift = s.baseline - s.held;
      const over = Math.abs(drift) - holdMargin;
      s.holdStrength = over > 0 ? Math.max(-1, Math.min(1, Math.sign(drift) * over * hold)) : 0;
    }
  }

  /** The median probe probability of `s`'s probes over the given heads of the decoder's last head outputs. */
  private probeMedian(decoder: SteerableDecoder, s: FeatureState, readers: readonly number[], layer: Int32Array, offset: Int32Array): number {
    const { headDim, probs } = this;
    const { weights, bias } = s.probes;
    for (let r = 0; r < readers.length; r++) {
      const i = readers[r];
      const z = decoder.heads(layer[r]);
      const wo = i * headDim;
      let dot = bias[i];
      for (let d = 0; d < headDim; d++) dot += weights[wo + d] * z[offset[r] + d];
      probs[r] = 1 / (1 + Math.exp(-dot));
    }
    return medianInPlace(probs, readers.length);
  }

  /** Reads C_f for every feature from the decoder's last head outputs (conditional row) and updates the gains; `positions` is the window the outputs saw. */
  private read(decoder: SteerableDecoder, positions: number): void {
    // a monitor probe (tinyband's sounding) that nothing pushes is read only for the trace: a live step spends nothing on it
    for (const s of this.states) if (s.probes.role === undefined || s.strength !== 0 || this.record) s.monitor = this.probeMedian(decoder, s, s.readers, s.readerLayer, s.readerOffset);
    if (this.settings.hold > 0) {
      for (const s of this.states) if (s.probes.role === undefined) s.held = s.holdReaders.length ? this.probeMedian(decoder, s, s.holdReaders, s.holdLayer, s.holdOffset) : s.monitor;
      this.holdStep(positions);
    }
    for (const s of this.states) {
      if (s.strength === 0 || positions < this.settings.warmup) continue;
      const threshold = s.knob < 0 && s.strength < 0 ? s.downThreshold : s.threshold;
      const d = monitorStep(s.active, s.monitor, s.strength > 0, { threshold, hysteresis: this.settings.hysteresis, floor: floorOf(s) });
      s.active = d.active;
      s.gain = d.gain;
    }
  }
}

/** The least gain of `s`'s push: its knob's floor while the push goes the knob's way, else 0 (a companion push). */
function floorOf(s: FeatureState): number {
  if (Math.sign(s.knob) !== Math.sign(s.strength)) return 0;
  return s.knob > 0 ? s.floorUp : s.floorDown;
}

/** Steps of the hold monitor's running mean of an unpushed reading (one bar of tinyband). */
const HOLD_MEAN_STEPS = 16;

/** The median of values[0..count), sorting them in place (the monitor runs every step: no allocation). */
function medianInPlace(values: Float64Array, count: number): number {
  for (let i = 1; i < count; i++) {
    const v = values[i];
    let j = i - 1;
    for (; j >= 0 && values[j] > v; j--) values[j + 1] = values[j];
    values[j + 1] = v;
  }
  return count % 2 ? values[(count - 1) / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

function checkSettings(s: SteeringSettings, layers: number): void {
  if (!(Number.isFinite(s.alpha) && s.alpha >= 0)) throw new RangeError(`alpha must be a finite number >= 0, got: ${s.alpha}`);
  if (!Number.isInteger(s.every) || s.every < 1) throw new RangeError(`every must be an integer >= 1, got: ${s.every}`);
  if (!Number.isInteger(s.fromLayer) || s.fromLayer < 0 || s.fromLayer >= layers) throw new RangeError(`fromLayer must be an integer in [0, ${layers - 1}], got: ${s.fromLayer}`);
  if (!Number.isInteger(s.monitorFromLayer) || s.monitorFromLayer < 0 || s.monitorFromLayer >= layers) throw new RangeError(`monitorFromLayer must be an integer in [0, ${layers - 1}], got: ${s.monitorFromLayer}`);
  if (!(Math.abs(s.thresholdOffset) < 1)) throw new RangeError(`thresholdOffset must be in (-1, 1), got: ${s.thresholdOffset}`);
  if (!Number.isInteger(s.monitorHeads) || s.monitorHeads < 1) throw new RangeError(`monitorHeads must be an integer >= 1, got: ${s.monitorHeads}`);
  if (!Number.isInteger(s.warmup) || s.warmup < 0) throw new RangeError(`warmup must be an integer >= 0, got: ${s.warmup}`);
  if (!(Number.isFinite(s.hold) && s.hold >= 0)) throw new RangeError(`hold must be a finite number >= 0, got: ${s.hold}`);
  if (!(s.holdMargin >= 0 && s.holdMargin < 1)) throw new RangeError(`holdMargin must be in [0, 1), got: ${s.holdMargin}`);
  for (const [name, ls] of Object.entries(s.layers)) {
    if (ls.length === 0 || ls.some((l) => !Number.isInteger(l) || l < 0 || l >= layers)) throw new RangeError(`layers of ${name} must be integers in [0, ${layers - 1}], got: ${ls.join(', ')}`);
  }
  if (s.holdLayers.some((l) => !Number.isInteger(l) || l < 0 || l >= layers)) throw new RangeError(`holdLayers must be integers in [0, ${layers - 1}], got: ${s.holdLayers.join(', ')}`);
  for (const [name, a] of Object.entries(s.alphas)) if (!(Number.isFinite(a) && a >= 0)) throw new RangeError(`alpha of ${name} must be a finite number >= 0, got: ${a}`);
  for (const [name, a] of Object.entries(s.holdAlphas)) if (!(Number.isFinite(a) && a >= 0)) throw new RangeError(`hold alpha of ${name} must be a finite number >= 0, got: ${a}`);
  for (const [name, g] of Object.entries(s.removalGains)) if (!(Number.isFinite(g) && g > 0)) throw new RangeError(`removal gain of ${name} must be a finite number > 0, got: ${g}`);
  for (const [knob, c] of Object.entries(s.companions)) {
    for (const [sign, pushes] of Object.entries(c as Record<string, Readonly<Record<string, number>> | undefined>)) {
      if (sign !== 'up' && sign !== 'down') throw new RangeError(`companions of ${knob}: expected up or down, got: ${sign}`);
      for (const [name, k] of Object.entries(pushes ?? {})) {
        if (!(Math.abs(k) <= 1)) throw new RangeError(`companion ${name} of ${knob} (${sign}) must be in [-1, 1], got: ${k}`);
      }
    }
  }
  for (const [name, c] of Object.entries(s.removalStops)) if (!(c >= 0 && c < 1)) throw new RangeError(`removal stop of ${name} must be a reading in [0, 1), got: ${c}`);
  for (const [name, f] of Object.entries(s.gainFloors)) {
    for (const [sign, g] of Object.entries(f)) if (!(g >= 0 && g <= 1)) throw new RangeError(`gain floor of ${name} (${sign}) must be in [0, 1], got: ${g}`);
  }
  if (!(s.hysteresis >= 0 && s.hysteresis < 1)) throw new RangeError(`hysteresis must be in [0, 1), got: ${s.hysteresis}`);
  if (!(MONITOR_MODES as readonly string[]).includes(s.monitor)) throw new RangeError(`monitor must be one of ${MONITOR_MODES.join(', ')}, got: ${s.monitor}`);
  if (!(HALVES as readonly string[]).includes(s.halves)) throw new RangeError(`halves must be one of ${HALVES.join(', ')}, got: ${s.halves}`);
  if (!(DIRECTIONS as readonly string[]).includes(s.direction)) throw new RangeError(`direction must be one of ${DIRECTIONS.join(', ')}, got: ${s.direction}`);
  if (!(ORTHOGONALIZE as readonly string[]).includes(s.orthogonalize)) throw new RangeError(`orthogonalize must be one of ${ORTHOGONALIZE.join(', ')}, got: ${s.orthogonalize}`);
}
