/** Messages between the live engine's main side and its generation worker. */
import type { LoopMessage, LoopSettings } from './generation-loop.js';
import type { EngineCommand } from '../protocol.js';

export interface WorkerInit {
  modelDir: string;
  /** null: play without steering (a model with no probe set). */
  probesFile: string | null;
  features: string[];
  threads?: number;
  ring: SharedArrayBuffer;
  controls: SharedArrayBuffer;
  settings: LoopSettings;
}

export type ToWorker =
  | { type: 'command'; command: EngineCommand }
  /** Per-feature alphas (a preset's maxima); features left out go back to the steering default. */
  | { type: 'alphas'; alphas: Record<string, number> }
  | { type: 'shutdown' };

export type ToMain =
  | LoopMessage
  | { type: 'ready'; model: string; codec: string; maxFrames: number }
  | { type: 'error'; message: string }
  | { type: 'closed' };
