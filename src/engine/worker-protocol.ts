/** Messages between the live engine's main side and its generation worker. */
import type { LoopMessage, LoopSettings } from './generation-loop.js';
import type { EngineCommand } from '../protocol.js';
import type { LoadOptions } from '../model/musicgen/index.js';
import type { KeepUpFigures } from './keep-up.js';
import type { KeepUpEffort } from './keep-up-timing.js';

export interface WorkerInit {
  modelDir: string;
  /** null: play without steering (a model with no probe set). */
  probesFile: string | null;
  features: string[];
  /** Which model files and where they run (--dtype, --ep, --threads). */
  load: Pick<LoadOptions, 'dtype' | 'ep' | 'threads'>;
  /** Measure whether the model keeps up before playing (null: no check). */
  check: KeepUpEffort | null;
  ring: SharedArrayBuffer;
  controls: SharedArrayBuffer;
  settings: LoopSettings;
}

/** What the worker opened: the decoder file (its dtype and, with probes, the prepared one), the provider and threads. */
export interface LoadedModel {
  decoder: string;
  ep: string;
  /** Intra-op threads (null: onnxruntime's choice). */
  threads: number | null;
}

export type ToWorker =
  | { type: 'command'; command: EngineCommand }
  /** Per-feature alphas (a preset's maxima); features left out go back to the steering default. */
  | { type: 'alphas'; alphas: Record<string, number> }
  /** After loaded: start generating. */
  | { type: 'play' }
  | { type: 'shutdown' };

export type ToMain =
  | LoopMessage
  /** The model is open (and, asked for, measured); the worker waits for play or shutdown. */
  | { type: 'loaded'; loaded: LoadedModel; keepUp: KeepUpFigures | null }
  | { type: 'ready'; model: string; codec: string; maxFrames: number }
  | { type: 'error'; message: string }
  | { type: 'closed' };
