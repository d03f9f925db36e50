import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { EngineCommand } from '../../src/protocol.js';
import { applyCurve, invertCurve, knobToValue, valueToKnob } from '../../src/control/cc-scale.js';
import { clockToTempo } from '../../src/control/clock-tempo.js';
import { IssueLog } from '../../src/control/issues.js';
import { ControlMapping, type MidiEcho, type MidiStreams } from '../../src/control/mapping.js';
import type { CcEvent, NoteEvent } from '../../src/control/midi-source.js';
import type { ControlEvent } from '../../src/control/osc-namespace.js';
import { parsePreset, type Preset } from '../../src/control/presets.js';
import { smoothStrengths, type StrengthTarget } from '../../src/control/smooth-strengths.js';

const FEATURES = ['drums', 'bass', 'piano', 'guitar', 'minor', 'dense'];

function preset(over: Record<string, unknown> = {}): Preset {
  return parsePreset(
    {
      name: 'test',
      source: 'test',
      smoothingMs: 0,
      pickup: false,
      features: {
        drums: { cc: 70 },
        bass: { cc: 71, min: 0, max: 1, curve: 'exponential' },
        piano: { cc: 1, cc14: true },
        guitar: {},
      },
      settings: { temperature: { cc: 76, min: 0.5, max: 1.5 } },
      triggers: [
        { note: 36, action: 'toggle-play' },
        { cc: 41, action: 'stop' },
        { note: 40, action: { toggle: 'drums' } },
        { note: 48, action: { learn: 'guitar' } },
        { note: 50, action: { loop: 2 } },
      ],
      ...over,
    },
    'inline',
  );
}

/** Fake MIDI input streams and a mapping on virtual time. */
function rig(p: Preset = preset(), extra: { lsbWaitMs?: number } = {}) {
  const scheduler = new VirtualTimeScheduler();
  const midi = {
    cc$: new Subject<CcEvent>(),
    noteon$: new Subject<NoteEvent>(),
    clock$: new Subject<number>(),
    start$: new Subject<void>(),
    stop$: new Subject<void>(),
    continue$: new Subject<void>(),
  };
  const events$ = new Subject<ControlEvent>();
  const issues = new IssueLog();
  const mapping = new ControlMapping({ preset: p, features: FEATURES, issues, scheduler, ...extra });
  const commands: EngineCommand[] = [];
  const echoes: MidiEcho[] = [];
  mapping.echo$.subscribe((e) => echoes.push(e));
  mapping.commands({ midi: midi as unknown as MidiStreams, events$ }).subscribe((c) => commands.push(c));
  scheduler.flush();
  commands.length = 0;
  echoes.length = 0;
  const cc = (controller: number, value: number, channel = 0) => {
    midi.cc$.next({ channel, controller, value });
    scheduler.flush();
  };
  const strengths = (feature: string) => commands.filter((c): c is Extract<EngineCommand, { type: 'strength' }> => c.type === 'strength' && c.feature === feature).map((c) => c.value);
  return { scheduler, midi, events$, issues, mapping, commands, echoes, cc, strengths };
}

describe('knob scaling', () => {
  it('curves are monotonic, pinned at the ends, and invert', () => {
    for (const curve of ['linear', 'exponential', 'logarithmic', { gamma: 2 }] as const) {
      expect(applyCurve(0, curve)).toBeCloseTo(0, 12);
      expect(applyCurve(1, curve)).toBeCloseTo(1, 12);
      for (const x of [0.1, 0.3, 0.5, 0.9]) expect(invertCurve(applyCurve(x, curve), curve)).toBeCloseTo(x, 9);
    }
    expect(applyCurve(0.5, 'exponential')).toBeLessThan(0.5);
    expect(applyCurve(0.5, 'logarithmic')).toBeGreaterThan(0.5);
    expect(applyCurve(0.5, { gamma: 2 })).toBe(0.25);
  });

  it('bipolar knobs read 0 at both middle steps, and valueToKnob inverts', () => {
    const scale = { min: -1, max: 1, curve: 'linear' as const };
    expect(knobToValue(63 / 127, scale)).toBe(0);
    expect(knobToValue(64 / 127, scale)).toBe(0);
    expect(knobToValue(0, scale)).toBe(-1);
    expect(knobToValue(1, scale)).toBe(1);
    const asym = { min: -0.5, max: 1, curve: { gamma: 2 } };
    expect(knobToValue(0, asym)).toBe(-0.5);
    for (const v of [-0.4, 0.3, 0.9]) expect(knobToValue(valueToKnob(v, asym), asym)).toBeCloseTo(v, 9);
  });
});

describe('mapping: MIDI CC at the boundary', () => {
  it('maps 7-bit CCs through range and curve, knob reaching the strength command', () => {
    const r = rig();
    r.cc(70, 0);
    r.cc(70, 127);
    r.cc(71, 64);
    expect(r.strengths('drums')).toEqual([-1, 1]);
    const bass = r.strengths('bass');
    expect(bass).toHaveLength(1);
    expect(bass[0]).toBeCloseTo(Math.expm1(4 * (64 / 127)) / Math.expm1(4), 9);
    // temperature (a setting) also maps: 0.5..1.5
    r.cc(76, 127);
    expect(r.commands.at(-1)).toEqual({ type: 'temperature', value: 1.5 });
  });

  it('combines 14-bit MSB/LSB pairs (CC n and n+32), and applies a lone MSB after a short wait', () => {
    const r = rig(preset(), { lsbWaitMs: 3 });
    r.midi.cc$.next({ channel: 0, controller: 1, value: 127 });
    r.midi.cc$.next({ channel: 0, controller: 33, value: 127 });
    r.scheduler.flush();
    expect(r.strengths('piano')).toEqual([1]);
    r.midi.cc$.next({ channel: 0, controller: 1, value: 96 });
    r.midi.cc$.next({ channel: 0, controller: 33, value: 0 });
    r.scheduler.flush();
    const v = knobToValue((96 * 128) / 16383, { min: -1, max: 1, curve: 'linear' });
    expect(r.strengths('piano').at(-1)).toBeCloseTo(v, 12);
    // LSB alone (only the fine part moved): combined with the last MSB
    r.cc(33, 64);
    expect(r.strengths('piano').at(-1)).toBeCloseTo(knobToValue((96 * 128 + 64) / 16383, { min: -1, max: 1, curve: 'linear' }), 12);
    // MSB alone: no LSB follows, applied with LSB 0 after the wait
    const before = r.strengths('piano').length;
    r.midi.cc$.next({ channel: 0, controller: 1, value: 32 });
    expect(r.strengths('piano')).toHaveLength(before);
    r.scheduler.flush();
    expect(r.strengths('piano').at(-1)).toBeCloseTo(knobToValue((32 * 128) / 16383, { min: -1, max: 1, curve: 'linear' }), 12);
  });

  it('pick-up: after a change from OSC the knob does nothing until it crosses the current value', () => {
    const r = rig(preset({ pickup: true }));
    r.cc(70, 64); // at the initial 0: picked up
    r.cc(70, 127); // engaged: drums = 1
    r.events$.next({ type: 'strength', feature: 'drums', value: 0 }); // from elsewhere
    r.scheduler.flush();
    expect(r.strengths('drums')).toEqual([1, 0]);
    r.cc(70, 120); // knob still up at ~0.89: ignored
    r.cc(70, 100);
    expect(r.strengths('drums')).toEqual([1, 0]);
    expect(r.issues.count('mapping', 'pickup-waiting')).toBe(2);
    r.cc(70, 40); // crossed 0 on the way down: picked up
    r.cc(70, 30);
    expect(r.strengths('drums').slice(2)).toEqual([knobToValue(40 / 127, { min: -1, max: 1, curve: 'linear' }), knobToValue(30 / 127, { min: -1, max: 1, curve: 'linear' })]);
  });

  it('pick-up after a preset load and at start; a knob at the value engages at once', () => {
    const r = rig(preset({ pickup: true }));
    r.cc(70, 0); // at start drums is 0: the knob at -1 waits
    expect(r.strengths('drums')).toEqual([]);
    r.cc(70, 127); // crossed 0: picked up
    expect(r.strengths('drums')).toEqual([1]);
    r.mapping.loadPreset(preset({ pickup: true, features: { drums: { cc: 70, initial: 0.5 } } }));
    r.scheduler.flush();
    expect(r.strengths('drums').at(-1)).toBe(0.5);
    r.cc(70, 120); // the knob is still up at 0.89, above 0.5: waits
    r.cc(70, 110);
    expect(r.strengths('drums').at(-1)).toBe(0.5);
    r.cc(70, 95); // 0.496: within two steps of 0.5
    expect(r.strengths('drums').at(-1)).toBeCloseTo(knobToValue(95 / 127, { min: -1, max: 1, curve: 'linear' }), 12);
  });

  it('MIDI learn from /smitin/learn: the next moved CC binds, replaces its old use, and persists in the live preset', () => {
    const r = rig(preset({ pickup: true }));
    const learned: unknown[] = [];
    const armed: unknown[] = [];
    const loaded: unknown[] = [];
    r.mapping.learned$.subscribe((l) => learned.push(l));
    r.mapping.armed$.subscribe((t) => armed.push(t));
    r.mapping.loaded$.subscribe((p) => loaded.push(p.name));
    r.events$.next({ type: 'learn', target: 'guitar' });
    expect(armed).toEqual(['guitar']);
    r.cc(70, 127, 2); // CC 70 on channel 3
    expect(learned).toEqual([{ target: 'guitar', channel: 3, cc: 70 }]);
    // a binding changes the live preset, but it is not a preset load (the session says "loaded" only for those)
    expect(loaded).toEqual([]);
    expect(r.mapping.preset.features.guitar).toMatchObject({ cc: 70, channel: 3, cc14: false });
    r.cc(70, 64, 2); // guitar was 0, knob now at the centre: picked up
    r.cc(70, 127, 2);
    expect(r.strengths('guitar').at(-1)).toBe(1);
    // learning drums onto CC 71 (bass's knob) takes it from bass
    r.mapping.learn('drums');
    r.cc(71, 64);
    expect(r.mapping.preset.features.bass.cc).toBeUndefined();
    expect(r.mapping.preset.features.drums).toMatchObject({ cc: 71, channel: 1 });
  });

  it('MIDI learn from a learn note; a learned setting gets its default range', () => {
    const r = rig();
    r.midi.noteon$.next({ channel: 0, note: 48, velocity: 100 });
    expect(r.mapping.learning).toBe('guitar');
    r.mapping.learn('guidance');
    r.cc(20, 0);
    expect(r.mapping.preset.settings.guidance).toMatchObject({ cc: 20, min: 1, max: 6 });
    r.mapping.learn('vocals');
    expect(r.issues.count('mapping', 'unknown-target')).toBe(1);
  });

  it('notes and CC buttons drive transport and feature toggles; note velocity 0 and button release do nothing', () => {
    const r = rig();
    r.midi.noteon$.next({ channel: 0, note: 36, velocity: 100 });
    r.midi.noteon$.next({ channel: 0, note: 36, velocity: 0 });
    r.midi.noteon$.next({ channel: 0, note: 36, velocity: 90 });
    r.cc(41, 127);
    r.cc(41, 0);
    r.midi.noteon$.next({ channel: 0, note: 40, velocity: 127 });
    r.scheduler.flush();
    r.midi.noteon$.next({ channel: 0, note: 40, velocity: 127 });
    r.scheduler.flush();
    expect(r.commands.filter((c) => c.type !== 'strength')).toEqual([{ type: 'play' }, { type: 'stop' }, { type: 'stop' }]);
    expect(r.strengths('drums')).toEqual([1, 0]);
  });

  it('a loop button loops its bars, and pressed again releases; after a knob ended the loop (the engine says), it loops again', () => {
    const r = rig();
    const press = () => {
      r.midi.noteon$.next({ channel: 0, note: 50, velocity: 100 });
      r.scheduler.flush();
    };
    press();
    r.mapping.setTransportState({ looping: true });
    press();
    r.mapping.setTransportState({ looping: false });
    press();
    expect(r.commands).toEqual([{ type: 'loop', bars: 2 }, { type: 'loop', bars: 0 }, { type: 'loop', bars: 2 }]);
  });

  it('unmapped CCs are reported once, naming the CC, channel and preset', () => {
    const r = rig();
    const reports: string[] = [];
    r.issues.issues$.subscribe((i) => reports.push(i.message));
    r.cc(99, 1, 4);
    r.cc(99, 2, 4);
    expect(r.issues.count('mapping', 'unmapped-cc')).toBe(2);
    expect(reports).toEqual(['MIDI CC 99 on channel 5 is not mapped in preset "test" (send /smitin/learn NAME, then move it, to bind it)']);
  });

  it('echoes values changed elsewhere back to the controller (7-bit and 14-bit), not knob moves', () => {
    const r = rig(preset({ echo: true, pickup: true }));
    r.events$.next({ type: 'strength', feature: 'drums', value: 1 });
    r.events$.next({ type: 'strength', feature: 'piano', value: 1 });
    r.events$.next({ type: 'temperature', value: 1 });
    expect(r.echoes).toEqual([
      { channel: 0, cc: 70, value: 127 },
      { channel: 0, cc: 1, value: 127 },
      { channel: 0, cc: 33, value: 127 },
      { channel: 0, cc: 76, value: 64 },
    ]);
    r.echoes.length = 0;
    r.cc(70, 10); // the controller shows the echoed value, so its knob is in sync: no pick-up wait
    expect(r.strengths('drums').at(-1)).toBeCloseTo(knobToValue(10 / 127, { min: -1, max: 1, curve: 'linear' }), 12);
    expect(r.echoes).toEqual([]);
    // a preset load echoes its initial values
    r.mapping.loadPreset(preset({ echo: true, pickup: true }));
    expect(r.echoes.find((e) => e.cc === 70)).toEqual({ channel: 0, cc: 70, value: 64 });
  });

  it('a preset that fails to load is reported and the current one kept', async () => {
    const r = rig();
    r.events$.next({ type: 'preset', name: 'no-such-preset' });
    // presets load off the audio path: the refusal arrives a moment later
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(r.issues.count('preset', 'load-failed')).toBe(1);
    expect(r.mapping.preset.name).toBe('test');
    expect(r.commands.some((c) => c.type === 'preset')).toBe(false);
  });
});

describe('mapping: MIDI clock and transport', () => {
  it('follows 24 ppqn clock at 120 BPM with jitter, emitting only on > 0.5 BPM changes', () => {
    const r = rig();
    let seed = 7;
    const jitter = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 4; // +-2 ms
    const period = 60_000 / (120 * 24); // 20.833 ms
    for (let i = 0; i < 24 * 8; i++) r.midi.clock$.next(i * period + jitter());
    const tempos = r.commands.filter((c): c is Extract<EngineCommand, { type: 'tempo' }> => c.type === 'tempo');
    expect(tempos.length).toBeGreaterThanOrEqual(1);
    expect(tempos.length).toBeLessThanOrEqual(3);
    expect(tempos.at(-1)!.bpm).toBeGreaterThan(119);
    expect(tempos.at(-1)!.bpm).toBeLessThan(121);
    // the DAW speeds up to 140
    const p2 = 60_000 / (140 * 24);
    const t0 = 24 * 8 * period;
    for (let i = 1; i <= 24 * 4; i++) r.midi.clock$.next(t0 + i * p2 + jitter());
    const last = r.commands.filter((c) => c.type === 'tempo').at(-1) as { bpm: number };
    expect(last.bpm).toBeCloseTo(140, 0);
  });

  it('start/continue/stop drive play/stop', () => {
    const r = rig();
    r.midi.start$.next();
    r.midi.stop$.next();
    r.midi.continue$.next();
    expect(r.commands).toEqual([{ type: 'play' }, { type: 'stop' }, { type: 'play' }]);
    r.mapping.loadPreset(preset({ clock: { followTempo: false, followTransport: false } }));
    r.commands.length = 0;
    r.midi.start$.next();
    for (let i = 0; i < 60; i++) r.midi.clock$.next(i * 20);
    expect(r.commands.filter((c) => c.type !== 'strength')).toEqual([]);
  });

  it('clockToTempo resets after a gap and needs a beat of pulses first', () => {
    const out: number[] = [];
    const clock$ = new Subject<number>();
    clock$.pipe(clockToTempo()).subscribe((b) => out.push(b));
    for (let i = 0; i < 24; i++) clock$.next(i * 25); // 24 pulses = 23 intervals: not yet
    expect(out).toEqual([]);
    clock$.next(24 * 25);
    expect(out).toEqual([100]);
    clock$.next(10_000); // a long gap: history cleared
    for (let i = 1; i <= 23; i++) clock$.next(10_000 + i * 12.5);
    expect(out).toEqual([100]);
    clock$.next(10_000 + 24 * 12.5);
    expect(out).toEqual([100, 200]);
  });
});

describe('smoothing on virtual time', () => {
  it('glides a jump one-pole per tick and ends exactly on the target', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const input = cold<StrengthTarget>('a 49ms b', { a: { feature: 'drums', value: 0 }, b: { feature: 'drums', value: 1 } });
      const out = input.pipe(smoothStrengths({ smoothingMs: () => 10, tickMs: 10 }));
      const k = 1 - Math.exp(-1);
      const values: Record<string, StrengthTarget> = { a: { feature: 'drums', value: 0 } };
      let v = 0;
      let marbles = 'a 49ms ';
      const letters = 'bcdefghijklmnopqrstuvwxyz';
      for (let i = 0; ; i++) {
        v += (1 - v) * k;
        if (1 - v < 0.004) v = 1;
        values[letters[i]] = { feature: 'drums', value: v };
        marbles += letters[i];
        if (v === 1) break;
        marbles += ' 9ms ';
      }
      expectObservable(out).toBe(marbles, values);
    });
  });

  it('a fast knob sweep of 127 CCs becomes at most one command per tick per feature', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ flush }) => {
      const targets = new Subject<StrengthTarget>();
      const out: StrengthTarget[] = [];
      targets.pipe(smoothStrengths({ smoothingMs: () => 30, tickMs: 10 })).subscribe((t) => out.push(t));
      targets.next({ feature: 'bass', value: 0 });
      // a fast sweep: 127 CCs at once, faster than one tick
      for (let i = 1; i <= 127; i++) targets.next({ feature: 'bass', value: i / 127 });
      flush();
      expect(out.length).toBeLessThan(40);
      expect(out.at(-1)).toEqual({ feature: 'bass', value: 1 });
      for (let i = 1; i < out.length; i++) expect(out[i].value).toBeGreaterThanOrEqual(out[i - 1].value);
    });
  });

  it('the mapping smooths knob moves on its scheduler and reaches the value', () => {
    const r = rig(preset({ smoothingMs: 40 }));
    r.cc(70, 64); // first move: picked up at 0
    r.commands.length = 0;
    r.midi.cc$.next({ channel: 0, controller: 70, value: 127 });
    const firstStep = r.strengths('drums');
    expect(firstStep).toHaveLength(1);
    expect(firstStep[0]).toBeGreaterThan(0);
    expect(firstStep[0]).toBeLessThan(0.5);
    r.scheduler.flush();
    expect(r.strengths('drums').at(-1)).toBe(1);
    expect(r.scheduler.now()).toBeGreaterThan(100);
  });
});
