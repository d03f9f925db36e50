/**
 * `smitin live`'s command line, checked whole before any audio starts:
 * every path, value and name it gives is checked here, and a mistake is one
 * UsageError (exit 2) naming the value and what was expected. Nothing here
 * opens a device, a socket or a worker, so a refusal leaves nothing to
 * close and nothing to hang on.
 *
 * Order matters for the message a user sees: the model's own files first,
 * then the probes made for it, then what refers to the probes' features
 * (--steer, the preset), then the outputs (device, recording).
 */
import { resolve } from 'node:path';
import { probeDevices } from './commands/devices.js';
import { findOutputDevice } from '../audio/portaudio.js';
import { channelProblem } from '../audio/output.js';
import { describeChannels, outputChannels, type OutputMode } from '../audio/outputs.js';
import { checkRecordOptions, checkTakeFile, type RecordFormat } from '../audio/takes.js';
import { checkPresetFeatures, loadPreset, presetsDir, type Preset } from '../control/presets.js';
import { parseTarget } from '../control/telemetry-out.js';
import { codecTraits } from '../model/codec/traits.js';
import type { ModelSpec } from '../model/musicgen/index.js';
import type { PromptTokenizer } from '../model/musicgen/tokenizer.js';
import type { SteeringSettings } from '../smitin/steerer.js';
import type { LiveSessionConfig } from '../session/live-session.js';
import type { LoopBars, Quantize } from '../protocol.js';
import type { SyncSource } from '../sync/time-source.js';
import { UsageError } from '../util/errors.js';
import { printable, quoted } from '../util/printable.js';
import { isLoopback, newToken } from '../web/access.js';
import { resolveLiveModel } from './model-check.js';
import { loadOptionsOf, samplingOf, type ModelCliOptions, type SamplingCliOptions } from './model-options.js';
import type { DeviceReport } from './device-probe.js';

export interface LiveCliOptions extends ModelCliOptions, SamplingCliOptions {
  probes?: string;
  /** Play even when the check at start says this machine cannot keep up. */
  force?: boolean;
  preset: string;
  presets?: string;
  device?: string;
  rate: number;
  buffer: number;
  latency: number;
  oscPort: number;
  oscHost: string;
  oscTarget: string[];
  /** false: --no-web. */
  web: boolean;
  webPort: number;
  webHost: string;
  midiIn?: string;
  midiOut?: string;
  midiNotesOut?: string;
  recordMidi?: string;
  prompt: string;
  tempo: number;
  record?: string;
  takes: string;
  overwrite?: boolean;
  recordFormat: RecordFormat;
  /** The mix alone, or the mix and each instrument on its own pair (tinyband). */
  outputs?: OutputMode;
  duration?: number;
  steer?: Record<string, number>;
  quantize: Quantize;
  loopBars: LoopBars;
  sync: SyncSource;
  linkStartStop?: boolean;
  seed: number;
  json?: boolean;
}

export interface LivePlan {
  opts: LiveCliOptions;
  spec: ModelSpec;
  tokenizer: PromptTokenizer;
  /** null: play without steering. */
  probesFile: string | null;
  /** The model's own steering choices (its steering.json). */
  steering: Partial<SteeringSettings>;
  /** The probe set's features (empty without steering). */
  features: string[];
  /** A note for the user when steering is off without being asked. */
  steeringNote: string | null;
  /** A note when --temperature / --guidance replace the preset's starting values. */
  startNote: string | null;
  preset: Preset;
  /** Where /smitin/preset looks up names: the user's folder first, then the shipped presets. */
  presetDirs: string[];
  /** The device report from the child-process probe (PortAudio's C-level chatter stays there). */
  devices: DeviceReport;
  /** PortAudio is opened in-process only when a device is there to open; else the null sink plays. */
  nullSinkReason: string | null;
  /** What the device's channels carry: --outputs, or mix for a model without stems (outputsNote says so). */
  outputs: OutputMode;
  outputsNote: string | null;
}

export function planLive(opts: LiveCliOptions): LivePlan {
  if (opts.record !== undefined && !opts.record.toLowerCase().endsWith('.wav')) throw new UsageError(`--record must name a .wav file, got: ${quoted(opts.record)}`);
  for (const t of opts.oscTarget) {
    try {
      parseTarget(t);
    } catch (err) {
      throw new UsageError(`--osc-target: ${(err as Error).message}`);
    }
  }

  const { spec, tokenizer, probesFile, features, note, steering } = resolveLiveModel(opts.model, opts.probes, opts.dtype);

  if (opts.steer) {
    if (!probesFile) {
      throw new UsageError(`--steer ${Object.keys(opts.steer).join(',')}: steering is off (${opts.probes === 'none' ? '--probes none' : 'the model has no probes'}), so there is nothing to push; leave out --steer or give probes`);
    }
    const unknown = Object.keys(opts.steer).find((f) => !features.includes(f));
    if (unknown !== undefined) throw new UsageError(`--steer: unknown feature ${quoted(unknown)}; the model's probes have: ${features.join(', ')}`);
  }

  const presetDirs = [...(opts.presets ? [resolve(opts.presets)] : []), presetsDir()];
  const { preset, note: startNote } = commandLineStarts(loadPreset(opts.preset, presetDirs), opts);
  checkPresetFeatures(preset, features, `--preset ${opts.preset}`);
  for (const t of preset.osc.telemetryTargets) {
    try {
      parseTarget(t);
    } catch (err) {
      throw new UsageError(`--preset ${opts.preset}: osc.telemetryTargets: ${(err as Error).message}`);
    }
  }

  if (opts.linkStartStop && opts.sync !== 'link') throw new UsageError(`--link-start-stop follows a Link session's start and stop: it goes with --sync link (got --sync ${opts.sync})`);
  if (opts.sync === 'midi' && !opts.midiIn) throw new UsageError('--sync midi follows the MIDI clock of --midi-in: name the port the DAW sends its clock to (--midi-in <name>)');

  const recordProblem = checkRecordOptions({ record: opts.record, takes: opts.takes, overwrite: opts.overwrite ?? false });
  if (recordProblem) throw new UsageError(recordProblem);
  checkNotesOptions(opts, spec);

  // PortAudio is asked in a child process first: ALSA's C-level complaints stay out of the terminal, and a wrong --device is refused before anything starts
  const devices = probeDevices();
  let nullSinkReason: string | null = null;
  if (opts.device !== undefined) {
    if (!devices.audio.available) throw new UsageError(`--device ${quoted(opts.device)}: PortAudio is unavailable (${devices.audio.reason}); leave out --device to play on a real-time null sink`);
    try {
      findOutputDevice(opts.device, devices.audio.outputs);
    } catch (err) {
      throw new UsageError(`--device: ${(err as Error).message}`);
    }
  } else if (devices.audio.outputs.length === 0) {
    nullSinkReason = `no audio output device (${devices.audio.reason ?? 'PortAudio lists none'}); playing on a real-time null sink (control, telemetry and recording still work)`;
  }

  const { outputs, outputsNote } = planOutputs(opts, spec, devices);
  return { opts, spec, tokenizer, probesFile, features, steering, steeringNote: note, startNote, preset, presetDirs, devices, nullSinkReason, outputs, outputsNote };
}

/**
 * Where temperature and guidance start: --temperature / --guidance when
 * given, else the preset's `settings.<name>.initial` when it has one, else
 * the model's generation_config.json. The command line names this run, the
 * preset every run, so the command line wins: the starting preset's initial
 * value for that setting is left out (said in a note). A preset loaded later
 * in the session (/smitin/preset, a button) applies its initial values, as
 * a performer's move.
 */
export function commandLineStarts(preset: Preset, opts: Pick<LiveCliOptions, 'temperature' | 'guidance'>): { preset: Preset; note: string | null } {
  const overridden = (['temperature', 'guidance'] as const).filter((name) => opts[name] !== undefined && preset.settings[name]?.initial !== undefined);
  if (overridden.length === 0) return { preset, note: null };
  const settings = { ...preset.settings };
  for (const name of overridden) settings[name] = { ...settings[name]!, initial: undefined };
  const said = overridden.map((name) => `--${name} ${opts[name]} (the preset's initial ${preset.settings[name]!.initial})`).join(' and ');
  return { preset: { ...preset, settings }, note: `start: ${said}: the command line sets where the session starts` };
}

/**
 * --outputs: stems need the tinyband synthesizer (an EnCodec model decodes
 * one mixed signal: said, and the mix plays) and, on a named device, enough
 * output channels (else exit 2, naming the device and its count). The
 * default device is checked when it opens, still before any audio.
 */
function planOutputs(opts: LiveCliOptions, spec: ModelSpec, devices: DeviceReport): { outputs: OutputMode; outputsNote: string | null } {
  if (opts.outputs !== 'stems') return { outputs: 'mix', outputsNote: null };
  if (!codecTraits(spec.codec).stems) {
    return { outputs: 'mix', outputsNote: `--outputs stems: ${quoted(spec.dir, 80)} is an EnCodec model, which has no stems (it decodes one mixed signal); playing the mix on channels 1-2` };
  }
  if (opts.device !== undefined) {
    const device = findOutputDevice(opts.device, devices.audio.outputs);
    const problem = channelProblem(device, outputChannels('stems'));
    if (problem) throw new UsageError(`--outputs stems: ${printable(problem, 200)} (${describeChannels('stems')}); choose a device with ${outputChannels('stems')} or more, or --outputs mix`);
  }
  return { outputs: 'stems', outputsNote: null };
}

/** --midi-notes-out and --record-midi: only a model whose tokens are notes (tinyband) has any; a MIDI file needs a .mid name in a folder that takes it. */
function checkNotesOptions(opts: LiveCliOptions, spec: ModelSpec): void {
  const asked = [opts.midiNotesOut !== undefined ? '--midi-notes-out' : null, opts.recordMidi !== undefined ? '--record-midi' : null].filter((o) => o !== null);
  if (asked.length === 0) return;
  if (!codecTraits(spec.codec).notes) {
    throw new UsageError(`${asked.join(' and ')}: ${quoted(opts.model)} is an EnCodec model: its tokens are audio codes, not notes, so there are no notes to send; only tinyband models have them`);
  }
  const problem = opts.recordMidi !== undefined ? checkTakeFile('--record-midi', '.mid', opts.recordMidi, opts.overwrite ?? false) : null;
  if (problem) throw new UsageError(problem);
}

/** The checked command line as a session's configuration. */
export function sessionConfig(plan: LivePlan): LiveSessionConfig {
  const { opts } = plan;
  return {
    modelDir: opts.model,
    load: loadOptionsOf(opts),
    sampling: samplingOf(opts),
    force: opts.force ?? false,
    tokenizer: plan.tokenizer,
    probesFile: plan.probesFile,
    steering: plan.steering,
    features: plan.features,
    preset: plan.preset,
    presetDirs: plan.presetDirs,
    osc: opts.oscPort ? { host: opts.oscHost, port: opts.oscPort } : null,
    oscTargets: opts.oscTarget,
    web: opts.web ? { host: opts.webHost, port: opts.webPort, token: isLoopback(opts.webHost) ? null : newToken() } : null,
    midi: { input: opts.midiIn, output: opts.midiOut },
    output: { device: opts.device, sampleRate: opts.rate, bufferFrames: opts.buffer, nullSinkReason: plan.nullSinkReason, outputs: plan.outputs },
    latencyMs: opts.latency,
    prompt: opts.prompt,
    tempo: opts.tempo,
    seed: opts.seed,
    steer: opts.steer ?? {},
    watchEffects: codecTraits(plan.spec.codec).notes,
    quantize: opts.quantize,
    loopBars: opts.loopBars,
    sync: opts.sync,
    linkStartStop: opts.linkStartStop ?? false,
    recording: { record: opts.record, takes: opts.takes, overwrite: opts.overwrite ?? false, format: opts.recordFormat },
    notes: opts.midiNotesOut !== undefined || opts.recordMidi !== undefined ? { port: opts.midiNotesOut, record: opts.recordMidi, overwrite: opts.overwrite ?? false } : null,
  };
}
