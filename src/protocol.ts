/**
 * The live protocol, transport-neutral: what flows between the control
 * layer, the engine and the outputs. Commands in (from MIDI, OSC, presets,
 * the web page), telemetry out (to the status view, OSC targets, MIDI LED
 * rings). Plain data, so it crosses threads and sockets as it is. The range
 * of every control is defined here once: the OSC namespace, presets, the
 * MIDI mapping and the engine all check against it.
 */
import { BEATS_PER_BAR, MAX_TEMPO, MIN_TEMPO } from './constants.js';

export interface Range {
  min: number;
  max: number;
}

/** Every continuous control's range: out-of-range values from outside are clamped to it (and reported), the engine refuses them. */
export const CONTROL_RANGES = {
  /** A feature's strength: 1 pushes it in, -1 pushes it out, 0 leaves the music alone. */
  strength: { min: -1, max: 1 },
  /** Sampling temperature: lower is safer, higher is wilder. */
  temperature: { min: 0.05, max: 4 },
  /** Classifier-free guidance scale: how closely the music follows the prompt. */
  guidance: { min: 1, max: 20 },
  /** Tempo in BPM. */
  tempo: { min: MIN_TEMPO, max: MAX_TEMPO },
} as const satisfies Record<string, Range>;

/** Bar and beat (both from 1) of a position in beats, in 4/4. */
export function barBeat(beats: number): { bar: number; beat: number } {
  const b = Math.max(0, Math.floor(beats + 1e-9));
  return { bar: Math.floor(b / BEATS_PER_BAR) + 1, beat: (b % BEATS_PER_BAR) + 1 };
}

/** Where a control change lands in the music: the next frame made ('off'), or the first frame on the next beat or bar line. */
export const QUANTIZE_MODES = ['off', 'beat', 'bar', '4bars', '8bars'] as const;
export type Quantize = (typeof QUANTIZE_MODES)[number];

/** Loop lengths in bars (`/smitin/loop`, `--loop-bars`, a preset's loop button); 0 releases the loop. */
export const LOOP_BARS = [1, 2, 4, 8] as const;
export type LoopBars = (typeof LOOP_BARS)[number];
/** The loop button's length when `--loop-bars` does not say. */
export const DEFAULT_LOOP_BARS: LoopBars = 4;

/** Whether `n` is a loop length, or 0 (release). */
export function isLoopCommand(n: number): n is LoopBars | 0 {
  return n === 0 || (LOOP_BARS as readonly number[]).includes(n);
}

/** The longest prompt accepted, in characters. */
export const MAX_PROMPT_LENGTH = 500;

/** Controls that are not features but can be learned onto a knob. */
export const SETTING_TARGETS = ['temperature', 'guidance', 'tempo'] as const;
export type SettingName = (typeof SETTING_TARGETS)[number];

/** The span a knob covers when its preset (or MIDI learn) does not say: the musical part of each range. */
export const KNOB_DEFAULT_RANGES: Record<'strength' | SettingName, Range> = {
  strength: CONTROL_RANGES.strength,
  temperature: { min: 0.5, max: 1.5 },
  guidance: { min: 1, max: 6 },
  tempo: CONTROL_RANGES.tempo,
};

/** Whether `v` is a finite number within `r`. */
export function inRange(r: Range, v: number): boolean {
  return Number.isFinite(v) && v >= r.min && v <= r.max;
}

/** `v` when it is within the control's range; a RangeError naming the control and its range otherwise (commands reach the engine already clamped). */
export function checkControl(name: keyof typeof CONTROL_RANGES, v: number): number {
  const r = CONTROL_RANGES[name];
  if (!inRange(r, v)) throw new RangeError(`${name} must be in [${r.min}, ${r.max}], got: ${v}`);
  return v;
}

/** A command to the live engine. Values are already validated and clamped by the control layer. */
export type EngineCommand =
  /** Strength of one feature in [-1, 1] (0 = leave the music alone). */
  | { type: 'strength'; feature: string; value: number }
  /** The text prompt: the music follows it from the next bar without a restart. */
  | { type: 'prompt'; text: string }
  /** Tempo in BPM (CONTROL_RANGES.tempo). */
  | { type: 'tempo'; bpm: number }
  /**
   * Play. With a cue (a DAW's start or song position, src/sync/): what was queued is dropped with a fade, and the
   * music restarts at song position `beats` (from bar 1's downbeat; on tinyband's bar lines), its first sample handed
   * to the device at `at` (performance.now() ms, main thread); a cue that is late skips into the music, so the grid holds.
   */
  | { type: 'play'; cue?: Cue }
  | { type: 'stop' }
  /** Sampling temperature (CONTROL_RANGES.temperature). */
  | { type: 'temperature'; value: number }
  /** Classifier-free guidance scale (CONTROL_RANGES.guidance). */
  | { type: 'guidance'; value: number }
  /** Start or stop the WAV recording. */
  | { type: 'record'; on: boolean }
  /** Freeze the last `bars` bars and repeat them exactly (from the next bar line) until 0, a knob or the prompt moves. */
  | { type: 'loop'; bars: LoopBars | 0 }
  /** A preset was loaded (by name: nothing from outside names a path). */
  | { type: 'preset'; name: string };

/** Where a synced start puts the music: song position in beats (0 = bar 1), and when its first sample is handed out. */
export interface Cue {
  beats: number;
  at: number;
}

/**
 * What a client is told when it connects (or asks with /smitin/state),
 * before any telemetry: the parts of the session's state that telemetry
 * does not repeat several times a second.
 */
export interface SessionState {
  /** The steerable features, in the probe set's order (empty without steering). */
  features: readonly string[];
  /** The prompt words the model knows; null when its tokenizer takes any word. */
  knownWords: readonly string[] | null;
  /** The presets /smitin/preset can load, by name. */
  presetNames: readonly string[];
  /** The MIDI-learn target armed now, null when none. */
  learning: string | null;
  /** The loop button's length in bars (`--loop-bars`). */
  loopBars: LoopBars;
}

export interface FeatureTelemetry {
  name: string;
  /** The strength the engine used at its last step. */
  strength: number;
  /** SMITIN's monitor value C_f in [0, 1] (NaN before the first reading). */
  monitor: number;
  /** The gain the monitor applied (0 = the feature is there, push stopped). */
  gain: number;
}

/** What the last knob move of a feature did, as heard (tinyband's instruments: session/time-to-effect.ts). */
export interface FeatureEffect {
  /** A move to a positive strength asks for the instrument in, to a negative one for it out. */
  direction: 'in' | 'out';
  /** 'waiting' until it is heard, or 'none' once 4 bars passed without it. */
  state: 'waiting' | 'heard' | 'none';
  /** Beats from the move to the effect, once heard; while waiting, beats since the move. */
  beats: number;
}

/** What the engine reports, a few times a second. */
export interface Telemetry {
  /** Seconds since the engine started. */
  time: number;
  playing: boolean;
  tempo: number;
  /** The prompt the model plays (a new one applies at the next bar line). */
  prompt: string;
  features: FeatureTelemetry[];
  /** Seconds of audio generated per second of generation work (> 1: keeps up). */
  realtimeFactor: number;
  /** Milliseconds of one decoder step (mean since the last report). */
  stepMs: number;
  /** Audio waiting in the ring, in milliseconds. */
  ringMs: number;
  /** Times the output found the ring empty (faded to silence). */
  underruns: number;
  /** Output device latency in milliseconds, as the device reports it. */
  deviceLatencyMs: number;
  /** Measured control latency (command received -> first sample with it reaching the output), ms; NaN until measured. */
  controlLatencyMs: number;
  recording: boolean;
  /** Bars being looped (repeated exactly) now; 0 when the model generates. */
  looping?: number;
  /** Prompt changes applied so far: each re-primes the model, at most once a bar. */
  reprimes?: number;
  /** Model frames generated so far (tinyband: 16ths; a bar is 16). */
  frames?: number;
  /** Beats of music heard so far (handed to the device), at 16th-note resolution: the bar/beat counter. */
  beats?: number;
  /** Per instrument feature: what its last knob move did, as heard (the session fills it in, on tinyband). */
  effects?: Record<string, FeatureEffect>;
  /** The take being recorded: its file and length (the session fills it in; the engine does not record). */
  take?: { file: string; seconds: number } | null;
  /** Sampling temperature and guidance scale the engine plays with now. */
  temperature?: number;
  guidance?: number;
  /** The output's peak level since the last report, dB full scale (-Infinity: silence; the session fills it in). */
  peakDbfs?: number;
  /** The controller preset in force (the session fills it in). */
  preset?: string;
  /** Words of the prompt the model does not know (read as <unk>; the session fills it in). */
  unknownWords?: string[];
  /** Problems with control input and recording so far, counted by 'source/kind'. */
  issues?: Record<string, number>;
  /**
   * Present when the session plays although the check at start found that this machine cannot keep up (--force):
   * the multiple of real time measured, the gap between audio writes against the ring, and which of them falls short.
   */
  deficit?: { multiple: number; gapMs: number; latencyMs: number; reason: 'ok' | 'slow' | 'ring' };
}
