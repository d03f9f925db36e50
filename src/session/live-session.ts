/**
 * The live session: the product's centre. It owns the engine, the control
 * inputs (MIDI, OSC), the audio output, recording, telemetry fan-out,
 * the preset's steering settings and the shutdown order. `smitin live`
 * only checks the command line (cli/live-plan.ts) and starts one.
 *
 * The parts open in the order that lets each be closed: the OSC socket (a
 * port in use is still the user's to fix: UsageError, before any audio),
 * the output, the engine, the takes. From then on nothing a control
 * message, a file or the disk does stops the music. stop() stops the
 * output pulling first, so the takes hold everything that played, then
 * closes the rest in reverse order of opening; a failed start closes what
 * it had opened before it throws.
 */
import { filter, first, map, share, Subject, type Observable, type Subscription } from 'rxjs';
import { ChannelCountError, openDefaultOutput, openNullOutput, type AudioOutput } from '../audio/output.js';
import { describeChannels, outputChannels, STEM_NAMES, type OutputMode } from '../audio/outputs.js';
import { PeakMeter } from '../audio/peak-meter.js';
import { Takes, type RecordFormat, type TakeRecord } from '../audio/takes.js';
import { controlCommands, type Control } from '../control/index.js';
import { describeBindings, listPresets, presetLoader, type Preset } from '../control/presets.js';
import { stateBundle, TelemetryOut } from '../control/telemetry-out.js';
import { nowMs } from '../engine/control-block.js';
import { LiveEngine, type LiveEngineOptions } from '../engine/live-engine.js';
import type { EngineCommand, LoopBars, Quantize, SessionState, Telemetry } from '../protocol.js';
import { defaultAlpha, DEFAULT_STEERING, type SteeringSettings } from '../smitin/steerer.js';
import { UsageError } from '../util/errors.js';
import { percentile } from '../util/percentile.js';
import { Closers } from './closers.js';
import { EffectWatch } from './time-to-effect.js';
import { openBandNotes, type BandNotes, type BandNotesConfig } from '../notes/band-notes.js';
import { saveLearnedPreset } from './learned-preset.js';
import { keepUpGate } from './keep-up-gate.js';
import type { KeepUpReport } from '../engine/keep-up-context.js';
import { printable, quoted } from '../util/printable.js';
import { isLoopback } from '../web/access.js';
import { openWebSurface, WEB_SENDER_PREFIX, type WebSurface } from '../web/web-surface.js';
import type { PromptTokenizer } from '../model/musicgen/tokenizer.js';
import { openAbletonOscSource } from '../sync/abletonosc-source.js';
import { openLinkSource } from '../sync/link-source.js';
import { openSync } from '../sync/open-sync.js';
import type { TimeFollower } from '../sync/follow-time.js';
import type { SyncSource } from '../sync/time-source.js';

/** Everything a session needs, already checked (cli/live-plan.ts checks the command line into this). */
export interface LiveSessionConfig {
  modelDir: string;
  /** Which model files and where they run (--dtype, --ep, --threads). */
  load: Pick<LiveEngineOptions, 'dtype' | 'ep' | 'threads'>;
  /** Sampling from the command line: temperature and guidance are where their controls start; left out, the model's own. */
  sampling: Pick<LiveEngineOptions, 'temperature' | 'guidance' | 'topK' | 'topP'>;
  /** Play even when the check at start finds that this machine cannot keep up. */
  force: boolean;
  /** The model's prompt tokenizer: which words of a prompt it knows. */
  tokenizer: PromptTokenizer;
  /** null: play without steering. */
  probesFile: string | null;
  /** The model's own steering choices (its steering.json). */
  steering: Partial<SteeringSettings>;
  /** The probe set's features (empty without steering). */
  features: string[];
  preset: Preset;
  /** Where /smitin/preset looks up names: the user's folder first, then the shipped presets. */
  presetDirs: string[];
  /** OSC input, or null for none. */
  osc: { host: string; port: number } | null;
  /** Telemetry targets beyond the preset's ("host:port"). */
  oscTargets: string[];
  /** The web surface, or null for none; a token is required from every client when set (a surface beyond loopback). */
  web: { host: string; port: number; token: string | null } | null;
  midi: { input?: string; output?: string };
  output: { device?: string; sampleRate: number; bufferFrames: number; /** Play on the real-time null sink, for this reason. */ nullSinkReason: string | null; /** mix (default), or the mix and each instrument on its own pair (docs/stems.md). */ outputs?: OutputMode };
  latencyMs: number;
  prompt: string;
  tempo: number;
  seed: number;
  /** Starting strengths. */
  steer: Record<string, number>;
  /** Where control changes land: the next frame, or the next beat or bar line of the music. */
  quantize: Quantize;
  /** The loop button's length in bars (the web page's; a preset's buttons name their own). */
  loopBars: LoopBars;
  /** Whose tempo, transport and phase the session follows (src/sync/): 'off' keeps its own. */
  sync: SyncSource;
  /** --sync link: follow the Link session's start/stop as well (its start/stop sync). */
  linkStartStop?: boolean;
  /** Tell when each knob move is heard (the status view's "drums in after 1.5 beats"): tinyband, whose tokens say what plays. */
  watchEffects: boolean;
  recording: { /** The session take: the whole performance. */ record?: string; takes: string; overwrite: boolean; format: RecordFormat };
  /** The band's notes as MIDI (tinyband only): to a port, into a file of the session; null for neither. */
  notes?: BandNotesConfig | null;
}

/** The longest a start waits for the ring to fill before the device pulls (a model that cannot fill it is refused or forced by then). */
const START_FILL_WAIT_MS = 5000;

/** Resolves once the engine's ring holds `targetMs` (the worker fills to it), or after `maxMs`. */
async function ringFilled(engine: LiveEngine, targetMs: number, maxMs: number): Promise<void> {
  const until = performance.now() + maxMs;
  // the ring fills in whole frames: within one sample of the target counts
  while (engine.output.ringMs() < targetMs - 1 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
}

/** Commands kept while the engine starts (a few seconds of knob moves; the oldest go first). */
const EARLY_COMMANDS_MAX = 1000;

/** What a session did, from start to stop: the stage figures. */
export type LiveFigures = ReturnType<typeof summary> & { osc: unknown; rssMb: { start: number; peak: number; end: number }; heapMb: number; /** The keep-up check at start, with its verdict (null: none ran). */ check: unknown };

export class LiveSession {
  private readonly subs: Subscription[] = [];
  private last: Telemetry | null = null;
  private started = 0;
  private stopped: Promise<LiveFigures> | null = null;
  /** Bindings made by MIDI learn this session. */
  private learned = 0;
  private readonly rss = { start: process.memoryUsage.rss(), peak: 0, end: 0 };
  /** The web surface, once it listens (null: --no-web). */
  web: WebSurface | null = null;
  /** The band's notes as MIDI (null: neither --midi-notes-out nor --record-midi). */
  private notes: BandNotes | null = null;
  /** When each knob move is heard (null: not a tinyband model). */
  private readonly effects: EffectWatch | null;
  /** Telemetry with the session's own parts filled in (take, issues, measured control latency). */
  readonly telemetry$: Observable<Telemetry>;

  private constructor(
    private readonly say: (message: string) => void,
    private readonly closers: Closers,
    readonly control: Control,
    readonly output: AudioOutput,
    readonly engine: LiveEngine,
    private readonly session: Takes | null,
    private readonly takes: Takes,
    tokenizer: PromptTokenizer,
    private readonly takesDir: string,
    meter: PeakMeter,
    watchEffects: boolean,
    /** The keep-up check at start (null: none ran). */
    private readonly keepUp: KeepUpReport | null,
  ) {
    const { verdict } = keepUp ?? {};
    const deficit = verdict && !verdict.keepsUp ? { multiple: verdict.multiple, gapMs: verdict.gapMs, latencyMs: verdict.latencyMs, reason: verdict.reason } : null;
    this.effects = watchEffects ? new EffectWatch() : null;
    const effects = this.effects;
    if (effects) this.subs.push(engine.tokens$.subscribe((f) => effects.frame(f)));
    let unknown = { prompt: '', words: [] as string[] };
    // one map per report, whoever listens: the meter's reading starts a new period
    this.telemetry$ = engine.telemetry$.pipe(
      filter((t): t is Telemetry => t !== null),
      map((t): Telemetry => {
        const measured = engine.output.latencies;
        const take = takes.status() ?? session?.status() ?? null;
        if (t.prompt !== unknown.prompt) unknown = { prompt: t.prompt, words: tokenizer.encode(t.prompt).unknown };
        effects?.update(engine.output.readPosition(), (engine.output.sampleRate * 60) / t.tempo);
        return {
          ...t,
          controlLatencyMs: measured.length ? measured[measured.length - 1] : NaN,
          recording: take !== null,
          take,
          issues: control.issues.snapshot(),
          unknownWords: unknown.words,
          preset: control.mapping.preset.name,
          peakDbfs: meter.readDbfs(),
          ...(effects ? { effects: structuredClone(effects.effects) } : {}),
          ...(deficit ? { deficit } : {}),
        };
      }),
      share(),
    );
  }

  /**
   * Opens every part and starts the music. `say` receives the notes a
   * performer should read (where OSC listens, which device plays, problems);
   * a start-up mistake of the user's (an OSC port in use, a device that will
   * not open) is a UsageError, thrown after closing what was opened.
   */
  static async start(config: LiveSessionConfig, say: (message: string) => void): Promise<LiveSession> {
    const closers = new Closers();
    try {
      return await LiveSession.open(config, say, closers);
    } catch (err) {
      await closers.closeAll(say);
      throw err;
    }
  }

  private static async open(config: LiveSessionConfig, say: (message: string) => void, closers: Closers): Promise<LiveSession> {
    const control = controlCommands({
      preset: config.preset,
      features: config.features,
      osc: config.osc ?? undefined,
      // --sync midi: the clock and start/stop are the sync follower's, not the preset's
      midi: { ...config.midi, clock: config.sync !== 'midi' },
      loadPreset: presetLoader({ dirs: config.presetDirs, features: config.features }),
    });
    closers.add('control', () => control.dispose());
    // A knob turned while the model loads still counts: commands are taken from the moment the socket is open and
    // queued (bounded) until the engine is there to apply them.
    const early: EngineCommand[] = [];
    let deliver = (cmd: EngineCommand) => {
      if (early.length >= EARLY_COMMANDS_MAX) early.shift();
      early.push(cmd);
    };
    const earlySub = control.commands$.subscribe((cmd) => deliver(cmd));
    closers.add('control subscription', () => earlySub.unsubscribe());
    if (control.oscReady) {
      // a port in use is a start-up mistake like a bad path: said once, exit 2, before any audio
      const where = await control.oscReady.catch((err: Error) => {
        throw new UsageError(err.message);
      });
      const scope = where.host === '127.0.0.1' ? 'this machine only; --osc-host 0.0.0.0 lets the LAN in' : 'open to the network';
      const buffer = where.recvBufferBytes ? `, ${(where.recvBufferBytes / 2 ** 20).toFixed(1)} MiB receive buffer` : '';
      say(`OSC: listening on ${where.host}:${where.port} (${scope}${buffer}; /smitin/feature/<name> f, /smitin/prompt s, ... see docs/control.md)`);
    }

    // the page is there before the music: a port in use is still the user's to fix, before any audio
    const presetNames = listPresets(config.presetDirs);
    const state = (): SessionState => ({ features: config.features, knownWords: config.tokenizer.words ?? null, presetNames, learning: control.mapping.learning, loopBars: config.loopBars });
    let web: WebSurface | null = null;
    const webTelemetry = new Subject<Telemetry>();
    if (config.web) {
      web = await openWebSurface({
        ...config.web,
        intake: control.intake,
        issues: control.issues,
        state,
        telemetry$: webTelemetry,
        hz: config.preset.osc.telemetryHz,
      }).catch((err: Error) => {
        throw new UsageError(err.message);
      });
      const opened = web;
      closers.add('web surface', () => opened.close());
      const scope = isLoopback(config.web.host) ? 'this machine only; --web-host 0.0.0.0 opens it to the LAN, with a token' : 'open to the network: only with the token in this URL';
      say(`web: open ${web.urls.join(' or ')} (${scope})`);
    }

    // the model loads and is timed before the audio device opens: a model this machine cannot play is refused here
    const engine = await LiveEngine.load({ ...engineOptions(config), check: 'quick' });
    closers.add('engine', () => engine.close());
    const keepUp = keepUpGate(engine, engine.spec, config, say);

    const { output: out } = config;
    const mode = out.outputs ?? 'mix';
    const channels = outputChannels(mode);
    const outputOptions = { device: out.device, sampleRate: out.sampleRate, bufferFrames: out.bufferFrames, channels, onError: (e: Error) => say(`audio: ${e.message}`) };
    let output: AudioOutput;
    if (out.nullSinkReason) {
      output = openNullOutput(outputOptions);
      say(`audio: ${out.nullSinkReason}`);
    } else {
      let opened: ReturnType<typeof openDefaultOutput>;
      try {
        opened = openDefaultOutput(outputOptions);
      } catch (err) {
        // the device was listed a moment ago but will not open at these settings: still the user's to fix
        if (err instanceof ChannelCountError) throw new UsageError(`--outputs ${mode}: ${printable(err.message, 200)} (${describeChannels(mode)}); choose a device with ${channels} or more, or --outputs mix`);
        throw new UsageError(`--device: ${(err as Error).message}`);
      }
      output = opened.output;
      say(`audio: ${opened.reason}`);
    }
    if (mode === 'stems') say(`audio: stems on their own channels: ${describeChannels(mode)}`);
    closers.add('audio output', () => output.stop());

    await engine.play(output.latencyMs);
    // an EnCodec model's first audio needs a whole chunk of frames: the device starts once the ring holds its target
    // (bounded), so a start is not counted as underruns; tinyband's first frame fills it at once. Waited for before
    // the takes open, so "recording to" is said when the audio it records is about to start, not a fill earlier.
    await ringFilled(engine, config.latencyMs, START_FILL_WAIT_MS);

    // Two recorders. The session take (--record) is the whole performance, from start to stop, that no control message
    // can stop or split (a stage network toggling record must not cost the set). /smitin/record and record buttons make
    // takes of their own in the takes folder, named by the clock: nothing from the network names a file.
    const rec = config.recording;
    const stems = mode === 'stems' ? STEM_NAMES : [];
    const recorder = (record?: string) => new Takes({ dir: rec.takes, record, overwrite: rec.overwrite, format: rec.format, sampleRate: output.sampleRate, stems, issues: control.issues, onNote: say });
    const session = rec.record ? recorder(rec.record) : null;
    const takes = recorder();
    const meter = new PeakMeter();
    const untap = engine.output.tap((block) => {
      meter.write(block);
      session?.write(block);
      takes.write(block);
    });
    // takes are finalised after the output has stopped pulling (closers run in reverse): they hold everything that played
    closers.add('recording', () => {
      untap();
      takes.stop();
      session?.stop();
    });
    session?.start();

    let notes: BandNotes | null = null;
    if (config.notes) {
      try {
        notes = openBandNotes(config.notes, { tokens$: engine.tokens$, output: engine.output, deviceLatencyMs: output.latencyMs, tempo: config.tempo, issues: control.issues });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const opened = notes;
      if (config.notes.record !== undefined) say(`MIDI notes: recording the session's notes to ${opened.filePath}`);
      closers.add('MIDI notes', () => {
        const file = opened.close();
        if (file) say(`MIDI notes: wrote ${file} (${opened.fileNotes} notes)`);
      });
    }

    const s = new LiveSession(say, closers, control, output, engine, session, takes, config.tokenizer, rec.takes, meter, config.watchEffects, keepUp);
    s.web = web;
    s.notes = notes;
    if (web) {
      const surface = web;
      s.subs.push(s.telemetry$.subscribe(webTelemetry));
      // a learn armed or done is state the pages show at once, not at the next telemetry
      s.subs.push(control.mapping.armed$.subscribe(() => surface.broadcastState()));
      s.subs.push(control.mapping.learned$.subscribe(() => surface.broadcastState()));
    }
    if (config.tokenizer.words) say(`prompt words the model knows: ${config.tokenizer.words.join(' ')}`);
    closers.add('subscriptions', () => s.subs.forEach((x) => x.unsubscribe()));
    s.subs.push(engine.issues$.subscribe((m) => say(`engine: ${m}`)));
    s.subs.push(control.issues$.subscribe((i) => say(`${i.source}: ${i.message}`)));
    let follower: TimeFollower | null = null;
    // following Link, the performer's tempo is the Link session's: proposed there, it comes back through the follower
    deliver = (cmd) => (cmd.type === 'tempo' && follower?.proposeTempo(cmd.bpm)) || s.command(cmd);
    early.splice(0).forEach((cmd) => s.command(cmd));
    // a preset loaded while playing (/smitin/preset, a button) brings its own alphas
    s.subs.push(control.mapping.preset$.subscribe((p) => engine.setAlphas(alphasOf(p))));
    say(`preset ${quoted(config.preset.name, 60)}: ${describeBindings(config.preset)}`);
    s.subs.push(control.mapping.loaded$.subscribe((p) => say(`preset ${quoted(p.name, 60)} loaded: ${describeBindings(p)}`)));
    s.subs.push(control.mapping.armed$.subscribe((t) => say(t === null ? 'MIDI learn cancelled' : `MIDI learn: move a knob, fader or CC button to bind it to ${t}`)));
    s.subs.push(
      control.mapping.learned$.subscribe((l) => {
        s.learned++;
        say(`MIDI learn: CC ${l.cc} on channel ${l.channel} now moves ${l.target} (saved at the end of the session)`);
      }),
    );
    for (const [feature, value] of Object.entries(config.steer)) s.command({ type: 'strength', feature, value });

    follower = await openSync(config.sync, {
      midi: control.midiInput,
      send: (cmd) => s.command(cmd),
      tapGrid: (l) => engine.output.tapGrid(l),
      outputLatencyMs: output.latencyMs + output.queueMs,
      say,
      open: {
        abletonosc: () => openAbletonOscSource({ issues: control.issues }),
        link: () => openLinkSource(config.tempo, { startStopSync: config.linkStartStop ?? false, say }),
      },
    });
    const following = follower;
    if (following) closers.add('sync', () => following.close());

    const telemetryOut = new TelemetryOut({ targets: [...config.preset.osc.telemetryTargets, ...config.oscTargets], hz: config.preset.osc.telemetryHz, issues: control.issues });
    closers.add('telemetry', () => telemetryOut.close());
    // control latency is a figure about a performer's moves: the preset's own values at start are not one
    engine.output.measureFrom(null);
    s.subs.push(control.mapping.input$.pipe(first()).subscribe(() => engine.output.measureFrom(nowMs())));
    s.subs.push(
      s.telemetry$.subscribe((t) => {
        s.last = t;
        control.mapping.setTransportState({ playing: t.playing, recording: t.recording, looping: (t.looping ?? 0) > 0 });
      }),
    );
    s.subs.push(telemetryOut.connect(s.telemetry$));
    // an OSC app asking over UDP is answered at the telemetry targets (the web surface answers its own clients)
    s.subs.push(
      control.intake.messages$.pipe(filter((m) => m.address === '/smitin/state' && !m.from.startsWith(WEB_SENDER_PREFIX))).subscribe(() => telemetryOut.sendPackets([stateBundle(state(), s.last)])),
    );

    // memory is a stage figure: a leak shows over a set, so the figures give it at start, at the end and at its peak
    const rssTimer = setInterval(() => (s.rss.peak = Math.max(s.rss.peak, process.memoryUsage.rss())), 1000);
    closers.add('memory watch', () => clearInterval(rssTimer));
    output.start(engine.pull);
    s.started = performance.now();
    return s;
  }

  get deviceName(): string {
    return this.output.deviceName;
  }

  /** Applies a command as a control input would. Nothing a command does may end the session: a failure is reported, the music goes on. */
  command(cmd: EngineCommand): void {
    try {
      if (cmd.type === 'record') {
        if (cmd.on) this.takes.start();
        else this.takes.stop();
      }
      this.engine.command(cmd);
      if (cmd.type === 'play' || cmd.type === 'stop') this.notes?.setPlaying(cmd.type === 'play');
      if (cmd.type === 'strength') this.effects?.move(cmd.feature, cmd.value, this.engine.output.readPosition());
    } catch (err) {
      this.say(`command ${cmd.type}: ${(err as Error).message}`);
    }
  }

  /** Stops the output pulling, finalises the takes, closes every part in reverse order of opening, and returns the figures. Idempotent. */
  stop(): Promise<LiveFigures> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<LiveFigures> {
    // the output stops pulling first, so the takes (closed by their closer, with the rest, in reverse order) hold everything that played
    await this.output.stop();
    const seconds = (performance.now() - this.started) / 1000;
    const { rss } = this;
    rss.end = process.memoryUsage.rss();
    rss.peak = Math.max(rss.peak, rss.end);
    const osc = this.control.osc?.stats() ?? null;
    const heap = process.memoryUsage().heapUsed;
    await this.closers.closeAll(this.say);
    const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
    const figures: LiveFigures = {
      ...summary(this.last, this.engine, this.output, seconds, this.engine.output.latencies, [...(this.session?.list() ?? []), ...this.takes.list()], this.control.issues.snapshot()),
      osc,
      rssMb: { start: mb(rss.start), peak: mb(rss.peak), end: mb(rss.end) },
      heapMb: mb(heap),
      check: this.keepUp ? { ...this.keepUp.verdict, advice: this.keepUp.advice, figures: this.keepUp.figures } : null,
    };
    if (this.learned > 0) this.saveLearned();
    return figures;
  }

  private saveLearned(): void {
    try {
      const file = saveLearnedPreset(this.control.mapping.preset, this.takesDir);
      this.say(`MIDI learn: ${this.learned} binding${this.learned > 1 ? 's' : ''} saved in ${file}; start with them: --preset ${file}`);
    } catch (err) {
      this.say(`MIDI learn: the bindings could not be saved (${(err as Error).message})`);
    }
  }
}

/** The engine a session's configuration plays: its model, steering, prompt and the output's rate (benches start the same one). */
export function engineOptions(config: LiveSessionConfig, output = { sampleRate: config.output.sampleRate, latencyMs: 0 }): LiveEngineOptions {
  return {
    modelDir: config.modelDir,
    ...config.load,
    ...config.sampling,
    probesFile: config.probesFile,
    prompt: config.prompt,
    tempo: config.tempo,
    sampleRate: output.sampleRate,
    latencyMs: config.latencyMs,
    seed: config.seed,
    deviceLatencyMs: output.latencyMs,
    alphas: alphasOf(config.preset),
    steering: { alpha: defaultAlpha(DEFAULT_STEERING.weighting), ...config.steering },
    reportTokens: config.watchEffects || Boolean(config.notes),
    quantize: config.quantize,
    stems: config.output.outputs === 'stems',
  };
}

/** A preset's per-feature maximum pushes. */
function alphasOf(p: Preset): Record<string, number> {
  return Object.fromEntries(Object.entries(p.features).flatMap(([n, f]) => (f.maxAlpha !== undefined ? [[n, f.maxAlpha]] : [])));
}

function summary(last: Telemetry | null, engine: LiveEngine, output: AudioOutput, seconds: number, lat: number[], takes: TakeRecord[], issues: Record<string, number>) {
  return {
    seconds,
    device: output.deviceName,
    channels: output.channels,
    sampleRate: output.sampleRate,
    bufferFrames: output.bufferFrames,
    deviceLatencyMs: output.latencyMs,
    blocks: output.stats.blocks,
    audioErrors: output.stats.errors,
    resyncs: output.stats.resyncs,
    underruns: engine.output.underruns,
    controlLatencyMs: { count: lat.length, p50: lat.length ? percentile(lat, 50) : null, p99: lat.length ? percentile(lat, 99) : null },
    model: engine.loaded,
    realtimeFactor: last?.realtimeFactor ?? null,
    temperature: last?.temperature ?? null,
    guidance: last?.guidance ?? null,
    prompt: last?.prompt ?? null,
    reprimes: last?.reprimes ?? 0,
    frames: last?.frames ?? 0,
    stepMs: last?.stepMs ?? null,
    features: last?.features ?? [],
    takes,
    issues,
  };
}
