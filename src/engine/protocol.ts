/**
 * What flows between the control layer, the engine and the outputs: commands
 * in (from MIDI, OSC, presets, the web page), telemetry out (to the status
 * view, OSC targets, MIDI LED rings). Plain data, so it crosses threads and
 * sockets as it is.
 */

/** A command to the live engine. Values are already validated and clamped by the control layer. */
export type EngineCommand =
  /** Strength of one feature in [-1, 1] (0 = leave the music alone). */
  | { type: 'strength'; feature: string; value: number }
  /** The text prompt: the music follows it from the next bar without a restart. */
  | { type: 'prompt'; text: string }
  /** Tempo in BPM (60..200). */
  | { type: 'tempo'; bpm: number }
  | { type: 'play' }
  | { type: 'stop' }
  /** Sampling temperature (> 0). */
  | { type: 'temperature'; value: number }
  /** Classifier-free guidance scale (>= 1). */
  | { type: 'guidance'; value: number }
  /** Start or stop the WAV recording. */
  | { type: 'record'; on: boolean }
  /** A preset was loaded (by name: nothing from outside names a path). */
  | { type: 'preset'; name: string };

export interface FeatureTelemetry {
  name: string;
  /** The strength the engine used at its last step. */
  strength: number;
  /** SMITIN's monitor value C_f in [0, 1] (NaN before the first reading). */
  monitor: number;
  /** The gain the monitor applied (0 = the feature is there, push stopped). */
  gain: number;
}

/** What the engine reports, a few times a second. */
export interface Telemetry {
  /** Seconds since the engine started. */
  time: number;
  playing: boolean;
  tempo: number;
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
  /** Prompt changes applied so far: each re-primes the model, at most once a bar. */
  reprimes?: number;
  /** Model frames generated so far (tinyband: 16ths; a bar is 16). */
  frames?: number;
  /** The take being recorded: its file and length (the session fills it in; the engine does not record). */
  take?: { file: string; seconds: number } | null;
  /** Problems with control input and recording so far, counted by 'source/kind'. */
  issues?: Record<string, number>;
}
