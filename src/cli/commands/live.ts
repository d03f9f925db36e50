/**
 * smitin live: the product's main job. tinyband (or any MusicGen export with
 * probes) plays into a PortAudio device while MIDI, OSC and a preset steer
 * it; the terminal shows what the engine does; Ctrl-C stops it cleanly and
 * finalises the recording.
 */
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { filter, map } from 'rxjs';
import { MAX_TEMPO, MIN_TEMPO } from '../../constants.js';
import { openDefaultOutput, openNullOutput, type AudioOutput } from '../../audio/output.js';
import { WavTee } from '../../audio/wav-tee.js';
import { controlCommands, type Control } from '../../control/index.js';
import { loadPreset, listPresets, type Preset } from '../../control/presets.js';
import { TelemetryOut } from '../../control/telemetry-out.js';
import { DEFAULT_LATENCY_MS, LiveEngine } from '../../engine/live-engine.js';
import type { EngineCommand, Telemetry } from '../../engine/protocol.js';
import { readModelFolder } from '../../model/musicgen/index.js';
import { checkProbesFit, modelIdentity, readProbeSet } from '../../smitin/probe-set.js';
import { defaultAlpha, DEFAULT_STEERING } from '../../smitin/steerer.js';
import { UsageError } from '../../util/errors.js';
import { percentile } from '../../util/percentile.js';
import { numberIn } from '../options.js';
import { StatusView, statusLines } from '../status-view.js';
import { parseSteer } from '../steering-options.js';
import { probeDevices } from './devices.js';
import { defaultProbesFile } from './probes.js';
import { defaultModelDir } from './render.js';

interface LiveCliOptions {
  model: string;
  probes?: string;
  preset: string;
  device?: string;
  rate: number;
  buffer: number;
  latency: number;
  oscPort: number;
  oscTarget: string[];
  midiIn?: string;
  midiOut?: string;
  prompt: string;
  tempo: number;
  record?: string;
  duration?: number;
  steer?: Record<string, number>;
  seed: number;
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  if (!/^.+:\d{1,5}$/.test(value)) throw new InvalidArgumentError(`expected host:port, got: ${value}`);
  return [...previous, value];
}

/** A recording file name for /smitin/record 1 when --record gave none. */
function timestampedWav(): string {
  return `smitin-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}.wav`;
}

export function liveCommand(): Command {
  return new Command('live')
    .description('play a MusicGen model (default: the shipped tinyband) live into an audio device, steered by MIDI, OSC and a preset')
    .option('--model <dir>', 'model folder', defaultModelDir())
    .option('--probes <file>', "probe set (default: the model folder's probes.safetensors; none: play without steering)")
    .option('--preset <name|file>', `controller preset: a file, or one of presets/ (${listPresets().map((p) => p.replace(/\.json$/, '')).join(', ')})`, 'generic-8-knob')
    .option('--device <name|id>', 'PortAudio output device (name, part of it, or id; default: the default device, or a real-time null sink when there is none)')
    .option('--rate <hz>', 'output sample rate', numberIn('rate', 8000, 192000, { integer: true }), 48000)
    .option('--buffer <frames>', 'device buffer in frames', numberIn('buffer', 32, 16384, { integer: true }), 512)
    .option('--latency <ms>', 'audio generated ahead of the device (the ring target): lower reacts faster, higher rides out slow steps', numberIn('latency', 10, 2000), DEFAULT_LATENCY_MS)
    .option('--osc-port <n>', 'UDP port OSC control listens on (0: no OSC)', numberIn('osc-port', 0, 65535, { integer: true }), 9000)
    .option('--osc-target <host:port>', 'send telemetry over OSC here (repeatable)', collect, [])
    .option('--midi-in <name>', 'MIDI input port (part of its name)')
    .option('--midi-out <name>', 'MIDI output port for value echo (LED rings)')
    .option('--prompt <text>', 'what to play', 'funk happy energetic')
    .option('--tempo <bpm>', `tempo (${MIN_TEMPO}..${MAX_TEMPO}); MIDI clock overrides it when the preset follows it`, numberIn('tempo', MIN_TEMPO, MAX_TEMPO), 120)
    .option('--steer <list>', 'starting strengths, e.g. drums=0.5,piano=-1', parseSteer)
    .option('--record <file.wav>', 'record what plays (crash-safe: a killed process leaves a playable file)')
    .option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)', numberIn('duration', 0.1, 86400))
    .option('--seed <n>', 'sampling seed', numberIn('seed', 0, 2 ** 31 - 1, { integer: true }), 1)
    .option('--json', 'no status view: print the final figures as JSON')
    .action(async (opts: LiveCliOptions) => {
      if (opts.record && !opts.record.toLowerCase().endsWith('.wav')) throw new UsageError(`--record must name a .wav file, got: ${opts.record}`);
      const { spec } = readModelFolder(opts.model);
      const probesFile = opts.probes === 'none' ? null : (opts.probes ?? (existsSync(defaultProbesFile(opts.model)) ? defaultProbesFile(opts.model) : null));
      if (probesFile) checkProbesFit(readProbeSet(probesFile), modelIdentity(spec), probesFile);
      const preset = loadPreset(opts.preset);
      const view = opts.json ? null : new StatusView(process.stdout);
      const say = (m: string) => (view ? view.note(m) : process.stderr.write(m + '\n'));
      if (!probesFile && opts.probes !== 'none') say(`note: ${defaultProbesFile(opts.model)} does not exist: playing without steering (train probes: smitin probes train --model ${opts.model})`);

      const outputOptions = { device: opts.device, sampleRate: opts.rate, bufferFrames: opts.buffer, onError: (e: Error) => say(`audio: ${e.message}`) };
      // PortAudio is asked in a child process first: with no device at all, ALSA's C-level complaints stay out of the terminal
      const probe = opts.device === undefined ? probeDevices().audio : null;
      const { output, reason } =
        probe && probe.outputs.length === 0
          ? { output: openNullOutput(outputOptions), reason: `no audio output device (${probe.reason ?? 'PortAudio lists none'}); playing on a real-time null sink (control, telemetry and recording still work)` }
          : openDefaultOutput(outputOptions);
      say(`audio: ${reason}`);
      const alphasOf = (p: Preset) => Object.fromEntries(Object.entries(p.features).flatMap(([n, f]) => (f.maxAlpha !== undefined ? [[n, f.maxAlpha]] : [])));
      const alphas = alphasOf(preset);
      let engine: LiveEngine;
      try {
        engine = await LiveEngine.start({
          modelDir: opts.model,
          probesFile,
          prompt: opts.prompt,
          tempo: opts.tempo,
          sampleRate: output.sampleRate,
          latencyMs: opts.latency,
          seed: opts.seed,
          deviceLatencyMs: output.latencyMs,
          alphas,
          steering: { alpha: defaultAlpha(DEFAULT_STEERING.weighting) },
        });
      } catch (err) {
        await output.stop();
        throw err;
      }
      let issues = 0;
      engine.issues$.subscribe((m) => {
        issues++;
        say(`engine: ${m}`);
      });

      let tee: WavTee | null = null;
      let untap: (() => void) | null = null;
      const startRecording = (file: string) => {
        if (tee) return;
        tee = new WavTee(file, { sampleRate: output.sampleRate, onError: (e) => say(`recording stopped: ${e.message}`) });
        const t = tee;
        untap = engine.output.tap((block) => t.write(block));
        say(`recording to ${file}`);
      };
      const stopRecording = () => {
        untap?.();
        untap = null;
        tee?.close();
        if (tee) say(`recorded ${tee.path}: ${(tee.framesWritten / output.sampleRate).toFixed(1)} s`);
        tee = null;
      };
      if (opts.record) startRecording(opts.record);

      const control: Control = controlCommands({
        preset,
        features: engine.features,
        osc: opts.oscPort ? { port: opts.oscPort } : undefined,
        midi: { input: opts.midiIn, output: opts.midiOut },
      });
      control.issues$.subscribe((i) => {
        issues++;
        say(`${i.source}: ${i.message}`);
      });
      const apply = (cmd: EngineCommand) => {
        if (cmd.type === 'record') {
          if (cmd.on) startRecording(opts.record ?? timestampedWav());
          else stopRecording();
        }
        engine.command(cmd);
      };
      const commandSub = control.commands$.subscribe(apply);
      // a preset loaded while playing (/smitin/preset, a button) brings its own alphas
      const presetSub = control.mapping.preset$.subscribe((p) => engine.setAlphas(alphasOf(p)));
      for (const [feature, value] of Object.entries(opts.steer ?? {})) apply({ type: 'strength', feature, value });
      if (control.oscReady) {
        control.oscReady.then((a) => say(`OSC: listening on ${a.host}:${a.port} (/smitin/feature/<name> f, /smitin/prompt s, ... see docs/control.md)`)).catch((e: Error) => say(`OSC: ${e.message}`));
      }
      const telemetryOut = new TelemetryOut({ targets: [...preset.osc.telemetryTargets, ...opts.oscTarget], hz: preset.osc.telemetryHz, issues: control.issues });
      let last: Telemetry | null = null;
      // the engine does not know about the recording: that lives here
      const telemetry$ = engine.telemetry$.pipe(
        filter((t): t is Telemetry => t !== null),
        map((t) => ({ ...t, recording: tee !== null })),
      );
      const telemetrySub = telemetry$.subscribe((t) => {
        last = t;
        control.mapping.setTransportState({ playing: t.playing, recording: t.recording });
        view?.render(statusLines(t, { device: output.deviceName, issues }));
      });
      const sendSub = telemetryOut.connect(telemetry$);

      output.start(engine.pull);
      const started = performance.now();
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (opts.duration) setTimeout(stop, opts.duration * 1000);
      });

      // Stop in the order that loses nothing: no more audio pulled, recording finalised, then the rest
      await output.stop();
      stopRecording();
      commandSub.unsubscribe();
      presetSub.unsubscribe();
      telemetrySub.unsubscribe();
      sendSub.unsubscribe();
      await telemetryOut.close();
      await control.dispose();
      await engine.close();
      // a binding thread of a failed device can keep the event loop alive: make sure the process ends
      setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
      const figures = summary(last, engine, output, (performance.now() - started) / 1000);
      if (opts.json) process.stdout.write(JSON.stringify(figures) + '\n');
      else process.stdout.write(`stopped after ${figures.seconds.toFixed(1)} s: ${figures.underruns} underruns, control latency p50 ${fmt(figures.controlLatencyMs.p50)} ms p99 ${fmt(figures.controlLatencyMs.p99)} ms\n`);
    });
}

function fmt(v: number | null): string {
  return v === null ? '-' : v.toFixed(0);
}


function summary(last: Telemetry | null, engine: LiveEngine, output: AudioOutput, seconds: number) {
  const lat = engine.output.latencies;
  return {
    seconds,
    device: output.deviceName,
    sampleRate: output.sampleRate,
    bufferFrames: output.bufferFrames,
    deviceLatencyMs: output.latencyMs,
    blocks: output.stats.blocks,
    audioErrors: output.stats.errors,
    underruns: engine.output.underruns,
    controlLatencyMs: { count: lat.length, p50: lat.length ? percentile(lat, 50) : null, p99: lat.length ? percentile(lat, 99) : null },
    realtimeFactor: last?.realtimeFactor ?? null,
    stepMs: last?.stepMs ?? null,
    features: last?.features ?? [],
  };
}
