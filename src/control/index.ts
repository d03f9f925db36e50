/**
 * Wiring for the live CLI: OSC in, MIDI in/out and a preset, turned into one
 * stream of engine commands, a stream of issues and the value echo.
 *
 *   OSC (UDP) -> osc-source ─┐
 *   web surface (WebSocket) ──┴-> osc-intake -> osc-namespace ─┐
 *   MIDI in (easymidi) ────────────────────────────────────────┼-> mapping (preset) -> commands$ -> engine
 *                                                              └-> echo$ -> MIDI out (LED rings)
 *
 * A source that cannot start (OSC port taken, no MIDI subsystem, a port
 * that does not exist) is reported on issues$ and left out: the rest works.
 */
import { NEVER, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { EngineCommand } from '../protocol.js';
import { IssueLog, type ControlIssue } from './issues.js';
import { ControlMapping, type MidiEcho } from './mapping.js';
import { openMidiInput, openMidiOutput, type MidiFactory, type MidiInput, type MidiOutput } from './midi-source.js';
import { OscNamespace, oscToControl } from './osc-namespace.js';
import { openOscIntake, type OscIntake } from './osc-intake.js';
import { openOscSource, type OscSource, type OscSourceOptions } from './osc-source.js';
import type { Preset } from './presets.js';

export interface ControlOptions {
  preset: Preset;
  /** The model's feature names. */
  features: readonly string[];
  /** OSC over UDP; the model's features, the IssueLog and the intake are filled in here. */
  osc?: Omit<OscSourceOptions, 'issues' | 'features' | 'intake'>;
  /** `clock: false`: MIDI clock, start, stop and song position belong to the sync follower (--sync midi, src/sync/), not the preset. */
  midi?: { input?: string; output?: string; factory?: MidiFactory; watchMs?: number; clock?: boolean };
  issues?: IssueLog;
  scheduler?: SchedulerLike;
  /** Loads a preset named by /smitin/preset: a name, never a path (default: presets/ by name). */
  loadPreset?: (name: string) => Promise<Preset>;
}

export interface Control {
  /** Engine commands; subscribing applies the preset's initial values. Subscribe once. */
  commands$: Observable<EngineCommand>;
  /** The first issue of each kind (replayed to late subscribers). */
  issues$: Observable<ControlIssue>;
  /** CCs sent back to the controller (already wired to the MIDI output when one is open). */
  echo$: Observable<MidiEcho>;
  mapping: ControlMapping;
  issues: IssueLog;
  /** Where OSC listens, once bound (undefined without OSC; rejects when the port cannot be bound). */
  oscReady?: Promise<{ host: string; port: number; recvBufferBytes: number }>;
  /** The OSC source (null without OSC), for its stats(): packets, coalesced, dropped, receive buffer. */
  osc: OscSource | null;
  /** Where OSC packets enter, from UDP and from the web surface alike: one set of flood rules. */
  intake: OscIntake;
  midiInput: MidiInput | null;
  midiOutput: MidiOutput | null;
  dispose(): Promise<void>;
}

export function controlCommands(options: ControlOptions): Control {
  const issues = options.issues ?? new IssueLog();
  const mapping = new ControlMapping({ preset: options.preset, features: options.features, issues, scheduler: options.scheduler, loadPreset: options.loadPreset });

  const intake = openOscIntake({ ...options.osc, features: options.features, issues });
  let osc: OscSource | null = null;
  if (options.osc) osc = openOscSource({ ...options.osc, intake });
  const namespace = new OscNamespace({ features: options.features, issues });

  let midiInput: MidiInput | null = null;
  if (options.midi?.input) {
    try {
      midiInput = openMidiInput(options.midi.input, { factory: options.midi.factory, issues, watchMs: options.midi.watchMs, scheduler: options.scheduler });
    } catch (err) {
      issues.report('midi', 'open-failed', (err as Error).message);
    }
  }
  let midiOutput: MidiOutput | null = null;
  let echoSub: Subscription | null = null;
  if (options.midi?.output) {
    try {
      const out = openMidiOutput(options.midi.output, { factory: options.midi.factory, issues });
      midiOutput = out;
      echoSub = mapping.echo$.subscribe((e) => out.sendCc(e.channel, e.cc, e.value));
    } catch (err) {
      issues.report('midi', 'open-failed', (err as Error).message);
    }
  }

  const clockless = midiInput && options.midi?.clock === false ? { ...midiInput, clock$: NEVER, start$: NEVER, stop$: NEVER, continue$: NEVER } : null;
  const commands$ = mapping.commands({
    midi: clockless ?? midiInput ?? undefined,
    events$: intake.messages$.pipe(oscToControl(namespace)),
  });

  return {
    commands$,
    issues$: issues.issues$,
    echo$: mapping.echo$,
    mapping,
    issues,
    oscReady: osc?.ready,
    osc,
    intake,
    midiInput,
    midiOutput,
    dispose: async () => {
      echoSub?.unsubscribe();
      midiInput?.close();
      midiOutput?.close();
      await osc?.close();
      intake.close();
    },
  };
}

export { IssueLog, type ControlIssue } from './issues.js';
export { ControlMapping, type MidiEcho } from './mapping.js';
export { loadPreset, listPresets, readPreset, parsePreset, type Preset } from './presets.js';
export { TelemetryOut } from './telemetry-out.js';
export { renderOscTable, OSC_INPUTS, OSC_OUTPUTS } from './osc-namespace.js';
