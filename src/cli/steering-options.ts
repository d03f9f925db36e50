/** The SMITIN options that render (and later live) share: which probes, which features how hard, and how. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { knobNames, type ProbeSet } from '../smitin/probe-set.js';
import { defaultAlpha, DEFAULT_STEERING, DIRECTIONS, HALVES, MONITOR_MODES, type SteeringSettings } from '../smitin/steerer.js';
import { parseWeighting, type Weighting } from '../smitin/weighting.js';
import { UsageError } from '../util/errors.js';
import { quoted } from '../util/printable.js';
import { TINYBAND_FEATURES } from '../smitin/tinyband-features.js';
import type { CheckedModel } from './model-check.js';
import { numberIn, parseDecimal } from './options.js';
import { PROBES_DEFAULT_HELP } from '../smitin/probe-location.js';

export interface SteeringCliOptions {
  probes?: string;
  steer?: Record<string, number>;
  weighting: Weighting;
  alpha?: number;
  every: number;
  monitor: 'on' | 'off' | 'same' | 'clean';
  halves: SteeringSettings['halves'];
  fromLayer: number;
  shiftPrompt?: boolean;
  direction: SteeringSettings['direction'];
}

/** "drums=1,guitar=-0.5" -> { drums: 1, guitar: -0.5 }; strengths in [-1, 1]. */
export function parseSteer(raw: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z][\w-]*)=(.+)$/.exec(part);
    if (!m) throw new InvalidArgumentError(`expected FEATURE=STRENGTH pairs like drums=1,guitar=-0.5, got: "${part}"`);
    const v = parseDecimal(m[2]);
    if (!Number.isFinite(v) || v < -1 || v > 1) throw new InvalidArgumentError(`strength of ${m[1]} must be a number in [-1, 1], got: ${m[2]}`);
    out[m[1]] = v;
  }
  if (Object.keys(out).length === 0) throw new InvalidArgumentError(`expected FEATURE=STRENGTH pairs like drums=1,guitar=-0.5, got: "${raw}"`);
  return out;
}

function weighting(raw: string): Weighting {
  try {
    return parseWeighting(raw);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** --steer: what a musician asks for. */
export function addSteerOption(cmd: Command): Command {
  return cmd.option('--steer <list>', `features and strengths in [-1, 1], e.g. drums=1,guitar=-0.5 (negative pushes a feature out; tinyband: ${TINYBAND_FEATURES.join(', ')})`, parseSteer);
}

/** How SMITIN pushes: research options, after the musician's in --help (the model's steering.json sets the product's choices). */
export function addSteeringResearchOptions(cmd: Command): Command {
  return cmd
    .option('--probes <file>', `probe set (${PROBES_DEFAULT_HELP})`)
    .option('--weighting <w>', 'heads pushed: soft (SMITIN: every head, weight ((acc-min)/(max-min))^3) or topk:K (ITI: the K most accurate)', weighting, DEFAULT_STEERING.weighting)
    .option('--alpha <a>', 'push of strength 1, in sigmas (default: 30 for soft, 20 for topk)', numberIn('alpha', 0, 1000))
    .option('--every <s>', 'intervene on every s-th step (the paper: 5)', numberIn('every', 1, 1000, { integer: true }), DEFAULT_STEERING.every)
    .addOption(new Option('--monitor <mode>', 'self-monitoring: on (= same: read the step\'s own pre-shift head outputs), clean (an extra unshifted pass), off (plain ITI)').choices(['on', 'off', 'same', 'clean']).default('on'))
    .addOption(new Option('--halves <h>', 'CFG rows shifted: cond (the conditional half only; the default, more steering per push) or both').choices(HALVES).default(DEFAULT_STEERING.halves))
    .option('--from-layer <l>', 'leave out the heads of layers below l (layer 0 reads the token embeddings)', numberIn('from-layer', 0, 1000, { integer: true }), DEFAULT_STEERING.fromLayer)
    .option('--shift-prompt', 'also shift the prompt positions of a window\'s first run')
    .addOption(new Option('--direction <d>', 'push along the probe weight or the mass-mean shift').choices(DIRECTIONS).default(DEFAULT_STEERING.direction));
}

export interface Steering {
  probes: ProbeSet;
  probesFile: string;
  strengths: Record<string, number>;
  settings: SteeringSettings;
}

/**
 * The probe set and settings for --steer, or null when none was given.
 * `checked` is the model and probe set resolveModelAndProbes found (asked with
 * requireProbes when --steer is given): it has read the probes and checked
 * them against the decoder; this checks the steering arguments against them.
 */
export function resolveSteering(opts: SteeringCliOptions, checked: Pick<CheckedModel, 'probes' | 'probesFile' | 'steering'>): Steering | null {
  if (!opts.steer) return null;
  const { probes, probesFile } = checked;
  if (!probes || !probesFile) throw new UsageError(`--steer needs probes, and --probes ${opts.probes ?? '(default)'} gives none`);
  const knobs = knobNames(probes);
  for (const name of Object.keys(opts.steer)) {
    const f = probes.features.find((x) => x.name === name);
    if (!f || f.role !== undefined) {
      throw new UsageError(`--steer: ${f ? `${quoted(name)} in ${probesFile} is a ${f.role} probe, not a knob` : `no probes for ${quoted(name)} in ${probesFile}`} (its knobs: ${knobs.join(', ')})`);
    }
  }
  if (opts.fromLayer >= probes.model.layers) throw new UsageError(`--from-layer must be below the model's ${probes.model.layers} layers, got: ${opts.fromLayer}`);
  // the model's measured choices (steering.json) hold for its default push; an explicit --alpha or --weighting is a different push
  const own = opts.alpha === undefined && opts.weighting.kind === DEFAULT_STEERING.weighting.kind ? checked.steering : {};
  const settings: SteeringSettings = {
    ...DEFAULT_STEERING,
    ...own,
    weighting: opts.weighting,
    alpha: opts.alpha ?? own.alpha ?? defaultAlpha(opts.weighting),
    every: opts.every,
    monitor: opts.monitor === 'on' ? 'same' : opts.monitor,
    halves: opts.halves,
    fromLayer: opts.fromLayer,
    shiftPrompt: opts.shiftPrompt ?? false,
    direction: opts.direction,
  };
  if (settings.weighting.kind === 'topk' && settings.weighting.k > probes.model.layers * probes.model.heads) {
    throw new UsageError(`--weighting topk:${settings.weighting.k}: the model has only ${probes.model.layers * probes.model.heads} heads`);
  }
  return { probes, probesFile, strengths: opts.steer, settings };
}
