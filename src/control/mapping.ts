/**
 * The preset-driven mapping stage: MIDI (CC 7-bit and 14-bit, notes, clock,
 * start/stop) and control events from OSC in, engine commands out.
 *
 * - Knobs map through the preset's range and curve (cc-scale.ts) onto
 *   feature strengths or settings (temperature, guidance, tempo).
 * - Strengths glide (smooth-strengths.ts) so a knob sweep does not zipper;
 *   settings are throttled to the latest value per period.
 * - Pick-up (soft takeover): after a preset load or a change from elsewhere
 *   (OSC, a toggle button), a knob does nothing until it reaches or crosses
 *   the current value, so the music never jumps to where a knob happens to be.
 * - MIDI learn: `learn(target)` (from /smitin/learn or a learn button), then
 *   the next CC that moves is bound to the target in the live preset
 *   (`preset$`), replacing whatever used that CC before.
 * - Value echo: when a value changes from elsewhere, `echo$` gives the CC
 *   messages that put the controller's LED ring or motor fader there
 *   (presets with `"echo": true`); such a controller is then in sync, so
 *   its knob needs no pick-up.
 * - MIDI clock -> tempo (clock-tempo.ts); start/continue/stop -> play/stop.
 *
 * Nothing a control message does may throw out of here: handlers are
 * guarded and problems go to the IssueLog.
 */
import {
  asyncScheduler,
  BehaviorSubject,
  filter,
  groupBy,
  map,
  merge,
  mergeMap,
  Observable,
  Subject,
  Subscription,
  throttleTime,
  type SchedulerLike,
} from 'rxjs';
import { KNOB_DEFAULT_RANGES, SETTING_TARGETS, type EngineCommand } from '../protocol.js';
import { knobToValue, valueToKnob, type Scale } from './cc-scale.js';
import { clockToTempo } from './clock-tempo.js';
import { IssueLog } from './issues.js';
import type { CcEvent, MidiInput, NoteEvent } from './midi-source.js';
import type { ControlEvent } from './osc-namespace.js';
import { presetLoader, presetsDir, type FeaturePreset, type Preset, type SettingName, type TriggerAction } from './presets.js';
import { smoothStrengths, type StrengthTarget } from './smooth-strengths.js';
import { quoted } from '../util/printable.js';

/** The MIDI streams the mapping reads (a MidiInput, or a test's subjects). */
export type MidiStreams = Pick<MidiInput, 'cc$' | 'noteon$' | 'clock$' | 'start$' | 'stop$' | 'continue$'>;

/** A CC to send back to the controller; channel 0..15 as on the wire. */
export interface MidiEcho {
  channel: number;
  cc: number;
  value: number;
}

export interface Learned {
  target: string;
  /** 1..16, as in presets. */
  channel: number;
  cc: number;
}

export interface MappingOptions {
  preset: Preset;
  /** The model's features; preset features outside it are reported and ignored. */
  features: readonly string[];
  issues?: IssueLog;
  scheduler?: SchedulerLike;
  /** Strength glide tick, ms. */
  tickMs?: number;
  /** Settings (temperature, guidance, tempo) are sent at most this often, ms. */
  settingsThrottleMs?: number;
  /** How long a 14-bit MSB waits for its LSB before it is applied alone, ms. */
  lsbWaitMs?: number;
  /** Loads a preset named by /smitin/preset: a name, never a path (default: presets/ by name). */
  loadPreset?: (name: string) => Promise<Preset>;
}

const SETTINGS: readonly SettingName[] = SETTING_TARGETS;
/** Within two 7-bit steps of the current value a knob has picked up. */
const PICKUP_TOLERANCE_STEPS = 2 / 127;

interface Control extends Scale {
  target: string;
  kind: 'feature' | 'setting';
  /** 0..15 */
  channel: number;
  cc: number;
  cc14: boolean;
}

interface KnobState {
  engaged: boolean;
  /** Value the knob last pointed at, in target units. */
  lastKnob?: number;
  msb?: number;
  lsbTimer?: Subscription;
}

type CcRole = { control: Control; role: '7bit' | 'msb' | 'lsb' } | { trigger: TriggerAction };

export class ControlMapping {
  readonly preset$: BehaviorSubject<Preset>;
  readonly issues: IssueLog;
  private readonly features: ReadonlySet<string>;
  private readonly scheduler: SchedulerLike;
  private readonly options: MappingOptions;
  private readonly values = new Map<string, number>();
  private readonly knobs = new Map<string, KnobState>();
  private byCc = new Map<string, CcRole>();
  private byNote = new Map<string, TriggerAction>();
  private controls = new Map<string, Control>();
  private learnTarget: string | null = null;
  private presetRequests = 0;
  private readonly inputSubject = new Subject<void>();
  private playing = false;
  private recording = false;
  private looping = false;

  private readonly targets = new Subject<StrengthTarget>();
  private readonly settings = new Subject<EngineCommand>();
  private readonly discrete = new Subject<EngineCommand>();
  private readonly echoes = new Subject<MidiEcho>();
  private readonly learnedSubject = new Subject<Learned>();
  private readonly armedSubject = new Subject<string | null>();
  private readonly loadedSubject = new Subject<Preset>();
  readonly echo$: Observable<MidiEcho> = this.echoes.asObservable();
  readonly learned$: Observable<Learned> = this.learnedSubject.asObservable();
  /** MIDI learn armed for a target (null: cancelled), as it happens. */
  readonly armed$: Observable<string | null> = this.armedSubject.asObservable();
  /** A preset switched to while playing (not the bindings MIDI learn adds to the live one). */
  readonly loaded$: Observable<Preset> = this.loadedSubject.asObservable();

  constructor(options: MappingOptions) {
    this.options = options;
    this.features = new Set(options.features);
    this.issues = options.issues ?? new IssueLog();
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.preset$ = new BehaviorSubject(options.preset);
    this.index(options.preset);
  }

  get preset(): Preset {
    return this.preset$.value;
  }

  /** The current value of a feature or setting (the target, before smoothing). */
  value(target: string): number | undefined {
    return this.values.get(target);
  }

  /** The engine's commands. Subscribing applies the preset's initial values; subscribe once. */
  commands(sources: { midi?: MidiStreams; events$?: Observable<ControlEvent> } = {}): Observable<EngineCommand> {
    return new Observable<EngineCommand>((subscriber) => {
      const preset = () => this.preset;
      const strengths$ = this.targets.pipe(
        smoothStrengths({
          smoothingMs: (f) => preset().features[f]?.smoothingMs ?? preset().smoothingMs,
          tickMs: this.options.tickMs,
          scheduler: this.scheduler,
        }),
        map((t): EngineCommand => ({ type: 'strength', feature: t.feature, value: t.value })),
      );
      const settings$ = this.settings.pipe(
        groupBy((c) => c.type),
        mergeMap((g) => g.pipe(throttleTime(this.options.settingsThrottleMs ?? 50, this.scheduler, { leading: true, trailing: true }))),
      );
      const subs = new Subscription();
      subs.add(merge(strengths$, settings$, this.discrete).subscribe(subscriber));
      const guard =
        <T>(what: string, fn: (x: T) => void) =>
        (x: T) => {
          try {
            fn(x);
          } catch (err) {
            this.issues.report('mapping', 'internal', `${what} could not be handled: ${(err as Error).message}`);
          }
        };
      const midi = sources.midi;
      if (midi) {
        subs.add(midi.cc$.subscribe(guard('MIDI CC', (e: CcEvent) => this.handleCc(e))));
        subs.add(midi.noteon$.subscribe(guard('MIDI note', (e: NoteEvent) => this.handleNote(e))));
        subs.add(
          midi.clock$
            .pipe(
              filter(() => this.preset.clock.followTempo),
              clockToTempo(),
            )
            .subscribe(guard('MIDI clock', (bpm: number) => this.setSetting('tempo', bpm, 'clock'))),
        );
        const transport = (type: 'play' | 'stop') => guard(`MIDI ${type}`, () => this.preset.clock.followTransport && this.transport(type));
        subs.add(midi.start$.subscribe(transport('play')));
        subs.add(midi.continue$.subscribe(transport('play')));
        subs.add(midi.stop$.subscribe(transport('stop')));
      }
      if (sources.events$) subs.add(sources.events$.subscribe(guard('control event', (e: ControlEvent) => this.handleEvent(e))));
      this.applyPresetValues();
      return () => {
        subs.unsubscribe();
        for (const k of this.knobs.values()) k.lsbTimer?.unsubscribe();
      };
    });
  }

  /** Switches to another preset: new bindings, its initial values, knobs pick up from there. */
  loadPreset(preset: Preset): void {
    this.preset$.next(preset);
    this.index(preset);
    this.applyPresetValues();
    this.loadedSubject.next(preset);
  }

  /** Arms MIDI learn for a feature or setting (null cancels). */
  learn(target: string | null): void {
    if (target !== null && !this.features.has(target) && !(SETTINGS as readonly string[]).includes(target)) {
      this.issues.report('mapping', 'unknown-target', `MIDI learn: "${target}" is neither a feature of the model (${[...this.features].join(', ')}) nor a setting (${SETTINGS.join(', ')})`);
      return;
    }
    this.learnTarget = target;
    this.armedSubject.next(target);
  }

  /** Each control input from outside (MIDI, OSC, the web page), as it is handled; the preset's own values are not inputs. */
  get input$(): Observable<void> {
    return this.inputSubject.asObservable();
  }

  get learning(): string | null {
    return this.learnTarget;
  }

  /** Play state as the engine reports it, so toggle buttons toggle the right way. */
  setTransportState(state: { playing?: boolean; recording?: boolean; looping?: boolean }): void {
    if (state.playing !== undefined) this.playing = state.playing;
    if (state.recording !== undefined) this.recording = state.recording;
    if (state.looping !== undefined) this.looping = state.looping;
  }

  /** A strength set by something other than its knob (OSC, a toggle, the web page). */
  setStrength(feature: string, value: number): void {
    if (!this.features.has(feature)) {
      this.issues.report('mapping', 'unknown-feature', `strength for "${feature}" ignored: the model's features are ${[...this.features].join(', ')}`);
      return;
    }
    this.values.set(feature, value);
    this.targets.next({ feature, value });
    this.fromElsewhere(feature, value);
  }

  private input(): void {
    this.inputSubject.next();
  }

  private handleEvent(e: ControlEvent): void {
    this.input();
    switch (e.type) {
      case 'strength':
        return this.setStrength(e.feature, e.value);
      case 'learn':
        return this.learn(e.target);
      case 'temperature':
      case 'guidance':
        return this.setSetting(e.type, e.value, 'elsewhere');
      case 'tempo':
        return this.setSetting('tempo', e.bpm, 'elsewhere');
      case 'play':
      case 'stop':
        return this.transport(e.type);
      case 'record':
        this.recording = e.on;
        return this.discrete.next(e);
      case 'preset':
        return this.switchPreset(e.name);
      default:
        this.discrete.next(e);
    }
  }

  /**
   * Loads a preset named from outside (OSC, the web page, a button). The
   * load is asynchronous, so the audio never waits for a disk; the latest
   * request wins, and a refused one (not found, too large, not a preset of
   * this model) is reported while the current preset stays.
   */
  private switchPreset(name: string): void {
    const request = ++this.presetRequests;
    const load = this.options.loadPreset ?? presetLoader({ dirs: [presetsDir()], features: [...this.features] });
    let pending: Promise<Preset>;
    try {
      pending = load(name);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (preset) => {
        if (request !== this.presetRequests) return;
        try {
          this.loadPreset(preset);
          this.discrete.next({ type: 'preset', name });
        } catch (err) {
          this.issues.report('preset', 'load-failed', `preset ${quoted(name)} could not be applied: ${(err as Error).message}`);
        }
      },
      (err: Error) => this.issues.report('preset', 'load-failed', `preset ${quoted(name)} not loaded, keeping ${quoted(this.preset.name)}: ${err.message}`),
    );
  }

  private handleCc(e: CcEvent): void {
    this.input();
    if (this.learnTarget !== null) this.bind(this.learnTarget, e.channel, e.controller);
    const role = this.byCc.get(`${e.channel}/${e.controller}`);
    if (!role) {
      this.issues.report('mapping', 'unmapped-cc', `MIDI CC ${e.controller} on channel ${e.channel + 1} is not mapped in preset "${this.preset.name}" (send /smitin/learn NAME, then move it, to bind it)`);
      return;
    }
    if ('trigger' in role) {
      // momentary buttons send 127 on press and 0 on release: act on the press
      if (e.value >= 64) this.fire(role.trigger);
      return;
    }
    const { control } = role;
    const knob = this.knob(control.target);
    if (role.role === '7bit') return this.applyKnob(control, e.value / 127);
    if (role.role === 'msb') {
      // MIDI: a new MSB resets the LSB; wait briefly for the LSB that normally follows, so the value does not dip
      knob.msb = e.value;
      knob.lsbTimer?.unsubscribe();
      knob.lsbTimer = this.scheduler.schedule(() => {
        knob.lsbTimer = undefined;
        this.applyKnob(control, (e.value * 128) / 16383);
      }, this.options.lsbWaitMs ?? 3);
      return;
    }
    knob.lsbTimer?.unsubscribe();
    knob.lsbTimer = undefined;
    this.applyKnob(control, ((knob.msb ?? 0) * 128 + e.value) / 16383);
  }

  private handleNote(e: NoteEvent): void {
    this.input();
    if (e.velocity === 0) return; // note-on with velocity 0 is a note-off
    const action = this.byNote.get(`${e.channel}/${e.note}`);
    if (action) this.fire(action);
  }

  private fire(action: TriggerAction): void {
    if (action === 'play' || action === 'stop') return this.transport(action);
    if (action === 'toggle-play') return this.transport(this.playing ? 'stop' : 'play');
    if (action === 'record-toggle') {
      this.recording = !this.recording;
      return this.discrete.next({ type: 'record', on: this.recording });
    }
    if ('learn' in action) return this.learn(action.learn);
    if ('loop' in action) {
      this.looping = !this.looping;
      return this.discrete.next({ type: 'loop', bars: this.looping ? action.loop : 0 });
    }
    const f = action.toggle;
    const current = this.values.get(f) ?? 0;
    this.setStrength(f, current !== 0 ? 0 : (action.value ?? this.preset.features[f]?.max ?? 1));
  }

  private transport(type: 'play' | 'stop'): void {
    this.playing = type === 'play';
    this.discrete.next({ type });
  }

  private applyKnob(control: Control, position: number): void {
    const value = knobToValue(position, control);
    const knob = this.knob(control.target);
    const previous = knob.lastKnob;
    knob.lastKnob = value;
    if (this.preset.pickup && !knob.engaged) {
      const current = this.values.get(control.target);
      const tolerance = PICKUP_TOLERANCE_STEPS * (control.max - control.min);
      const crossed = current === undefined || (previous !== undefined && (previous - current) * (value - current) <= 0);
      if (!crossed && Math.abs(value - current!) > tolerance) {
        this.issues.report('mapping', 'pickup-waiting', `knob for ${control.target} (CC ${control.cc}) waits to pick up: turn it past the current value ${current!.toFixed(2)}`);
        return;
      }
    }
    knob.engaged = true;
    this.values.set(control.target, value);
    if (control.kind === 'feature') this.targets.next({ feature: control.target, value });
    else this.settings.next(settingCommand(control.target as SettingName, value));
  }

  private setSetting(name: SettingName, value: number, from: 'clock' | 'elsewhere'): void {
    this.values.set(name, value);
    const command = settingCommand(name, value);
    if (from === 'clock') this.discrete.next(command);
    else this.settings.next(command);
    this.fromElsewhere(name, value);
  }

  /** A value changed without its knob: the knob must pick up again, unless the echo puts the controller there. */
  private fromElsewhere(target: string, value: number): void {
    const knob = this.knobs.get(target);
    if (knob) knob.engaged = false;
    this.echo(target, value);
  }

  private echo(target: string, value: number): void {
    const control = this.controls.get(target);
    if (!this.preset.echo || !control) return;
    const position = valueToKnob(value, control);
    if (control.cc14) {
      const v14 = Math.round(position * 16383);
      this.echoes.next({ channel: control.channel, cc: control.cc, value: v14 >> 7 });
      this.echoes.next({ channel: control.channel, cc: control.cc + 32, value: v14 & 127 });
    } else {
      this.echoes.next({ channel: control.channel, cc: control.cc, value: Math.round(position * 127) });
    }
    // the controller now shows the value, so its knob starts from there
    const knob = this.knob(target);
    knob.lastKnob = value;
    knob.engaged = true;
  }

  private applyPresetValues(): void {
    const preset = this.preset;
    for (const [name, f] of Object.entries(preset.features)) {
      if (!this.features.has(name)) continue;
      this.values.set(name, f.initial);
      this.targets.next({ feature: name, value: f.initial });
      this.fromElsewhere(name, f.initial);
    }
    for (const name of SETTINGS) {
      const initial = preset.settings[name]?.initial;
      if (initial !== undefined) this.setSetting(name, initial, 'elsewhere');
    }
    // any knob not re-engaged by an echo waits to pick up
    for (const [target, knob] of this.knobs) if (!(this.preset.echo && this.controls.has(target))) knob.engaged = false;
  }

  private knob(target: string): KnobState {
    let k = this.knobs.get(target);
    if (!k) this.knobs.set(target, (k = { engaged: false }));
    return k;
  }

  /** Binds `target` to a CC in the live preset (MIDI learn); the CC's previous use is removed. */
  private bind(target: string, channel: number, cc: number): void {
    this.learnTarget = null;
    const old = this.preset;
    const ch = channel + 1;
    const frees = (c: { cc?: number; channel?: number; cc14: boolean }) =>
      c.cc !== undefined && (c.channel ?? old.channel) === ch && (c.cc === cc || (c.cc14 && c.cc + 32 === cc));
    const features = Object.fromEntries(Object.entries(old.features).map(([n, f]) => [n, frees(f) ? { ...f, cc: undefined } : f]));
    const settings = Object.fromEntries(Object.entries(old.settings).map(([n, s]) => [n, s && frees(s) ? { ...s, cc: undefined } : s])) as Preset['settings'];
    const triggers = old.triggers.filter((t) => !(t.cc === cc && (t.channel ?? old.channel) === ch));
    const binding = { cc, channel: ch, cc14: false };
    if (this.features.has(target)) {
      const existing = features[target] as FeaturePreset | undefined;
      features[target] = existing ? { ...existing, ...binding } : { curve: 'linear', ...KNOB_DEFAULT_RANGES.strength, initial: 0, ...binding };
    } else {
      const name = target as SettingName;
      const existing = settings[name];
      settings[name] = existing ? { ...existing, ...binding } : { curve: 'linear', ...KNOB_DEFAULT_RANGES[name], ...binding };
    }
    const next: Preset = { ...old, features, settings, triggers };
    this.preset$.next(next);
    this.index(next);
    this.knob(target).engaged = false;
    this.learnedSubject.next({ target, channel: ch, cc });
  }

  /** Lookup tables from the preset: CC/note -> what it does. */
  private index(preset: Preset): void {
    const byCc = new Map<string, CcRole>();
    const byNote = new Map<string, TriggerAction>();
    const controls = new Map<string, Control>();
    const add = (target: string, kind: Control['kind'], c: { cc?: number; channel?: number; cc14: boolean; min: number; max: number; curve: Scale['curve'] }) => {
      if (c.cc === undefined) return;
      const control: Control = { target, kind, channel: (c.channel ?? preset.channel) - 1, cc: c.cc, cc14: c.cc14, min: c.min, max: c.max, curve: c.curve };
      controls.set(target, control);
      byCc.set(`${control.channel}/${c.cc}`, { control, role: c.cc14 ? 'msb' : '7bit' });
      if (c.cc14) byCc.set(`${control.channel}/${c.cc + 32}`, { control, role: 'lsb' });
    };
    for (const [name, f] of Object.entries(preset.features)) {
      if (this.features.has(name)) add(name, 'feature', f);
      else this.issues.report('mapping', 'unknown-feature', `preset "${preset.name}": features.${name} is not a feature of this model (${[...this.features].join(', ')}); ignored`);
    }
    for (const name of SETTINGS) {
      const s = preset.settings[name];
      if (s) add(name, 'setting', s);
    }
    for (const t of preset.triggers) {
      const ch = (t.channel ?? preset.channel) - 1;
      if (t.cc !== undefined) byCc.set(`${ch}/${t.cc}`, { trigger: t.action });
      if (t.note !== undefined) byNote.set(`${ch}/${t.note}`, t.action);
    }
    this.byCc = byCc;
    this.byNote = byNote;
    this.controls = controls;
  }
}

function settingCommand(name: SettingName, value: number): EngineCommand {
  return name === 'tempo' ? { type: 'tempo', bpm: value } : { type: name, value };
}
