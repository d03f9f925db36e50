/**
 * Presets (presets/*.json): a controller map plus the steering settings that
 * go with it — per feature: knob, range, curve, maximum alpha for the
 * engine; smoothing, pick-up, value echo, transport buttons, MIDI clock
 * following, and where telemetry goes over OSC. docs/control.md describes
 * the format; this schema is the authority.
 *
 * Channels in a preset are 1..16 as printed on controllers and in manuals;
 * the MIDI layer below speaks 0..15.
 *
 * A broken preset is a user's mistake: it is reported as one UsageError
 * listing every problem, each as `file: json.path: what was expected, got: value`.
 */
import { closeSync, constants as fsConstants, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { CONTROL_RANGES, KNOB_DEFAULT_RANGES, LOOP_BARS } from '../protocol.js';
import { packageRoot } from '../util/package-root.js';
import { UsageError } from '../util/errors.js';
import { quoted } from '../util/printable.js';

const NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const HOST_PORT = /^[A-Za-z0-9.\-_:[\]]+:\d{1,5}$/;

const ccNumber = z.int({ error: 'expected a MIDI CC number (an integer 0..127)' }).min(0, 'expected a MIDI CC number 0..127').max(127, 'expected a MIDI CC number 0..127');
const noteNumber = z.int({ error: 'expected a MIDI note number (an integer 0..127)' }).min(0, 'expected a MIDI note number 0..127').max(127, 'expected a MIDI note number 0..127');
const channel = z.int({ error: 'expected a MIDI channel (an integer 1..16)' }).min(1, 'expected a MIDI channel 1..16').max(16, 'expected a MIDI channel 1..16');
const featureName = z.string().regex(NAME, 'expected a feature name (lower case letters, digits, - or _, starting with a letter)');

export const CURVE_NAMES = ['linear', 'exponential', 'logarithmic'] as const;
const curve = z.union([z.enum(CURVE_NAMES), z.strictObject({ gamma: z.number().positive('expected a gamma > 0').max(10, 'expected a gamma <= 10') })], {
  error: 'expected "linear", "exponential", "logarithmic" or {"gamma": number}',
});
export type Curve = z.infer<typeof curve>;

/** A knob or fader: where it sends and how its travel maps onto the target's range. */
const controlFields = {
  /** CC number (the MSB for 14-bit controls). Without one the target is only reachable by OSC or learn. */
  cc: ccNumber.optional(),
  /** Channel 1..16; the preset's channel when left out. */
  channel: channel.optional(),
  /** A 14-bit control: MSB on `cc` (0..31), LSB on `cc` + 32. */
  cc14: z.boolean().default(false),
  curve: curve.default('linear'),
};

const feature = z.strictObject({
  ...controlFields,
  /** Strength at the knob's ends. min < 0 < max makes a bipolar knob with 0 at its centre. */
  min: z.number().min(-1, 'expected a strength >= -1').max(1, 'expected a strength <= 1').default(-1),
  max: z.number().min(-1, 'expected a strength >= -1').max(1, 'expected a strength <= 1').default(1),
  /** SMITIN alpha at strength 1 (the engine scales the push by strength * maxAlpha); left out: the engine's default for its weighting (soft: 30, top-K: 20). */
  maxAlpha: z.number().positive('expected a maximum alpha > 0').max(200, 'expected a maximum alpha <= 200').optional(),
  /** Strength when the preset loads. */
  initial: z.number().min(-1, 'expected a strength >= -1').max(1, 'expected a strength <= 1').default(0),
  /** Overrides the preset's smoothing for this feature. */
  smoothingMs: z.number().min(0, 'expected milliseconds >= 0').max(5000, 'expected milliseconds <= 5000').optional(),
});
export type FeaturePreset = z.infer<typeof feature>;

function setting(min: number, max: number, defaults: { min: number; max: number }) {
  const inRange = z.number().min(min, `expected a value >= ${min}`).max(max, `expected a value <= ${max}`);
  return z.strictObject({ ...controlFields, min: inRange.default(defaults.min), max: inRange.default(defaults.max), initial: inRange.optional() });
}
const { temperature, guidance, tempo } = CONTROL_RANGES;
const settings = z
  .strictObject({
    temperature: setting(temperature.min, temperature.max, KNOB_DEFAULT_RANGES.temperature).optional(),
    guidance: setting(guidance.min, guidance.max, KNOB_DEFAULT_RANGES.guidance).optional(),
    tempo: setting(tempo.min, tempo.max, KNOB_DEFAULT_RANGES.tempo).optional(),
  })
  .default({});
export type { SettingName } from '../protocol.js';
export type SettingPreset = z.infer<ReturnType<typeof setting>>;

export const TRANSPORT_ACTIONS = ['play', 'stop', 'toggle-play', 'record-toggle'] as const;
const action = z.union(
  [
    z.enum(TRANSPORT_ACTIONS),
    /** Toggles a feature between 0 and `value` (its max when left out). */
    z.strictObject({ toggle: featureName, value: z.number().min(-1).max(1).optional() }),
    /** Arms MIDI learn for a feature or setting: the next CC that moves is bound to it. */
    z.strictObject({ learn: z.string().regex(NAME, 'expected a feature or setting name') }),
    /** Loops the last N bars; pressed again (or a knob moved), the music goes on. */
    z.strictObject({ loop: z.literal(LOOP_BARS, { error: `expected a loop of ${LOOP_BARS.join(', ')} bars` }) }),
  ],
  { error: `expected one of ${TRANSPORT_ACTIONS.map((a) => `"${a}"`).join(', ')}, {"toggle": feature}, {"learn": target} or {"loop": ${LOOP_BARS.join('|')}}` },
);
export type TriggerAction = z.infer<typeof action>;

/** A button: a note, or a CC that fires when it goes to 64 or above (momentary buttons send 127 then 0). */
const trigger = z
  .strictObject({ note: noteNumber.optional(), cc: ccNumber.optional(), channel: channel.optional(), action })
  .refine((t) => (t.note === undefined) !== (t.cc === undefined), { error: 'expected exactly one of "note" or "cc"' });
export type TriggerPreset = z.infer<typeof trigger>;

export const PresetSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().min(1, 'expected a non-empty name'),
    description: z.string().optional(),
    /** Where the CC numbers come from (the controller's manual, a factory template, ...). */
    source: z.string().min(1, 'expected where the CC numbers come from'),
    /** Default MIDI channel of every control, 1..16. */
    channel: channel.default(1),
    /** One-pole time constant of strength changes, ms (0 = no smoothing). */
    smoothingMs: z.number().min(0, 'expected milliseconds >= 0').max(5000, 'expected milliseconds <= 5000').default(40),
    /** Soft takeover: after a preset load or a change from elsewhere, a knob does nothing until it crosses the current value. */
    pickup: z.boolean().default(true),
    /** Send values back to the controller (LED rings, motor faders) when they change from elsewhere. */
    echo: z.boolean().default(false),
    features: z.record(featureName, feature),
    settings,
    triggers: z.array(trigger).default([]),
    clock: z.strictObject({ followTempo: z.boolean().default(true), followTransport: z.boolean().default(true) }).default({ followTempo: true, followTransport: true }),
    osc: z
      .strictObject({
        telemetryTargets: z.array(z.string().regex(HOST_PORT, 'expected "host:port"')).default([]),
        telemetryHz: z.number().min(1, 'expected a rate >= 1 Hz').max(60, 'expected a rate <= 60 Hz').default(10),
      })
      .default({ telemetryTargets: [], telemetryHz: 10 }),
  })
  .superRefine((p, ctx) => {
    const seen = new Map<string, string>();
    const claim = (ch: number | undefined, cc: number, path: (string | number)[]) => {
      const key = `${ch ?? p.channel}/${cc}`;
      const where = path.join('.');
      const other = seen.get(key);
      if (other) ctx.addIssue({ code: 'custom', path, message: `CC ${cc} on channel ${ch ?? p.channel} is already used by ${other}`, input: cc });
      else seen.set(key, where);
    };
    const controls: [string[], { cc?: number; channel?: number; cc14: boolean; min: number; max: number }][] = [
      ...Object.entries(p.features).map(([n, f]): [string[], typeof f] => [['features', n], f]),
      ...Object.entries(p.settings).flatMap(([n, s]): [string[], NonNullable<typeof s>][] => (s ? [[['settings', n], s]] : [])),
    ];
    for (const [path, c] of controls) {
      if (c.min === c.max) ctx.addIssue({ code: 'custom', path: [...path, 'max'], message: 'expected max to differ from min', input: c.max });
      if (c.cc === undefined) continue;
      if (c.cc14 && c.cc > 31) ctx.addIssue({ code: 'custom', path: [...path, 'cc'], message: 'expected a 14-bit MSB CC number 0..31 (its LSB is cc + 32)', input: c.cc });
      claim(c.channel, c.cc, [...path, 'cc']);
      if (c.cc14) claim(c.channel, c.cc + 32, [...path, 'cc14']);
    }
    p.triggers.forEach((t, i) => {
      if (t.cc !== undefined) claim(t.channel, t.cc, ['triggers', i, 'cc']);
      if (typeof t.action === 'object' && 'toggle' in t.action && !(t.action.toggle in p.features))
        ctx.addIssue({ code: 'custom', path: ['triggers', i, 'action', 'toggle'], message: `expected a feature of this preset (${Object.keys(p.features).join(', ')})`, input: t.action.toggle });
    });
  });

export type Preset = z.infer<typeof PresetSchema>;

export class PresetError extends UsageError {
  override name = 'PresetError';
}

/** Validates parsed JSON; `file` names the source in every message. */
export function parsePreset(data: unknown, file: string): Preset {
  const r = PresetSchema.safeParse(data, { reportInput: true });
  if (r.success) return r.data;
  throw new PresetError(`${file}: invalid preset\n${r.error.issues.map((i) => `  ${file}: ${describeIssue(i)}`).join('\n')}`);
}

/** A preset file larger than this is refused: the shipped ones are 2-3 KB, and a wrong path (/dev/zero) must not fill memory. */
export const MAX_PRESET_BYTES = 256 * 1024;
/** A preset named over the network: a bare name, never a path (no '/', '\\', '..' or extension). */
export const PRESET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function unreadable(file: string, err: unknown): PresetError {
  return new PresetError(`${file}: cannot read the preset (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
}

function checkStat(file: string, stat: { isFile(): boolean; size: number }): void {
  if (!stat.isFile()) throw new PresetError(`${file}: not a regular file; expected a preset .json file`);
  if (stat.size > MAX_PRESET_BYTES) throw new PresetError(`${file}: ${stat.size} bytes; a preset is at most ${MAX_PRESET_BYTES} bytes`);
}

function parseText(file: string, text: string): Preset {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new PresetError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return parsePreset(data, file);
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; the fstat that follows refuses it anyway
const OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK;

/**
 * Reads and validates a preset file, synchronously: for the command line,
 * before audio starts. Only a regular file of at most MAX_PRESET_BYTES.
 */
export function readPreset(file: string): Preset {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw unreadable(file, err);
  }
  try {
    checkStat(file, fstatSync(fd));
    const buf = Buffer.alloc(MAX_PRESET_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_PRESET_BYTES) throw new PresetError(`${file}: more than ${MAX_PRESET_BYTES} bytes; a preset is at most ${MAX_PRESET_BYTES} bytes`);
    return parseText(file, buf.subarray(0, n).toString('utf8'));
  } catch (err) {
    throw err instanceof PresetError ? err : unreadable(file, err);
  } finally {
    closeSync(fd);
  }
}

/**
 * The same checks as readPreset, off the main thread's critical path: the
 * reads run in libuv's pool, so a slow disk cannot stall the audio pull.
 */
export async function readPresetAsync(file: string): Promise<Preset> {
  let handle: FileHandle;
  try {
    handle = await open(file, OPEN_FLAGS);
  } catch (err) {
    throw unreadable(file, err);
  }
  try {
    checkStat(file, await handle.stat());
    const buf = Buffer.alloc(MAX_PRESET_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = (await handle.read(buf, n, buf.length - n, null)).bytesRead;
    if (n > MAX_PRESET_BYTES) throw new PresetError(`${file}: more than ${MAX_PRESET_BYTES} bytes; a preset is at most ${MAX_PRESET_BYTES} bytes`);
    return parseText(file, buf.subarray(0, n).toString('utf8'));
  } catch (err) {
    throw err instanceof PresetError ? err : unreadable(file, err);
  } finally {
    await handle.close();
  }
}

export function presetsDir(): string {
  return join(packageRoot(), 'presets');
}

/** Names of the presets in `dirs` (file names without .json), each once, sorted. */
export function listPresets(dirs: string | readonly string[] = presetsDir()): string[] {
  const names = new Set<string>();
  for (const dir of typeof dirs === 'string' ? [dirs] : dirs) {
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    for (const f of files) if (f.endsWith('.json') && PRESET_NAME.test(basename(f, '.json'))) names.add(basename(f, '.json'));
  }
  return [...names].sort();
}

/**
 * The file of preset `name` in the first of `dirs` that has it (the user's
 * folder first, so a user preset can shadow a shipped one). `name` must be a
 * bare name: this is the only way the network reaches a preset, and it can
 * name nothing outside these folders.
 */
export function findPreset(name: string, dirs: string | readonly string[] = presetsDir()): string {
  const list = typeof dirs === 'string' ? [dirs] : dirs;
  if (!PRESET_NAME.test(name)) throw new PresetError(`preset ${quoted(name)}: expected a preset name (letters, digits, - or _), not a path; presets: ${listPresets(list).join(', ') || 'none'}`);
  for (const dir of list) {
    const file = join(dir, `${name}.json`);
    if (existsSync(file)) return file;
  }
  throw new PresetError(`preset ${quoted(name)} not found in ${list.join(', ')}; presets: ${listPresets(list).join(', ') || 'none'}`);
}

/** A preset by name ("generic-8-knob") or, on the command line only, by path ("./my.json"). */
export function resolvePreset(nameOrPath: string, dirs: string | readonly string[] = presetsDir()): string {
  const looksLikePath = nameOrPath.includes('/') || nameOrPath.includes('\\') || nameOrPath.endsWith('.json');
  if (!looksLikePath) return findPreset(nameOrPath, dirs);
  const file = resolve(nameOrPath);
  if (!existsSync(file)) throw new PresetError(`preset file ${file} does not exist; presets by name: ${listPresets(dirs).join(', ') || 'none'}`);
  return file;
}

/** Command line: a preset by name or path, read and validated at once. */
export function loadPreset(nameOrPath: string, dirs: string | readonly string[] = presetsDir()): Preset {
  return readPreset(resolvePreset(nameOrPath, dirs));
}

/**
 * A preset's features must be the model's: a knob for "cowbell" on a model
 * without one is a mistake to report, not a knob to ignore. A model without
 * probes has no features, and then a preset's knobs are simply idle.
 */
export function checkPresetFeatures(preset: Preset, features: readonly string[], where: string): void {
  if (features.length === 0) return;
  const unknown = Object.keys(preset.features).filter((f) => !features.includes(f));
  if (unknown.length > 0) {
    throw new PresetError(`${where}: features.${unknown[0]} is not a feature of this model's probes; expected one of ${features.join(', ')}`);
  }
}

/**
 * The loader behind /smitin/preset and preset buttons: names only, resolved
 * in `dirs`, read asynchronously with the size and file-type checks, and
 * checked against the model's features. A refusal is a rejected promise
 * (the mapping reports it and keeps the current preset).
 */
export function presetLoader(options: { dirs: readonly string[]; features: readonly string[] }): (name: string) => Promise<Preset> {
  return async (name) => {
    const file = findPreset(name, options.dirs);
    const preset = await readPresetAsync(file);
    checkPresetFeatures(preset, options.features, file);
    return preset;
  };
}

/** The live preset as JSON (for saving learned bindings). */
export function presetToJson(preset: Preset): string {
  return `${JSON.stringify(preset, null, 2)}\n`;
}

function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(top level)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = jsonPath(issue.path);
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'unrecognized_keys') return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  if (issue.code === 'invalid_type' && input === undefined) return `${where}: missing, expected ${issue.expected}`;
  // zod says "Invalid input: expected number, received string"; the value itself says more
  const message = issue.message.replace(/^Invalid input: /, '').replace(/, received \w+$/, '');
  return `${where}: ${message}${input === undefined ? '' : `, got: ${JSON.stringify(input)}`}`;
}

/** Which control moves what, in one line a musician reads at start: "CC 70 drums, CC 71 bass, ...; note 36 play". */
export function describeBindings(preset: Preset): string {
  const where = (c: { cc?: number; note?: number; channel?: number }) => {
    const ch = (c.channel ?? preset.channel) !== preset.channel ? ` ch ${c.channel}` : '';
    return c.cc !== undefined ? `CC ${c.cc}${ch}` : c.note !== undefined ? `note ${c.note}${ch}` : null;
  };
  const knobs = [...Object.entries(preset.features), ...Object.entries(preset.settings)].flatMap(([name, c]) => {
    const w = c ? where(c) : null;
    return w ? [`${w} ${name}`] : [];
  });
  const buttons = preset.triggers.flatMap((t) => {
    const a = t.action;
    const what = typeof a === 'string' ? a : 'toggle' in a ? `toggle ${a.toggle}` : 'loop' in a ? `loop ${a.loop} bars` : `learn ${a.learn}`;
    const w = where(t);
    return w ? [`${w} ${what}`] : [];
  });
  const parts = [knobs.length ? knobs.join(', ') : 'no knobs mapped (send /smitin/learn NAME, then move one)', ...(buttons.length ? [buttons.join(', ')] : [])];
  return `${parts.join('; ')} (channel ${preset.channel})`;
}
