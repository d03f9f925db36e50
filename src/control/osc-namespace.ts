/**
 * The OSC namespace (docs/architecture.md, The protocol), as one table of data: each input address
 * with its arguments, range and meaning, and the handler that turns a
 * message into a control event. docs/control.md is rendered from the same
 * table (renderOscTable), and a test checks the two agree.
 *
 * Every bad message is counted in the IssueLog (first of each kind reported)
 * and dropped; out-of-range numbers are clamped and reported, since a fader
 * that overshoots should still do the nearest right thing.
 */
import { filter, map, type OperatorFunction } from 'rxjs';
import { CONTROL_RANGES, isLoopCommand, LOOP_BARS, MAX_PROMPT_LENGTH, SETTING_TARGETS, type EngineCommand } from '../protocol.js';
import { IssueLog } from './issues.js';
import type { OscArg, OscMessage } from './osc-intake.js';
import { PRESET_NAME } from './presets.js';
import { printable, quoted } from '../util/printable.js';

/** What the OSC namespace produces: engine commands, plus MIDI-learn requests that stay in the control layer. */
export type ControlEvent = EngineCommand | { type: 'learn'; target: string | null };

const { strength: STRENGTH_RANGE, temperature: TEMPERATURE_RANGE, guidance: GUIDANCE_RANGE, tempo: TEMPO_RANGE } = CONTROL_RANGES;

export interface OscAddressSpec {
  address: string;
  /** OSC type tags of the arguments ('' for none). */
  args: string;
  range: string;
  meaning: string;
}

/** An input's kind for the coalescer (coalesce.ts): a continuous control keeps only its latest value; a discrete command keeps its order. */
export type InputKind = 'continuous' | 'discrete';

interface InputSpec extends OscAddressSpec {
  kind: InputKind;
  /** Turns the message into an event, or reports why not and returns null. */
  handle(ctx: HandlerContext, m: OscMessage, name: string): ControlEvent | null;
}

interface HandlerContext {
  features: ReadonlySet<string>;
  issues: IssueLog;
}

export const FEATURE_PREFIX = '/smitin/feature/';

const INPUTS: readonly InputSpec[] = [
  {
    address: `${FEATURE_PREFIX}<name>`,
    kind: 'continuous',
    args: 'f',
    range: '-1..1 (clamped)',
    meaning: 'Strength of feature <name> (drums, bass, piano, guitar, minor, dense on tinyband): 1 pushes it in, -1 pushes it out, 0 leaves the music alone.',
    handle: (ctx, m, name) => {
      if (!ctx.features.has(name)) {
        ctx.issues.report('osc', 'unknown-feature', `OSC ${printable(m.address)}: the model has no feature ${quoted(name)}; expected one of ${[...ctx.features].join(', ')}`);
        return null;
      }
      const value = numberArg(ctx, m, STRENGTH_RANGE);
      return value === null ? null : { type: 'strength', feature: name, value };
    },
  },
  {
    address: '/smitin/prompt',
    kind: 'discrete',
    args: 's',
    range: `1..${MAX_PROMPT_LENGTH} characters`,
    meaning: 'Text prompt; the music follows it from the next bar.',
    handle: (ctx, m) => {
      const text = stringArg(ctx, m);
      if (text === null) return null;
      if (text.trim() === '' || text.length > MAX_PROMPT_LENGTH) {
        ctx.issues.report('osc', 'bad-value', `OSC ${printable(m.address)}: expected a prompt of 1..${MAX_PROMPT_LENGTH} characters, got ${text.length}`);
        return null;
      }
      return { type: 'prompt', text: text.trim() };
    },
  },
  {
    address: '/smitin/play',
    kind: 'discrete',
    args: '[f|i|T]',
    range: 'none, or 1 (a button press; 0 = release, ignored)',
    meaning: 'Start playing.',
    handle: (ctx, m) => (pressed(ctx, m) ? { type: 'play' } : null),
  },
  {
    address: '/smitin/stop',
    kind: 'discrete',
    args: '[f|i|T]',
    range: 'none, or 1 (a button press; 0 = release, ignored)',
    meaning: 'Stop playing.',
    handle: (ctx, m) => (pressed(ctx, m) ? { type: 'stop' } : null),
  },
  {
    address: '/smitin/tempo',
    kind: 'continuous',
    args: 'f',
    range: `${TEMPO_RANGE.min}..${TEMPO_RANGE.max} BPM (clamped)`,
    meaning: 'Tempo in BPM; a running MIDI clock (when the preset follows it) sets it too, the latest wins.',
    handle: (ctx, m) => {
      const bpm = numberArg(ctx, m, TEMPO_RANGE);
      return bpm === null ? null : { type: 'tempo', bpm };
    },
  },
  {
    address: '/smitin/temperature',
    kind: 'continuous',
    args: 'f',
    range: `${TEMPERATURE_RANGE.min}..${TEMPERATURE_RANGE.max} (clamped)`,
    meaning: 'Sampling temperature: lower is safer, higher is wilder.',
    handle: (ctx, m) => {
      const value = numberArg(ctx, m, TEMPERATURE_RANGE);
      return value === null ? null : { type: 'temperature', value };
    },
  },
  {
    address: '/smitin/guidance',
    kind: 'continuous',
    args: 'f',
    range: `${GUIDANCE_RANGE.min}..${GUIDANCE_RANGE.max} (clamped)`,
    meaning: 'Classifier-free guidance scale: how closely the music follows the prompt.',
    handle: (ctx, m) => {
      const value = numberArg(ctx, m, GUIDANCE_RANGE);
      return value === null ? null : { type: 'guidance', value };
    },
  },
  {
    address: '/smitin/learn',
    kind: 'discrete',
    args: 's',
    range: 'a feature, temperature, guidance or tempo; "" or "off" cancels',
    meaning: 'MIDI learn: the next CC that moves is bound to this target in the live preset.',
    handle: (ctx, m) => {
      const target = stringArg(ctx, m);
      if (target === null) return null;
      const t = target.trim();
      if (t === '' || t === 'off') return { type: 'learn', target: null };
      if (!ctx.features.has(t) && !(SETTING_TARGETS as readonly string[]).includes(t)) {
        ctx.issues.report('osc', 'unknown-feature', `OSC ${printable(m.address)}: cannot learn ${quoted(t)}; expected one of ${[...ctx.features, ...SETTING_TARGETS].join(', ')}`);
        return null;
      }
      return { type: 'learn', target: t };
    },
  },
  {
    address: '/smitin/preset',
    kind: 'discrete',
    args: 's',
    range: 'a preset name (presets/ or --presets DIR); never a path',
    meaning: 'Load a preset (controller map and steering settings); knobs pick up from the new values. Read in the background; a refused one is reported and the current preset stays.',
    handle: (ctx, m) => {
      const name = stringArg(ctx, m);
      if (name === null) return null;
      if (!PRESET_NAME.test(name.trim())) {
        ctx.issues.report('osc', 'bad-value', `OSC ${printable(m.address)}: expected a preset name (letters, digits, - or _; never a path), got ${quoted(name)}`);
        return null;
      }
      return { type: 'preset', name: name.trim() };
    },
  },
  {
    address: '/smitin/record',
    kind: 'discrete',
    args: 'i',
    range: '1 starts, 0 stops (f and T/F accepted)',
    meaning: 'Start or stop the WAV recording.',
    handle: (ctx, m) => {
      const on = flagArg(ctx, m);
      return on === null ? null : { type: 'record', on };
    },
  },
  {
    address: '/smitin/loop',
    kind: 'discrete',
    args: 'i',
    range: `bars: ${LOOP_BARS.join(', ')}; 0 releases`,
    meaning: 'Freeze the last N bars and repeat them exactly, from the next bar line, until released (0) or a knob, temperature, guidance or the prompt moves; the music then goes on from the loop.',
    handle: (ctx, m) => {
      const v = m.args[0];
      if (m.args.length !== 1 || typeof v !== 'number' || !isLoopCommand(v)) {
        ctx.issues.report('osc', 'bad-value', `OSC ${printable(m.address)}: expected one of ${LOOP_BARS.join(', ')} (bars) or 0 (release), got ${describe(m.args, m.types)}`);
        return null;
      }
      return { type: 'loop', bars: v };
    },
  },
  {
    address: '/smitin/state',
    kind: 'discrete',
    args: '',
    range: 'none',
    meaning: 'Ask for the whole state, sent at once as one bundle: the state messages below (features, known words, preset names, ranges, learning) and the latest telemetry. Over the WebSocket the asking client gets it (a page is sent it when it connects); over UDP the telemetry targets do, never the sender\'s address.',
    // answered by the transport that carried it (it knows whom to answer), not by the engine
    handle: () => null,
  },
];

/** What the engine sends out (see telemetry-out.ts), listed here so the documentation has one table. */
export const OSC_OUTPUTS: readonly OscAddressSpec[] = [
  { address: '/smitin/monitor/<name>', args: 'f', range: '0..1', meaning: "SMITIN's monitor: how present the model itself finds feature <name>." },
  { address: '/smitin/gain/<name>', args: 'f', range: '0..1', meaning: 'The gain the monitor applies to the push (0 = the feature is there, push stopped).' },
  { address: '/smitin/strength/<name>', args: 'f', range: '-1..1', meaning: 'The strength the engine used at its last step.' },
  {
    address: '/smitin/status',
    args: 'fffiff',
    range: 'see meaning',
    meaning: 'realtime factor, ring ms, step ms, underruns, control latency ms (-1 until measured), device latency ms.',
  },
  {
    address: '/smitin/deficit',
    args: 'fffs',
    range: 'multiple of real time, gap ms, ring ms, slow or ring',
    meaning:
      "Sent only when `smitin live --force` plays although the check at start found this machine cannot keep up (expect dropouts): the multiple of real time it measured, the ms between audio writes, the ring's ms, and which falls short (slow: under x1; ring: the gap is longer than the ring).",
  },
  { address: '/smitin/take', args: 'isf', range: 'recording 0/1, file name, seconds', meaning: "The take being recorded: its file's name in the takes folder and its length (0, '' and 0 when none)." },
  { address: '/smitin/issues/<source>/<kind>', args: 'i', range: 'a count', meaning: 'Problems so far by kind (e.g. osc/malformed, osc/flood, osc/out-of-range, record/take-failed): what was dropped or clamped, and why.' },
  { address: '/smitin/transport', args: 'iff', range: 'playing 0/1, BPM, seconds', meaning: 'Playing, tempo and engine time.' },
  { address: '/smitin/level', args: 'f', range: 'dBFS, -120 for silence', meaning: 'Peak level of the output since the last report.' },
  { address: '/smitin/sampling', args: 'ff', range: 'temperature, guidance', meaning: 'The sampling temperature and guidance scale the engine plays with.' },
  { address: '/smitin/preset-name', args: 's', range: 'a name', meaning: 'The controller preset in force (its display name; /smitin/preset loads one by file name).' },
  { address: '/smitin/unknown-words', args: 's', range: 'words, space-separated; empty when none', meaning: "The prompt's words the model does not know (read as unknown)." },
  { address: '/smitin/prompt-text', args: 's', range: 'the prompt', meaning: 'The prompt the engine plays now.' },
  {
    address: '/smitin/effect/<name>',
    args: 'ssf',
    range: "in|out, waiting|heard|none, beats",
    meaning: "What the last move of instrument <name>'s knob did, as heard (tinyband): in or out, heard after so many beats (waiting: beats so far; none: not within 4 bars).",
  },
  { address: '/smitin/position', args: 'iif', range: 'bar, beat (from 1), beats', meaning: 'Where the music is as heard (handed to the device; its own latency comes on top): bar and beat in 4/4, and beats since the start.' },
  { address: '/smitin/features', args: 's*', range: 'feature names', meaning: 'State: the steerable features, in order (no arguments: no steering).' },
  { address: '/smitin/known-words', args: 's', range: 'words, space-separated', meaning: "State: the prompt words the model knows (empty when its tokenizer takes any word)." },
  { address: '/smitin/preset-names', args: 's*', range: 'preset names', meaning: 'State: the presets /smitin/preset can load.' },
  { address: '/smitin/range/<control>', args: 'ff', range: 'min, max', meaning: 'State: the range of strength, temperature, guidance and tempo.' },
  { address: '/smitin/learning', args: 's', range: 'a target, empty when none', meaning: 'State: the MIDI-learn target armed now.' },
  { address: '/smitin/loop-bars', args: 'i', range: 'bars', meaning: "State: the loop button's length (--loop-bars)." },
  { address: '/smitin/looping', args: 'i', range: 'bars, 0 when none', meaning: 'The bars being looped now (0: the model generates).' },
];

export const OSC_INPUTS: readonly (OscAddressSpec & { kind: InputKind })[] = INPUTS.map(({ address, kind, args, range, meaning }) => ({ address, kind, args, range, meaning }));

export interface OscNamespaceOptions {
  /** The model's feature names: strengths for any other name are reported, not forwarded. */
  features: readonly string[];
  issues?: IssueLog;
}

export class OscNamespace {
  private readonly ctx: HandlerContext;
  private readonly exact = new Map<string, InputSpec>();
  private readonly featureSpec: InputSpec;

  constructor(options: OscNamespaceOptions) {
    this.ctx = { features: new Set(options.features), issues: options.issues ?? new IssueLog() };
    for (const spec of INPUTS) if (!spec.address.includes('<')) this.exact.set(spec.address, spec);
    this.featureSpec = INPUTS[0];
  }

  get issues(): IssueLog {
    return this.ctx.issues;
  }

  /** The event a message means, or null when it means nothing (reported). Never throws. */
  toEvent(m: OscMessage): ControlEvent | null {
    try {
      if (m.address.startsWith(FEATURE_PREFIX)) return this.featureSpec.handle(this.ctx, m, m.address.slice(FEATURE_PREFIX.length));
      const spec = this.exact.get(m.address);
      if (spec) return spec.handle(this.ctx, m, '');
      this.ctx.issues.report('osc', 'unknown-address', `OSC: unknown address ${quoted(m.address)} from ${printable(m.from)}; expected one of ${OSC_INPUTS.map((s) => s.address).join(', ')}`);
      return null;
    } catch (err) {
      this.ctx.issues.report('osc', 'internal', `OSC ${printable(m.address)}: could not be handled: ${(err as Error).message}`);
      return null;
    }
  }
}

/** Operator: OSC messages in, control events out; bad messages are reported and dropped. */
export function oscToControl(namespace: OscNamespace): OperatorFunction<OscMessage, ControlEvent> {
  return (source) =>
    source.pipe(
      map((m) => namespace.toEvent(m)),
      filter((e): e is ControlEvent => e !== null),
    );
}

/** The documentation table (markdown), inputs then outputs. */
export function renderOscTable(): string {
  const row = (dir: string, s: OscAddressSpec) => `| ${dir} | \`${s.address}\` | \`${s.args || '-'}\` | ${s.range} | ${s.meaning} |`;
  return [
    '| Direction | Address | Args | Range | Meaning |',
    '|---|---|---|---|---|',
    ...OSC_INPUTS.map((s) => row('in', s)),
    ...OSC_OUTPUTS.map((s) => row('out', s)),
  ].join('\n');
}

function describe(args: readonly OscArg[], types: string): string {
  if (args.length === 0) return 'no arguments';
  return `(${types}) ${args.map((a) => (a instanceof Uint8Array ? `<blob ${a.length} bytes>` : typeof a === 'string' ? quoted(a, 40) : String(a))).join(' ')}`;
}

function numberArg(ctx: HandlerContext, m: OscMessage, range: { min: number; max: number }): number | null {
  const v = m.args[0];
  if (typeof v !== 'number' || m.args.length !== 1) {
    ctx.issues.report('osc', 'wrong-type', `OSC ${printable(m.address)}: expected one number (f or i), got ${describe(m.args, m.types)}`);
    return null;
  }
  if (!Number.isFinite(v)) {
    ctx.issues.report('osc', 'non-finite', `OSC ${printable(m.address)}: expected a finite number in ${range.min}..${range.max}, got ${v}`);
    return null;
  }
  if (v < range.min || v > range.max) {
    ctx.issues.report('osc', 'out-of-range', `OSC ${printable(m.address)}: ${v} is outside ${range.min}..${range.max}; clamped`);
    return Math.min(range.max, Math.max(range.min, v));
  }
  return v;
}

function stringArg(ctx: HandlerContext, m: OscMessage): string | null {
  const v = m.args[0];
  if (typeof v !== 'string' || m.args.length !== 1) {
    ctx.issues.report('osc', 'wrong-type', `OSC ${printable(m.address)}: expected one string (s), got ${describe(m.args, m.types)}`);
    return null;
  }
  return v;
}

/** On/off from i, f (>= 0.5 is on) or T/F. */
function flagArg(ctx: HandlerContext, m: OscMessage): boolean | null {
  const v = m.args[0];
  if (m.args.length === 1 && typeof v === 'boolean') return v;
  if (m.args.length === 1 && typeof v === 'number' && Number.isFinite(v)) return v >= 0.5;
  ctx.issues.report('osc', 'wrong-type', `OSC ${printable(m.address)}: expected one of 1/0 (i or f) or T/F, got ${describe(m.args, m.types)}`);
  return null;
}

/** A trigger address: no argument is a press; a button's 1/0 (press/release) fires on the press only. */
function pressed(ctx: HandlerContext, m: OscMessage): boolean {
  if (m.args.length === 0) return true;
  const on = flagArg(ctx, m);
  return on === true;
}
