/**
 * smitin live: the product's main job. tinyband (or any MusicGen export with
 * probes) plays into a PortAudio device while MIDI, OSC and a preset steer
 * it; the terminal shows what the engine does; Ctrl-C stops it cleanly and
 * finalises the take.
 *
 * Start-up is in two halves. live-plan.ts checks everything the command
 * line names (exit 2, nothing opened). Then the parts open in the order
 * that lets each be closed: the OSC socket (a port in use is still the
 * user's to fix: exit 2 before audio), the engine, the output, the takes.
 * From then on nothing a control message, a file or the disk does stops the
 * music; a failure of the process itself closes what was opened, in reverse
 * order, and exits with a code. No path leaves the process hanging.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { filter, first, map, type Subscription } from 'rxjs';
import { MAX_TEMPO, MIN_TEMPO } from '../../constants.js';
import { openDefaultOutput, openNullOutput, type AudioOutput } from '../../audio/output.js';
import { RECORD_FORMATS, Takes, type TakeRecord } from '../../audio/takes.js';
import { controlCommands, type Control } from '../../control/index.js';
import { listPresets, presetLoader, type Preset } from '../../control/presets.js';
import { DEFAULT_OSC_HOST } from '../../control/osc-source.js';
import { parseTarget, TelemetryOut } from '../../control/telemetry-out.js';
import { nowMs } from '../../engine/control-block.js';
import { DEFAULT_LATENCY_MS, LiveEngine } from '../../engine/live-engine.js';
import type { EngineCommand, Telemetry } from '../../engine/protocol.js';
import { defaultAlpha, DEFAULT_STEERING } from '../../smitin/steerer.js';
import { UsageError } from '../../util/errors.js';
import { percentile } from '../../util/percentile.js';
import { planLive, type LiveCliOptions, type LivePlan } from '../live-plan.js';
import { numberIn } from '../options.js';
import { StatusView, statusLines } from '../status-view.js';
import { parseSteer } from '../steering-options.js';
import { defaultModelDir } from './render.js';

function collectTarget(value: string, previous: string[]): string[] {
  try {
    parseTarget(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return [...previous, value];
}

export function liveCommand(): Command {
  return new Command('live')
    .description('play a MusicGen model (default: the shipped tinyband) live into an audio device, steered by MIDI, OSC and a preset')
    .option('--model <dir>', 'model folder', defaultModelDir())
    .option('--probes <file>', "probe set (default: the model folder's probes.safetensors; none: play without steering)")
    .option('--preset <name|file>', `controller preset: a name (${listPresets().join(', ')}, or one in --presets DIR) or a .json file`, 'generic-8-knob')
    .option('--presets <dir>', 'a folder of your own presets, found by name (also by /smitin/preset) before the shipped ones')
    .option('--device <name|id>', 'PortAudio output device (name, part of it, or id; default: the default device, or a real-time null sink when there is none)')
    .option('--rate <hz>', 'output sample rate', numberIn('rate', 8000, 192000, { integer: true }), 48000)
    .option('--buffer <frames>', 'device buffer in frames', numberIn('buffer', 32, 16384, { integer: true }), 512)
    .option('--latency <ms>', 'audio generated ahead of the device (the ring target): lower reacts faster, higher rides out slow steps', numberIn('latency', 10, 2000), DEFAULT_LATENCY_MS)
    .option('--osc-port <n>', 'UDP port OSC control listens on (0: no OSC)', numberIn('osc-port', 0, 65535, { integer: true }), 9000)
    .option('--osc-host <addr>', 'address OSC listens on: 127.0.0.1 is this machine only; 0.0.0.0 lets a tablet on the LAN in', DEFAULT_OSC_HOST)
    .option('--osc-target <host:port>', 'send telemetry over OSC here (repeatable)', collectTarget, [])
    .option('--midi-in <name>', 'MIDI input port (part of its name)')
    .option('--midi-out <name>', 'MIDI output port for value echo (LED rings)')
    .option('--prompt <text>', 'what to play', 'funk happy energetic')
    .option('--tempo <bpm>', `tempo (${MIN_TEMPO}..${MAX_TEMPO}); MIDI clock overrides it when the preset follows it`, numberIn('tempo', MIN_TEMPO, MAX_TEMPO), 120)
    .option('--steer <list>', 'starting strengths, e.g. drums=0.5,piano=-1', parseSteer)
    .option('--record <file.wav>', 'record the whole session, start to stop, into this file (an existing file is kept: the take becomes file-2.wav, ...)')
    .option('--takes <dir>', 'the folder /smitin/record and record buttons make takes in, named by the clock (created at start)', './takes')
    .option('--overwrite', 'let --record replace an existing file')
    .addOption(new Option('--record-format <f>', 'take sample format: f32 (exactly what played), s24 or s16 (PCM, opens everywhere)').choices(RECORD_FORMATS).default('f32'))
    .option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)', numberIn('duration', 0.1, 86400))
    .option('--seed <n>', 'sampling seed', numberIn('seed', 0, 2 ** 31 - 1, { integer: true }), 1)
    .option('--json', 'no status view: print the final figures as JSON')
    .action(async (opts: LiveCliOptions) => {
      const plan = planLive(opts);
      await runLive(plan);
    });
}

/** Commands kept while the engine starts (a few seconds of knob moves; the oldest go first). */
const EARLY_COMMANDS_MAX = 1000;

/** Steps of the shutdown, run in reverse order of opening; each is guarded so one failure does not skip the rest. */
class Closers {
  private readonly steps: { name: string; close: () => unknown }[] = [];

  add(name: string, close: () => unknown): void {
    this.steps.push({ name, close });
  }

  async closeAll(report: (m: string) => void): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.close();
      } catch (err) {
        report(`stopping ${step.name}: ${(err as Error).message}`);
      }
    }
  }
}

async function runLive(plan: LivePlan): Promise<void> {
  const { opts } = plan;
  const view = opts.json ? null : new StatusView(process.stdout);
  const say = (m: string) => (view ? view.note(m) : process.stderr.write(`${m}\n`));
  if (plan.steeringNote) say(plan.steeringNote);
  const closers = new Closers();
  // a binding thread of a failed device can keep the event loop alive: whatever happens below, the process ends
  const forceExit = () => setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
  try {
    await play(plan, closers, view, say);
  } finally {
    await closers.closeAll(say);
    forceExit();
  }
}

async function play(plan: LivePlan, closers: Closers, view: StatusView | null, say: (m: string) => void): Promise<void> {
  const { opts, preset } = plan;
  const control: Control = controlCommands({
    preset,
    features: plan.features,
    osc: opts.oscPort ? { host: opts.oscHost, port: opts.oscPort } : undefined,
    midi: { input: opts.midiIn, output: opts.midiOut },
    loadPreset: presetLoader({ dirs: plan.presetDirs, features: plan.features }),
  });
  closers.add('control', () => control.dispose());
  // A knob turned while the model loads still counts: commands are taken from the moment the socket is open and
  // queued (bounded) until the engine is there to apply them.
  const subs: Subscription[] = [];
  closers.add('subscriptions', () => subs.forEach((s) => s.unsubscribe()));
  const early: EngineCommand[] = [];
  let deliver = (cmd: EngineCommand) => {
    if (early.length >= EARLY_COMMANDS_MAX) early.shift();
    early.push(cmd);
  };
  subs.push(control.commands$.subscribe((cmd) => deliver(cmd)));
  if (control.oscReady) {
    // a port in use is a start-up mistake like a bad path: said once, exit 2, before any audio
    const where = await control.oscReady.catch((err: Error) => {
      throw new UsageError(err.message);
    });
    const scope = where.host === '127.0.0.1' ? 'this machine only; --osc-host 0.0.0.0 lets the LAN in' : 'open to the network';
    const buffer = where.recvBufferBytes ? `, ${(where.recvBufferBytes / 2 ** 20).toFixed(1)} MiB receive buffer` : '';
    say(`OSC: listening on ${where.host}:${where.port} (${scope}${buffer}; /smitin/feature/<name> f, /smitin/prompt s, ... see docs/control.md)`);
  }

  const outputOptions = { device: opts.device, sampleRate: opts.rate, bufferFrames: opts.buffer, onError: (e: Error) => say(`audio: ${e.message}`) };
  let output: AudioOutput;
  if (plan.nullSinkReason) {
    output = openNullOutput(outputOptions);
    say(`audio: ${plan.nullSinkReason}`);
  } else {
    let opened: ReturnType<typeof openDefaultOutput>;
    try {
      opened = openDefaultOutput(outputOptions);
    } catch (err) {
      // the device was listed a moment ago but will not open at these settings: still the user's to fix
      throw new UsageError(`--device: ${(err as Error).message}`);
    }
    output = opened.output;
    say(`audio: ${opened.reason}`);
  }
  closers.add('audio output', () => output.stop());

  const alphasOf = (p: Preset) => Object.fromEntries(Object.entries(p.features).flatMap(([n, f]) => (f.maxAlpha !== undefined ? [[n, f.maxAlpha]] : [])));
  const engine = await LiveEngine.start({
    modelDir: opts.model,
    probesFile: plan.probesFile,
    prompt: opts.prompt,
    tempo: opts.tempo,
    sampleRate: output.sampleRate,
    latencyMs: opts.latency,
    seed: opts.seed,
    deviceLatencyMs: output.latencyMs,
    alphas: alphasOf(preset),
    steering: { alpha: defaultAlpha(DEFAULT_STEERING.weighting), ...plan.steering },
  });
  // closed after the output stops pulling (closers run in reverse)
  closers.add('engine', () => engine.close());
  subs.push(engine.issues$.subscribe((m) => say(`engine: ${m}`)));

  // Two recorders. --record is the session take: the whole performance, from start to stop, that no control message can
  // stop or split (a stage network toggling record must not cost the set). /smitin/record and record buttons make takes
  // of their own in the takes folder, named by the clock: nothing from the network names a file.
  const recorder = (record?: string) =>
    new Takes({ dir: opts.takes, record, overwrite: opts.overwrite ?? false, format: opts.recordFormat, sampleRate: output.sampleRate, issues: control.issues, onNote: say });
  const session = opts.record ? recorder(opts.record) : null;
  const takes = recorder();
  const untap = engine.output.tap((block) => {
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

  const apply = (cmd: EngineCommand) => {
    // nothing a control message does may end the session: a failure here is reported, the music goes on
    try {
      if (cmd.type === 'record') {
        if (cmd.on) takes.start();
        else takes.stop();
      }
      engine.command(cmd);
    } catch (err) {
      say(`command ${cmd.type}: ${(err as Error).message}`);
    }
  };
  subs.push(control.issues$.subscribe((i) => say(`${i.source}: ${i.message}`)));
  deliver = apply;
  early.splice(0).forEach(apply);
  // a preset loaded while playing (/smitin/preset, a button) brings its own alphas
  subs.push(control.mapping.preset$.subscribe((p) => engine.setAlphas(alphasOf(p))));
  for (const [feature, value] of Object.entries(opts.steer ?? {})) apply({ type: 'strength', feature, value });

  const telemetryOut = new TelemetryOut({ targets: [...preset.osc.telemetryTargets, ...opts.oscTarget], hz: preset.osc.telemetryHz, issues: control.issues });
  closers.add('telemetry', () => telemetryOut.close());
  // control latency is a figure about a performer's moves: the preset's own values at start are not one
  engine.output.measureFrom(null);
  subs.push(control.mapping.input$.pipe(first()).subscribe(() => engine.output.measureFrom(nowMs())));
  const latencies = () => engine.output.latencies;
  let last: Telemetry | null = null;
  const telemetry$ = engine.telemetry$.pipe(
    filter((t): t is Telemetry => t !== null),
    map((t): Telemetry => {
      const measured = latencies();
      const take = takes.status() ?? session?.status() ?? null;
      return {
        ...t,
        controlLatencyMs: measured.length ? measured[measured.length - 1] : NaN,
        recording: take !== null,
        take,
        issues: control.issues.snapshot(),
      };
    }),
  );
  subs.push(
    telemetry$.subscribe((t) => {
      last = t;
      control.mapping.setTransportState({ playing: t.playing, recording: t.recording });
      view?.render(statusLines(t, { device: output.deviceName, issues: t.issues ?? {}, take: t.take }));
    }),
  );
  subs.push(telemetryOut.connect(telemetry$));

  // memory is a stage figure: a leak shows over a set, so the summary gives it at start, at the end and at its peak
  const rss = { start: process.memoryUsage.rss(), peak: 0, end: 0 };
  const rssTimer = setInterval(() => (rss.peak = Math.max(rss.peak, process.memoryUsage.rss())), 1000);
  closers.add('memory watch', () => clearInterval(rssTimer));
  output.start(engine.pull);
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (opts.duration) setTimeout(stop, opts.duration * 1000);
  });

  // stop pulling first, so the take holds everything that played, then the rest (closers, in reverse)
  await output.stop();
  untap();
  takes.stop();
  session?.stop();
  const seconds = (performance.now() - started) / 1000;
  rss.end = process.memoryUsage.rss();
  rss.peak = Math.max(rss.peak, rss.end);
  const mb = (b: number) => Math.round(b / 2 ** 20 * 10) / 10;
  const figures = { ...summary(last, engine, output, seconds, latencies(), [...(session?.list() ?? []), ...takes.list()], control.issues.snapshot()), osc: control.osc?.stats() ?? null, rssMb: { start: mb(rss.start), peak: mb(rss.peak), end: mb(rss.end) }, heapMb: mb(process.memoryUsage().heapUsed) };
  if (opts.json) process.stdout.write(JSON.stringify(figures) + '\n');
  else process.stdout.write(`stopped after ${figures.seconds.toFixed(1)} s: ${figures.underruns} underruns, control latency p50 ${fmt(figures.controlLatencyMs.p50)} ms p99 ${fmt(figures.controlLatencyMs.p99)} ms\n`);
}

function fmt(v: number | null): string {
  return v === null ? '-' : v.toFixed(0);
}

function summary(last: Telemetry | null, engine: LiveEngine, output: AudioOutput, seconds: number, lat: number[], takes: TakeRecord[], issues: Record<string, number>) {
  return {
    seconds,
    device: output.deviceName,
    sampleRate: output.sampleRate,
    bufferFrames: output.bufferFrames,
    deviceLatencyMs: output.latencyMs,
    blocks: output.stats.blocks,
    audioErrors: output.stats.errors,
    resyncs: output.stats.resyncs,
    underruns: engine.output.underruns,
    controlLatencyMs: { count: lat.length, p50: lat.length ? percentile(lat, 50) : null, p99: lat.length ? percentile(lat, 99) : null },
    realtimeFactor: last?.realtimeFactor ?? null,
    prompt: last?.prompt ?? null,
    reprimes: last?.reprimes ?? 0,
    frames: last?.frames ?? 0,
    stepMs: last?.stepMs ?? null,
    features: last?.features ?? [],
    takes,
    issues,
  };
}

