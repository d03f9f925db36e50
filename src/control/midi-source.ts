/**
 * MIDI in and out through easymidi, behind a small factory so tests (and
 * machines without a MIDI subsystem) work at the easymidi boundary.
 *
 * What can go wrong, and what happens instead of a crash:
 * - the port does not exist, or RtMidi cannot initialise (no ALSA sequencer):
 *   openMidiInput throws a MidiError naming the port and the ports there are;
 *   the caller reports it and runs without MIDI;
 * - easymidi 3.2.0 finishes a multi-chunk SysEx with `sysex = []`, an
 *   undeclared variable, inside RtMidi's message callback (strict mode, a
 *   class body): a ReferenceError that would kill the process. The
 *   callback is wrapped; the SysEx state is reset and the event counted;
 * - the port vanishes (cable pulled): noticed by polling the port list,
 *   reported, and reopened when it comes back;
 * - a malformed event from a driver or a fake: counted and dropped.
 */
import { createRequire } from 'node:module';
import { asyncScheduler, BehaviorSubject, interval, Observable, Subject, type SchedulerLike, type Subscription } from 'rxjs';
import { UsageError } from '../util/errors.js';
import { IssueLog } from './issues.js';

/** Channels here are 0..15, as easymidi and the wire have them. */
export interface CcEvent {
  channel: number;
  controller: number;
  value: number;
}
export interface NoteEvent {
  channel: number;
  note: number;
  velocity: number;
}

/** The part of an easymidi Input this module uses: an EventEmitter of easymidi-shaped objects. */
export interface MidiInputPort {
  on(event: string, listener: (msg: unknown) => void): unknown;
  removeAllListeners(event?: string): unknown;
  close(): void;
}
export interface MidiOutputPort {
  send(type: 'cc', msg: { controller: number; value: number; channel: number }): void;
  send(type: 'noteon' | 'noteoff', msg: { note: number; velocity: number; channel: number }): void;
  close(): void;
}
export interface MidiFactory {
  input(name: string): MidiInputPort;
  output(name: string): MidiOutputPort;
  inputs(): string[];
  outputs(): string[];
}

interface EasyMidiModule {
  Input: new (name: string, virtual?: boolean) => MidiInputPort;
  Output: new (name: string, virtual?: boolean) => MidiOutputPort;
  getInputs(): string[];
  getOutputs(): string[];
}

/** The real thing; easymidi is loaded on first use so a machine without MIDI never touches RtMidi. */
export function easymidiFactory(load: () => EasyMidiModule = () => createRequire(import.meta.url)('easymidi') as EasyMidiModule): MidiFactory {
  return {
    input: (name) => new (load().Input)(name),
    output: (name) => new (load().Output)(name),
    inputs: () => load().getInputs(),
    outputs: () => load().getOutputs(),
  };
}

export class MidiError extends UsageError {
  override name = 'MidiError';
}

export interface MidiInput {
  readonly name: string;
  readonly cc$: Observable<CcEvent>;
  readonly noteon$: Observable<NoteEvent>;
  readonly noteoff$: Observable<NoteEvent>;
  /** Clock pulses (24 per quarter note), as arrival times in ms. */
  readonly clock$: Observable<number>;
  readonly start$: Observable<void>;
  readonly stop$: Observable<void>;
  readonly continue$: Observable<void>;
  /** Song position pointer: MIDI beats (16th notes) from the song's start, 0..16383. */
  readonly position$: Observable<number>;
  /** false while the port is gone. */
  readonly connected$: Observable<boolean>;
  close(): void;
}

export interface MidiInputOptions {
  factory?: MidiFactory;
  issues?: IssueLog;
  /** Arrival clock for MIDI clock pulses, ms. */
  now?: () => number;
  /** How often to check that the port is still there, ms. */
  watchMs?: number;
  scheduler?: SchedulerLike;
}

export const DEFAULT_MIDI_WATCH_MS = 2000;

export function openMidiInput(name: string, options: MidiInputOptions = {}): MidiInput {
  const factory = options.factory ?? easymidiFactory();
  const issues = options.issues ?? new IssueLog();
  const now = options.now ?? (() => performance.now());
  const cc$ = new Subject<CcEvent>();
  const noteon$ = new Subject<NoteEvent>();
  const noteoff$ = new Subject<NoteEvent>();
  const clock$ = new Subject<number>();
  const start$ = new Subject<void>();
  const stop$ = new Subject<void>();
  const continue$ = new Subject<void>();
  const position$ = new Subject<number>();
  const connected$ = new BehaviorSubject<boolean>(false);

  const bad = (type: string, msg: unknown) =>
    issues.report('midi', 'bad-message', `MIDI ${name}: ignored a malformed ${type} event ${safeJson(msg)}; expected channel 0..15 and data bytes 0..127`);

  const attach = (port: MidiInputPort) => {
    guardEasymidiSysex(port, name, issues);
    port.on('cc', (m) => {
      const e = (m ?? {}) as Partial<CcEvent>;
      if (isChannel(e.channel) && isByte(e.controller) && isByte(e.value)) cc$.next({ channel: e.channel, controller: e.controller, value: e.value });
      else bad('cc', m);
    });
    for (const [type, subject] of [
      ['noteon', noteon$],
      ['noteoff', noteoff$],
    ] as const) {
      port.on(type, (m) => {
        const e = (m ?? {}) as Partial<NoteEvent>;
        if (isChannel(e.channel) && isByte(e.note) && isByte(e.velocity)) subject.next({ channel: e.channel, note: e.note, velocity: e.velocity });
        else bad(type, m);
      });
    }
    port.on('clock', () => clock$.next(now()));
    port.on('start', () => start$.next());
    port.on('stop', () => stop$.next());
    port.on('continue', () => continue$.next());
    port.on('position', (m) => {
      const v = (m as { value?: unknown } | null)?.value;
      if (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 16383) position$.next(v as number);
      else issues.report('midi', 'bad-message', `MIDI ${name}: ignored a malformed song position ${safeJson(m)}; expected a value 0..16383`);
    });
  };

  let port: MidiInputPort | null = openPort(factory, name);
  attach(port);
  connected$.next(true);

  // RtMidi has no disconnect event: poll the port list, reopen when it is back.
  const watch: Subscription = interval(options.watchMs ?? DEFAULT_MIDI_WATCH_MS, options.scheduler ?? asyncScheduler).subscribe(() => {
    let present: boolean;
    try {
      present = factory.inputs().includes(name);
    } catch {
      present = false;
    }
    if (!present && port) {
      issues.report('midi', 'port-vanished', `MIDI input "${name}" disappeared (unplugged?); MIDI control is off until it is back`);
      closeQuietly(port);
      port = null;
      connected$.next(false);
    } else if (present && !port) {
      try {
        port = openPort(factory, name);
        attach(port);
        connected$.next(true);
        issues.report('midi', 'port-returned', `MIDI input "${name}" is back; MIDI control resumed`);
      } catch (err) {
        issues.report('midi', 'reopen-failed', `MIDI input "${name}" is listed again but could not be reopened: ${(err as Error).message}`);
      }
    }
  });

  return {
    name,
    cc$: cc$.asObservable(),
    noteon$: noteon$.asObservable(),
    noteoff$: noteoff$.asObservable(),
    clock$: clock$.asObservable(),
    start$: start$.asObservable(),
    stop$: stop$.asObservable(),
    continue$: continue$.asObservable(),
    position$: position$.asObservable(),
    connected$: connected$.asObservable(),
    close: () => {
      watch.unsubscribe();
      if (port) closeQuietly(port);
      port = null;
      for (const s of [cc$, noteon$, noteoff$, clock$, start$, stop$, continue$, position$]) (s as Subject<unknown>).complete();
      connected$.complete();
    },
  };
}

export interface MidiOutput {
  readonly name: string;
  sendCc(channel: number, controller: number, value: number): void;
  /** A note-on (velocity 1..127) or note-off (velocity 0). */
  sendNote(channel: number, note: number, velocity: number): void;
  close(): void;
}

/** MIDI out for value echo and the band's notes; a failed send is counted, never thrown. */
export function openMidiOutput(name: string, options: { factory?: MidiFactory; issues?: IssueLog } = {}): MidiOutput {
  const factory = options.factory ?? easymidiFactory();
  const issues = options.issues ?? new IssueLog();
  let port: MidiOutputPort;
  try {
    port = factory.output(name);
  } catch (err) {
    throw new MidiError(explainOpenFailure('output', name, err, () => factory.outputs()));
  }
  return {
    name,
    sendCc: (channel, controller, value) => {
      try {
        port.send('cc', { channel, controller, value });
      } catch (err) {
        issues.report('midi', 'send-failed', `MIDI output "${name}": sending CC ${controller} on channel ${channel + 1} failed: ${(err as Error).message}`);
      }
    },
    sendNote: (channel, note, velocity) => {
      try {
        port.send(velocity > 0 ? 'noteon' : 'noteoff', { channel, note, velocity });
      } catch (err) {
        issues.report('midi', 'send-failed', `MIDI output "${name}": sending note ${note} on channel ${channel + 1} failed: ${(err as Error).message}`);
      }
    },
    close: () => closeQuietly(port),
  };
}

function openPort(factory: MidiFactory, name: string): MidiInputPort {
  try {
    return factory.input(name);
  } catch (err) {
    throw new MidiError(explainOpenFailure('input', name, err, () => factory.inputs()));
  }
}

function explainOpenFailure(kind: 'input' | 'output', name: string, err: unknown, list: () => string[]): string {
  const reason = (err as Error).message;
  if (/RtMidi/i.test(reason)) {
    return `MIDI ${kind} "${name}" cannot be opened: no MIDI subsystem (${reason}; on Linux the ALSA sequencer /dev/snd/seq is missing). Running without MIDI.`;
  }
  let available: string;
  try {
    const ports = list();
    available = ports.length ? ports.map((p) => JSON.stringify(p)).join(', ') : 'none';
  } catch (listErr) {
    available = `unknown (${(listErr as Error).message})`;
  }
  return `MIDI ${kind} "${name}" cannot be opened (${reason}); available ${kind}s: ${available}`;
}

/**
 * Wraps easymidi's RtMidi message listener so its multi-chunk SysEx bug (and
 * any other throw in there) cannot escape into the native callback. Ports
 * without easymidi's internals (fakes, other libraries) are left as they are.
 */
export function guardEasymidiSysex(port: MidiInputPort, name: string, issues: IssueLog): void {
  const internals = port as unknown as {
    _input?: { listeners(e: string): ((...a: unknown[]) => void)[]; removeAllListeners(e: string): void; on(e: string, f: (...a: unknown[]) => void): void };
    _pendingSysex?: boolean;
    _sysex?: number[];
  };
  const rt = internals._input;
  if (!rt || typeof rt.listeners !== 'function') return;
  const listeners = rt.listeners('message');
  rt.removeAllListeners('message');
  for (const listener of listeners) {
    rt.on('message', (...args: unknown[]) => {
      try {
        listener(...args);
      } catch (err) {
        internals._pendingSysex = false;
        internals._sysex = [];
        issues.report('midi', 'easymidi-throw', `MIDI input "${name}": easymidi threw on an incoming message (${(err as Error).message}; a known easymidi 3.2.0 bug with SysEx in several chunks); message dropped, input still open`);
      }
    });
  }
}

function closeQuietly(port: { close(): void }): void {
  try {
    port.close();
  } catch {
    // a vanished port may fail to close; it is gone either way
  }
}

function isByte(x: unknown): x is number {
  return Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 127;
}
function isChannel(x: unknown): x is number {
  return Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 15;
}
function safeJson(x: unknown): string {
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
}
