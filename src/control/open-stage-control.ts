/**
 * An Open Stage Control session (https://openstagecontrol.ammd.net/, the free
 * OSC control surface) for smitin-live, made from the OSC namespace table and
 * the protocol's ranges, so the tablet's faders cannot drift from what the
 * engine accepts. bridge/open-stage-control/smitin.json is this, rendered for
 * tinyband's features; test/control/open-stage-control.test.ts checks the
 * committed file is current and regenerates it with UPDATE_BRIDGE=1.
 *
 * The file is upstream's v1 session format: { createdWith, version, type:
 * 'session', content: the root widget }, each widget a flat object of
 * upstream's property names, children in `widgets`. Only the properties that
 * differ from upstream's defaults are written: Open Stage Control fills in
 * the rest when it loads the session (and a file written this way stays
 * readable here). Every widget that sends goes to the server's `--send`
 * target (no per-widget target); every widget that only shows telemetry is
 * `bypass`, so it never sends.
 */
import { checkControl, CONTROL_RANGES, MAX_PROMPT_LENGTH, type Range } from '../protocol.js';
import { FEATURE_PREFIX, OSC_INPUTS, OSC_OUTPUTS, type OscAddressSpec } from './osc-namespace.js';

/**
 * The Open Stage Control version the file says it was made with. Upstream
 * runs its session converters on files of a version up to 1.24.2 and leaves
 * newer ones as they are; this is a released version past the last
 * converter, and the session's properties all exist since 1.19 (input
 * maxLength).
 */
export const OSC_SESSION_VERSION = '1.29.8';

/** One widget: upstream's property names, with its children (containers) in `widgets`. */
export interface OscWidget {
  type: string;
  id: string;
  widgets?: OscWidget[];
  [prop: string]: unknown;
}

export interface OscSession {
  createdWith: 'Open Stage Control';
  version: string;
  type: 'session';
  content: OscWidget;
}

/** Where the faders of the settings sit before the first touch: what smitin-live starts with. */
export interface SessionStart {
  tempo: number;
  temperature: number;
  guidance: number;
}

/** A strength of 0 leaves the music alone (protocol.ts): the feature faders rest and reset there. */
const NEUTRAL_STRENGTH = 0;

/** The input spec of `address`; a session must not send what the namespace does not take. */
function input(address: string): OscAddressSpec {
  const spec = OSC_INPUTS.find((s) => s.address === address);
  if (!spec) throw new Error(`${address} is not an input of the OSC namespace (src/control/osc-namespace.ts)`);
  return spec;
}

/** The output spec of `template` (e.g. '/smitin/monitor/<name>'); the session listens only to what smitin-live sends. */
function output(template: string): OscAddressSpec {
  const spec = OSC_OUTPUTS.find((s) => s.address === template);
  if (!spec) throw new Error(`${template} is not an output of the OSC namespace (src/control/osc-namespace.ts)`);
  return spec;
}

/** An output's range as the table writes it ('0..1'): telemetry has no entry in CONTROL_RANGES. */
export function tableRange(spec: OscAddressSpec): Range {
  const m = /^(-?\d+(?:\.\d+)?)\.\.(-?\d+(?:\.\d+)?)$/.exec(spec.range);
  if (!m) throw new Error(`${spec.address}: range ${JSON.stringify(spec.range)} is not min..max`);
  return { min: Number(m[1]), max: Number(m[2]) };
}

/** The `html` property is inserted unsanitised (upstream 1.30): a feature name must not become markup. */
function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A fader that sends one float; its label is upstream's own way of labelling a fader (the `html` above the gauge). */
function fader(id: string, label: string, spec: OscAddressSpec, address: string, range: Range, props: Record<string, unknown> = {}): OscWidget {
  return { type: 'fader', id, html: escapeHtml(label), address, typeTags: spec.args, range: { min: range.min, max: range.max }, ...props };
}

/** A read-only gauge for a telemetry value: no touch, and `bypass` so a value it shows is never sent back. */
function meter(id: string, label: string, spec: OscAddressSpec, address: string): OscWidget {
  const range = tableRange(spec);
  return {
    type: 'fader',
    id,
    html: escapeHtml(label),
    address,
    range: { min: range.min, max: range.max },
    design: 'compact',
    interaction: false,
    bypass: true,
    width: 40,
  };
}

/**
 * A button for a trigger address. `momentary` sends the address with no
 * argument, which the namespace reads as a press: nothing is sent on
 * release, so a release cannot be mistaken for anything.
 */
function trigger(id: string, label: string, spec: OscAddressSpec): OscWidget {
  if (!spec.args.startsWith('[') && spec.args !== '') throw new Error(`${spec.address}: a trigger button sends no argument, but the namespace wants ${spec.args}`);
  return { type: 'button', id, label, address: spec.address, mode: 'momentary', expand: true };
}

function row(id: string, widgets: OscWidget[], props: Record<string, unknown> = {}): OscWidget {
  return { type: 'panel', id, layout: 'horizontal', scroll: false, ...props, widgets };
}

function featureStrip(name: string): OscWidget {
  const strength = input(`${FEATURE_PREFIX}<name>`);
  const monitor = output('/smitin/monitor/<name>');
  const gain = output('/smitin/gain/<name>');
  const at = (template: string) => template.replace('<name>', name);
  return row(`strip_${name}`, [
    fader(`feature_${name}`, name, strength, `${FEATURE_PREFIX}${name}`, CONTROL_RANGES.strength, {
      default: NEUTRAL_STRENGTH,
      // the gauge grows from the middle: a push in goes up, a push out goes down
      origin: NEUTRAL_STRENGTH,
      doubleTap: true,
      expand: true,
    }),
    meter(`monitor_${name}`, 'mon', monitor, at(monitor.address)),
    meter(`gain_${name}`, 'gain', gain, at(gain.address)),
  ], { expand: true });
}

/**
 * The session for a model with `features` (in the probe set's order, as
 * smitin-live reads them): a strip per feature (strength fader, monitor and
 * gain meters), transport and record, the prompt, and the tempo,
 * temperature and guidance faders resting at `start`.
 */
export function openStageControlSession(features: readonly string[], start: SessionStart): OscSession {
  const settings = [
    { control: 'tempo', spec: input('/smitin/tempo'), value: start.tempo },
    { control: 'temperature', spec: input('/smitin/temperature'), value: start.temperature },
    { control: 'guidance', spec: input('/smitin/guidance'), value: start.guidance },
  ] as const;
  const record = input('/smitin/record');
  const prompt = input('/smitin/prompt');
  const promptText = output('/smitin/prompt-text');

  const transport = row('transport', [
    trigger('play', 'play', input('/smitin/play')),
    trigger('stop', 'stop', input('/smitin/stop')),
    { type: 'button', id: 'record', label: 'record', address: record.address, typeTags: record.args, mode: 'toggle', on: 1, off: 0, colorWidget: '#e53935', expand: true },
    // over UDP smitin-live answers /smitin/state to its --osc-target, which is this app: press after connecting
    trigger('state', 'sync state', input('/smitin/state')),
  ], { height: 70 });

  const promptRow = row('prompt_row', [
    { type: 'input', id: 'prompt', html: 'prompt', address: prompt.address, typeTags: prompt.args, maxLength: MAX_PROMPT_LENGTH, align: 'left', expand: true },
    { type: 'text', id: 'prompt_text', html: 'playing', address: promptText.address, align: 'left', wrap: 'soft', bypass: true, expand: true },
  ], { height: 90 });

  const settingsPanel: OscWidget = {
    type: 'panel',
    id: 'settings',
    layout: 'vertical',
    scroll: false,
    height: 210,
    widgets: settings.map(({ control, spec, value }) =>
      fader(control, control, spec, spec.address, CONTROL_RANGES[control], { default: checkControl(control, value), horizontal: true, expand: true }),
    ),
  };

  return {
    createdWith: 'Open Stage Control',
    version: OSC_SESSION_VERSION,
    type: 'session',
    content: {
      type: 'root',
      id: 'root',
      layout: 'vertical',
      scroll: false,
      widgets: [transport, promptRow, row('features', features.map(featureStrip), { expand: true }), settingsPanel],
    },
  };
}

/** The session file's text: JSON, 2-space indent (as upstream saves it), one trailing newline. */
export function renderOpenStageControlSession(features: readonly string[], start: SessionStart): string {
  return `${JSON.stringify(openStageControlSession(features, start), null, 2)}\n`;
}
