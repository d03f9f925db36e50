/**
 * bridge/open-stage-control/smitin.json against the protocol: the committed file is what the generator
 * (src/control/open-stage-control.ts) makes for tinyband, read the way smitin live reads it; everything it
 * sends is an input of the OSC namespace that the namespace takes without complaint; everything it only
 * listens to is an output smitin-live sends; every fader spans its control's range.
 *
 * After a change to the namespace, the ranges or the generator, regenerate the file with
 *   UPDATE_BRIDGE=1 npx vitest run test/control/open-stage-control.test.ts
 * (the env var makes this test write the file before checking it) and commit it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveModelAndProbes } from '../../src/cli/model-check.js';
import { DEFAULT_TEMPO } from '../../src/constants.js';
import { IssueLog } from '../../src/control/issues.js';
import { openStageControlSession, renderOpenStageControlSession, type OscSession, type OscWidget, type SessionStart } from '../../src/control/open-stage-control.js';
import { FEATURE_PREFIX, OSC_INPUTS, OSC_OUTPUTS, OscNamespace, type ControlEvent } from '../../src/control/osc-namespace.js';
import type { OscArg, OscMessage } from '../../src/control/osc-intake.js';
import { CONTROL_RANGES, MAX_PROMPT_LENGTH } from '../../src/protocol.js';
import { SHIPPED_MODEL } from '../helpers/model.js';

const FILE = fileURLToPath(new URL('../../bridge/open-stage-control/smitin.json', import.meta.url));
const REGENERATE = 'UPDATE_BRIDGE=1 npx vitest run test/control/open-stage-control.test.ts';
const CONTAINERS = new Set(['root', 'panel']);

/**
 * Property names of upstream's widgets as their static defaults() declare them (Open Stage Control 1.29/1.30,
 * src/client/widgets/: common/widget.mjs for every widget, then sliders/fader.mjs, basics/button.mjs,
 * basics/input.mjs, indicators/text.mjs, containers/panel.mjs and root.mjs). Its parser deletes any other
 * property when it loads a session, so a misspelt one here would be a control that silently does nothing.
 */
const WIDGET_PROPS = [
  'lock', 'type', 'id', 'visible', 'interaction', 'comments', 'left', 'top', 'width', 'height', 'expand',
  'colorText', 'colorWidget', 'colorStroke', 'colorFill', 'alphaStroke', 'alphaFillOff', 'alphaFillOn', 'lineWidth',
  'borderRadius', 'padding', 'html', 'css', 'value', 'default', 'linkId', 'address', 'preArgs', 'typeTags', 'decimals',
  'target', 'ignoreDefaults', 'bypass', 'onCreate', 'onValue',
];
const PANEL_PROPS = [
  ...WIDGET_PROPS, 'variables', 'traversing', 'colorBg', 'layout', 'justify', 'gridTemplate', 'contain', 'scroll',
  'innerPadding', 'tabsPosition', 'widgets', 'tabs', 'onTouch',
];
const UPSTREAM_PROPS: Record<string, Set<string>> = {
  fader: new Set([
    ...WIDGET_PROPS, 'design', 'knobSize', 'colorKnob', 'horizontal', 'pips', 'dashed', 'gradient', 'snap', 'touchZone',
    'spring', 'doubleTap', 'range', 'logScale', 'sensitivity', 'steps', 'origin', 'onTouch',
  ]),
  button: new Set([...WIDGET_PROPS, 'colorTextOn', 'label', 'vertical', 'wrap', 'on', 'off', 'mode', 'doubleTap', 'decoupled']),
  input: new Set([...WIDGET_PROPS, 'align', 'unit', 'noCanvas', 'asYouType', 'numeric', 'validation', 'maxLength']),
  text: new Set([...WIDGET_PROPS.filter((p) => p !== 'typeTags' && p !== 'ignoreDefaults'), 'vertical', 'wrap', 'align']),
  panel: new Set(PANEL_PROPS),
  root: new Set([
    ...PANEL_PROPS.filter((p) => !['left', 'top', 'expand', 'colorFill', 'colorStroke', 'alphaStroke', 'alphaFillOff', 'lineWidth'].includes(p)),
    'hideMenu', 'onPreload',
  ]),
};
/** The `choices` of the properties that have them, from the same files. */
const UPSTREAM_CHOICES: Record<string, Record<string, unknown[]>> = {
  fader: { design: ['default', 'round', 'compact'], touchZone: ['all', 'knob', 'gauge'], doubleTap: [false, true, 'script'] },
  button: { mode: ['toggle', 'push', 'momentary', 'tap'], wrap: [false, true, 'soft'] },
  input: { align: ['center', 'left', 'right'] },
  text: { align: ['center', 'left', 'right', 'top', 'bottom', 'left top', 'left bottom', 'right top', 'right bottom'], wrap: [false, true, 'soft'] },
  panel: { layout: ['default', 'vertical', 'horizontal', 'grid'], scroll: [true, false, 'hidden'] },
  root: { layout: ['default', 'vertical', 'horizontal', 'grid'], scroll: [true, false, 'hidden'] },
};

/** Every widget of the session, depth first. */
function allWidgets(w: OscWidget): OscWidget[] {
  return [w, ...(w.widgets ?? []).flatMap(allWidgets)];
}

/** An address template of the table ('/smitin/monitor/<name>') as a pattern; the <...> part is captured. */
function templatePattern(template: string): RegExp {
  const escaped = template.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/<[a-z]+>/, '([^/]+)');
  return new RegExp(`^${escaped}$`);
}

/** The messages a widget sends when played: what Open Stage Control puts on the wire for it. */
function messagesOf(w: OscWidget): { types: string; args: OscArg[] }[] {
  const address = w.address as string;
  if (w.type === 'fader') {
    const { min, max } = w.range as { min: number; max: number };
    return [min, max, (min + max) / 2].map((v) => ({ types: w.typeTags as string, args: [v] }));
  }
  if (w.type === 'input') return [{ types: w.typeTags as string, args: ['warm synth pads'] }];
  if (w.type === 'button' && w.mode === 'momentary') return [{ types: '', args: [] }];
  if (w.type === 'button' && w.mode === 'toggle') return [w.on as number, w.off as number].map((v) => ({ types: w.typeTags as string, args: [v] }));
  throw new Error(`${w.id} (${address}): no idea what a ${w.type} in mode ${String(w.mode)} sends`);
}

describe('bridge/open-stage-control/smitin.json', () => {
  let features: string[];
  let start: SessionStart;
  let session: OscSession;
  let widgets: OscWidget[];

  beforeAll(() => {
    // as smitin live reads them: the folder's probe set (its feature order) and the model's generation defaults
    const model = resolveModelAndProbes(SHIPPED_MODEL, { prepare: false });
    features = model.features;
    start = { tempo: DEFAULT_TEMPO, temperature: model.spec.generation.temperature, guidance: model.spec.generation.guidance };
    session = openStageControlSession(features, start);
    widgets = allWidgets(session.content);
  });

  it('is what the generator makes for tinyband', () => {
    expect(features).toEqual(['drums', 'bass', 'piano', 'guitar', 'minor', 'dense']);
    const expected = renderOpenStageControlSession(features, start);
    if (process.env.UPDATE_BRIDGE === '1') writeFileSync(FILE, expected);
    let committed = '';
    try {
      committed = readFileSync(FILE, 'utf8');
    } catch {
      // a missing file fails the comparison below, with the command that makes it
    }
    expect(committed, `bridge/open-stage-control/smitin.json is out of date with the protocol; regenerate it: ${REGENERATE}`).toBe(expected);
    expect(JSON.parse(committed)).toEqual(session);
  });

  it('is an Open Stage Control v1 session: a root widget, ids unique, containers that never send', () => {
    expect(session.createdWith).toBe('Open Stage Control');
    expect(session.type).toBe('session');
    // upstream converts files of 1.24.2 and older; a newer version is loaded as it is
    const [major, minor] = session.version.split('.').map(Number);
    expect(major).toBe(1);
    expect(minor).toBeGreaterThan(24);
    expect(session.content.type).toBe('root');
    expect(session.content.id).toBe('root');
    const ids = widgets.map((w) => w.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const w of widgets) {
      if (CONTAINERS.has(w.type)) {
        // a panel sends only its tab index: no tabs here, and no address of its own to clash with smitin's
        expect(w.tabs, w.id).toBeUndefined();
        expect(w.address, w.id).toBeUndefined();
      } else {
        expect(typeof w.address, `${w.id} has no explicit address (upstream would make up /${w.id})`).toBe('string');
        expect(w.target, `${w.id}: widgets send to the server's --send target`).toBeUndefined();
      }
    }
  });

  it("uses only properties and choices upstream's widgets define (it drops unknown ones silently when it loads)", () => {
    for (const w of widgets) {
      const known = UPSTREAM_PROPS[w.type];
      expect(known, `${w.id}: widget type ${w.type}`).toBeDefined();
      for (const prop of Object.keys(w)) expect(known.has(prop), `${w.id}.${prop} is not a property of upstream's ${w.type}`).toBe(true);
      for (const [prop, choices] of Object.entries(UPSTREAM_CHOICES[w.type] ?? {})) {
        if (prop in w) expect(choices, `${w.id}.${prop}`).toContain(w[prop]);
      }
    }
  });

  it('sends only inputs of the namespace, and the namespace takes every message without an issue', () => {
    const issues = new IssueLog();
    const ns = new OscNamespace({ features, issues });
    const inputs = new Set(OSC_INPUTS.map((s) => s.address));
    const senders = widgets.filter((w) => !CONTAINERS.has(w.type) && w.bypass !== true);
    const sent = new Set<string>();
    for (const w of senders) {
      const address = w.address as string;
      sent.add(address.startsWith(FEATURE_PREFIX) ? `${FEATURE_PREFIX}<name>` : address);
      if (address.startsWith(FEATURE_PREFIX)) expect(features, address).toContain(address.slice(FEATURE_PREFIX.length));
      else expect(inputs.has(address), `${w.id} sends ${address}, not an input of OSC_INPUTS`).toBe(true);
      for (const m of messagesOf(w)) {
        const msg: OscMessage = { address, args: m.args, types: m.types, from: 'open-stage-control' };
        const event: ControlEvent | null = ns.toEvent(msg);
        // /smitin/state is answered by the transport, never turned into an event
        if (address !== '/smitin/state') expect(event, `${address} ${JSON.stringify(m.args)}`).not.toBeNull();
      }
    }
    expect(issues.snapshot()).toEqual({});
    // the controls a player needs are all there
    for (const address of [`${FEATURE_PREFIX}<name>`, '/smitin/prompt', '/smitin/play', '/smitin/stop', '/smitin/record', '/smitin/tempo', '/smitin/temperature', '/smitin/guidance', '/smitin/state']) {
      expect(sent, address).toContain(address);
    }
  });

  it('sends what the buttons and the prompt mean: a press, record 1/0, a prompt of at most the accepted length', () => {
    const byId = new Map(widgets.map((w) => [w.id, w]));
    for (const id of ['play', 'stop', 'state']) expect(byId.get(id)).toMatchObject({ type: 'button', mode: 'momentary' });
    expect(byId.get('record')).toMatchObject({ type: 'button', mode: 'toggle', address: '/smitin/record', on: 1, off: 0, typeTags: 'i' });
    expect(byId.get('prompt')).toMatchObject({ type: 'input', address: '/smitin/prompt', typeTags: 's', maxLength: MAX_PROMPT_LENGTH });
    for (const name of features) {
      // rests at "leave the music alone", and a double tap goes back there
      expect(byId.get(`feature_${name}`)).toMatchObject({ address: `${FEATURE_PREFIX}${name}`, typeTags: 'f', default: 0, doubleTap: true });
    }
  });

  it('listens only to outputs smitin-live sends, and shows them without sending', () => {
    const listeners = widgets.filter((w) => !CONTAINERS.has(w.type) && w.bypass === true);
    const heard = new Set<string>();
    for (const w of listeners) {
      const address = w.address as string;
      const spec = OSC_OUTPUTS.find((s) => templatePattern(s.address).test(address));
      expect(spec, `${w.id} listens to ${address}, not an output of OSC_OUTPUTS`).toBeDefined();
      const name = templatePattern(spec!.address).exec(address)![1];
      if (spec!.address.includes('<name>')) expect(features, address).toContain(name);
      heard.add(spec!.address);
      expect(w.type === 'text' || w.interaction === false, `${w.id} must not be touchable`).toBe(true);
    }
    expect([...heard].sort()).toEqual(['/smitin/gain/<name>', '/smitin/monitor/<name>', '/smitin/prompt-text']);
    for (const name of features) {
      for (const kind of ['monitor', 'gain']) expect(listeners.map((w) => w.address), `${kind} of ${name}`).toContain(`/smitin/${kind}/${name}`);
    }
  });

  it("spans each fader over its control's range: CONTROL_RANGES for what it sends, the table's for what it shows", () => {
    const faders = widgets.filter((w) => w.type === 'fader');
    expect(faders).toHaveLength(features.length * 3 + 3);
    for (const w of faders) {
      const address = w.address as string;
      let range: { min: number; max: number };
      if (w.bypass === true) {
        const spec = OSC_OUTPUTS.find((s) => templatePattern(s.address).test(address))!;
        const [min, max] = spec.range.split('..').map(Number);
        range = { min, max };
      } else if (address.startsWith(FEATURE_PREFIX)) {
        range = CONTROL_RANGES.strength;
      } else {
        const control = address.split('/').pop() as keyof typeof CONTROL_RANGES;
        expect(Object.keys(CONTROL_RANGES), address).toContain(control);
        range = CONTROL_RANGES[control];
        expect((w.default as number) >= range.min && (w.default as number) <= range.max, `${address} default ${String(w.default)}`).toBe(true);
      }
      expect(w.range, address).toEqual({ min: range.min, max: range.max });
    }
  });

  it('escapes a feature name that would be markup in a label', () => {
    const odd = openStageControlSession(['a<b>&c'], start);
    const fader = allWidgets(odd.content).find((w) => w.id === 'feature_a<b>&c')!;
    expect(fader.html).toBe('a&lt;b&gt;&amp;c');
    expect(fader.address).toBe(`${FEATURE_PREFIX}a<b>&c`);
  });
});
