/**
 * Where probe sets live. A model folder may ship one (`<model>/probes.safetensors`,
 * as models/tinyband does, tracked in git); the probes a user trains go to
 * the user's data folder, keyed by the decoder they were trained on, so that
 * training never overwrites what a model shipped with and render, live and
 * eval find the user's set for that model (and only for it) by themselves.
 *
 *   $XDG_DATA_HOME/smitin/probes/<decoder fingerprint, 16 hex>/probes.safetensors
 *   (XDG_DATA_HOME defaults to ~/.local/share)
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ModelIdentity } from './probe-set.js';

/** How --probes' default reads in every command's help. */
export const PROBES_DEFAULT_HELP = "default: your probes for the model's decoder (smitin probes train), else the model folder's probes.safetensors";

/** The probe set a model folder ships with. */
export const PROBES_FILE = 'probes.safetensors';

export function defaultProbesFile(modelDir: string): string {
  return join(modelDir, PROBES_FILE);
}

/** smitin's folder in the user's data directory (XDG base directories; read per call, so a test or a user can point it elsewhere). */
export function userDataDir(): string {
  const xdg = process.env.XDG_DATA_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'share'), 'smitin');
}

/** Where `smitin probes train` puts a probe set for `model` unless told otherwise. */
export function userProbesFile(model: ModelIdentity): string {
  return join(userDataDir(), 'probes', model.decoderFingerprint.slice(0, 16), PROBES_FILE);
}

export interface FoundProbes {
  file: string;
  /** 'user': trained by the user for this decoder; 'model': the one the model folder ships. */
  source: 'user' | 'model';
}

/** The probe set to use for a model when none is named: the user's for its decoder, else the folder's own; null when neither exists. */
export function findProbesFile(modelDir: string, model: ModelIdentity): FoundProbes | null {
  const user = userProbesFile(model);
  if (existsSync(user)) return { file: user, source: 'user' };
  const shipped = defaultProbesFile(modelDir);
  return existsSync(shipped) ? { file: shipped, source: 'model' } : null;
}
