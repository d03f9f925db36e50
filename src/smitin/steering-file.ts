/**
 * A model folder's `steering.json`: how its probes are best pushed, chosen
 * by measurement (smitin eval's live setting) and shipped with the model so
 * that render, live and eval all play the same steering. It names the probe
 * file it was chosen for; with other probes it does not apply, unless they
 * hold every feature it names unchanged (a knob added by `probes train
 * --concept` beside the shipped ones keeps their steering).
 *
 *   { "probes": "probes.safetensors", "evidence": "...",
 *     "layers": { "drums": [1, 2], ... }, "alphas": { "drums": 40, ... },
 *     "hold": 1.5, "holdMargin": 0.1, "holdLayers": [0],
 *     "removalGains": { "piano": 1.33 },
 *     "companions": { "piano": { "up": { "guitar": 0.4 }, "down": { "guitar": -0.4 } } },
 *     "gainFloors": { "piano": { "down": 0.3 } },
 *     "orthogonalize": "head", "orthogonalTo": ["piano", "guitar"],
 *     "removalOrthogonalTo": { "drums": ["sounding"] }, "removalStops": { "guitar": 0.5 } }
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { ORTHOGONALIZE } from './orthogonalize.js';
import { HEAD_FIELDS, readProbeSet, VECTOR_FIELDS, type ProbeSet } from './probe-set.js';
import type { SteeringSettings } from './steerer.js';

export const STEERING_FILE = 'steering.json';

const name = z.string().regex(/^[A-Za-z][\w-]*$/, 'expected a feature name');
const floor = z.number().min(0, 'expected a gain floor >= 0').max(1, 'expected a gain floor <= 1');
const pushes = z.record(name, z.number().min(-1, 'expected a strength >= -1').max(1, 'expected a strength <= 1'));
const SteeringFileSchema = z.strictObject({
  $comment: z.string().optional(),
  /** The probe file (in the same folder) these choices were measured with. */
  probes: z.string().min(1, 'expected the probe file name'),
  /** The command and figures that chose these values. */
  evidence: z.string().min(1, 'expected the command and figures that chose these values'),
  alpha: z.number().min(0, 'expected alpha >= 0').max(1000, 'expected alpha <= 1000').optional(),
  layers: z.record(name, z.array(z.int().min(0, 'expected a layer >= 0')).min(1, 'expected at least one layer')).optional(),
  alphas: z.record(name, z.number().min(0, 'expected alpha >= 0').max(1000, 'expected alpha <= 1000')).optional(),
  hold: z.number().min(0, 'expected hold >= 0').max(100, 'expected hold <= 100').optional(),
  holdMargin: z.number().min(0, 'expected a margin >= 0').lt(1, 'expected a margin < 1').optional(),
  holdLayers: z.array(z.int().min(0, 'expected a layer >= 0')).optional(),
  holdAlphas: z.record(name, z.number().min(0, 'expected alpha >= 0').max(1000, 'expected alpha <= 1000')).optional(),
  removalGains: z.record(name, z.number().gt(0, 'expected a gain > 0').max(10, 'expected a gain <= 10')).optional(),
  companions: z.record(name, z.strictObject({ up: pushes.optional(), down: pushes.optional() })).optional(),
  gainFloors: z.record(name, z.strictObject({ up: floor.optional(), down: floor.optional() })).optional(),
  orthogonalize: z.enum(ORTHOGONALIZE, `expected one of ${ORTHOGONALIZE.join(', ')}`).optional(),
  /** Required with orthogonalize: the pushes were measured against these directions, and a knob added later must not change them. */
  orthogonalTo: z.array(name).min(1, 'expected at least one feature').optional(),
  /** Per feature, the probes (a monitor's too) its removal push is kept off, per head. */
  removalOrthogonalTo: z.record(name, z.array(name).min(1, 'expected at least one feature')).optional(),
  /** Per feature, the reading under which its own removal push stops. */
  removalStops: z.record(name, z.number().min(0, 'expected a reading >= 0').lt(1, 'expected a reading < 1')).optional(),
}).refine((s) => (s.orthogonalize ?? 'none') === 'none' || s.orthogonalTo !== undefined, {
  path: ['orthogonalTo'],
  message: 'expected the features the pushes are made orthogonal to, with orthogonalize',
});
export type SteeringFile = z.infer<typeof SteeringFileSchema>;

/**
 * The steering settings of the model folder `dir` for the probe file
 * `probesFile`: {} when the folder has no steering.json or it was chosen for
 * other probes. A file that does not parse, or names layers or features the
 * probes do not have, is a UsageError naming the file and the field.
 */
export function modelSteering(dir: string, probesFile: string, probes: ProbeSet): Partial<SteeringSettings> {
  const file = join(dir, STEERING_FILE);
  if (!existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = SteeringFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const s = parsed.data;
  const features = probes.features.map((f) => f.name);
  const companionNames = Object.entries(s.companions ?? {}).flatMap(([knob, c]) => [knob, ...Object.keys(c.up ?? {}), ...Object.keys(c.down ?? {})]);
  const named = [...new Set([...Object.keys(s.layers ?? {}), ...Object.keys(s.alphas ?? {}), ...Object.keys(s.removalGains ?? {}), ...Object.keys(s.holdAlphas ?? {}), ...Object.keys(s.gainFloors ?? {}), ...companionNames, ...(s.orthogonalTo ?? []), ...Object.entries(s.removalOrthogonalTo ?? {}).flat(2), ...Object.keys(s.removalStops ?? {})])];
  const own = resolve(dirname(file), s.probes);
  if (own !== resolve(probesFile)) {
    // another file: a user's set made from this one with a knob added (probes train --concept) keeps the choices, as
    // long as every feature they name is still the probe they were measured with; any other set gets none of them
    if (!existsSync(own) || !sameProbes(readProbeSet(own), probes, named)) return {};
  }
  for (const key of named) {
    if (!features.includes(key)) throw new UsageError(`${file}: no probes for ${key} in ${probesFile} (it has: ${features.join(', ')})`);
  }
  for (const [field, layers] of [...Object.entries(s.layers ?? {}).map(([f, ls]) => [`layers.${f}`, ls] as const), ['holdLayers', s.holdLayers ?? []] as const]) {
    const bad = layers.find((l) => l >= probes.model.layers);
    if (bad !== undefined) throw new UsageError(`${file}: ${field}: layer ${bad} is past the model's ${probes.model.layers} layers`);
  }
  const out: Partial<SteeringSettings> = {};
  if (s.alpha !== undefined) out.alpha = s.alpha;
  if (s.layers) out.layers = s.layers;
  if (s.alphas) out.alphas = s.alphas;
  if (s.hold !== undefined) out.hold = s.hold;
  if (s.holdMargin !== undefined) out.holdMargin = s.holdMargin;
  if (s.holdLayers) out.holdLayers = s.holdLayers;
  if (s.holdAlphas) out.holdAlphas = s.holdAlphas;
  if (s.removalGains) out.removalGains = s.removalGains;
  if (s.companions) out.companions = s.companions;
  if (s.gainFloors) out.gainFloors = s.gainFloors;
  if (s.orthogonalize) out.orthogonalize = s.orthogonalize;
  if (s.orthogonalTo) out.orthogonalTo = s.orthogonalTo;
  if (s.removalOrthogonalTo) out.removalOrthogonalTo = s.removalOrthogonalTo;
  if (s.removalStops) out.removalStops = s.removalStops;
  return out;
}

/** Whether `names` are in both probe sets with the same numbers in every field. */
function sameProbes(a: ProbeSet, b: ProbeSet, names: readonly string[]): boolean {
  return names.every((name) => {
    const fa = a.features.find((f) => f.name === name);
    const fb = b.features.find((f) => f.name === name);
    return !!fa && !!fb && [...HEAD_FIELDS, ...VECTOR_FIELDS].every((field) => fa[field].length === fb[field].length && fa[field].every((v, i) => Object.is(v, fb[field][i])));
  });
}
