/**
 * The model families smitin can play, found by config.json's model_type as
 * transformers.js finds a model's classes (its MODEL_TYPE_MAPPING): the
 * folder's config names its family, and that family's own reader checks
 * the rest of the folder. Code that opens a model folder goes through
 * readModelFolder / loadModel here, not through a family's reader.
 *
 * A family reads a folder into the spec and model the runtime plays today
 * (MusicGen's ModelSpec and MusicgenModel); a next family adds its entry
 * below and returns the same, or those types widen with it. Its decoder
 * is what SMITIN steers through SteerableDecoder (steerable-decoder.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DtypeChoice } from './musicgen/dtype.js';
import { loadModel as loadMusicgen, readModelFolder as readMusicgenFolder, type LoadOptions, type ModelSpec, type MusicgenModel } from './musicgen/folder.js';
import type { PromptTokenizer } from './musicgen/tokenizer.js';
import { ModelFileError } from './onnx/session.js';

export interface ModelFamily {
  /** Reads and checks the folder's files and finds its graphs, without opening them. */
  readFolder(dir: string, choice?: DtypeChoice): { spec: ModelSpec; tokenizer: PromptTokenizer };
  /** Reads the folder and opens its sessions, checked against the family's contract. */
  load(dir: string, options?: LoadOptions): Promise<MusicgenModel>;
}

/** config.json model_type -> family. */
const FAMILIES: Readonly<Record<string, ModelFamily>> = {
  musicgen: { readFolder: readMusicgenFolder, load: loadMusicgen },
};

/**
 * The family a folder goes to when its config.json names none it can be
 * asked for (no folder, no config.json, not JSON, no model_type string): the
 * first family, whose reader then says what is wrong in its own words.
 */
const FALLBACK = 'musicgen';

/** The model_type values smitin can play. */
export const MODEL_TYPES: readonly string[] = Object.keys(FAMILIES);

/** config.json's model_type when it can be read as a string, else undefined. */
function modelTypeOf(configPath: string): string | undefined {
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch {
    return undefined;
  }
  const type = typeof config === 'object' && config !== null ? (config as { model_type?: unknown }).model_type : undefined;
  return typeof type === 'string' ? type : undefined;
}

/** The family of model folder `dir`, by its config.json's model_type; a ModelFileError for one smitin does not know. */
export function familyOf(dir: string): ModelFamily {
  const configPath = join(dir, 'config.json');
  const type = modelTypeOf(configPath);
  if (type === undefined) return FAMILIES[FALLBACK];
  if (!Object.hasOwn(FAMILIES, type)) {
    throw new ModelFileError(`${configPath}: model_type ${JSON.stringify(type)} is not a model family smitin can play; known: ${MODEL_TYPES.join(', ')}`);
  }
  return FAMILIES[type];
}

/** Reads and checks model folder `dir` with its family's reader (see familyOf). */
export function readModelFolder(dir: string, choice: DtypeChoice = 'fp32'): { spec: ModelSpec; tokenizer: PromptTokenizer } {
  return familyOf(dir).readFolder(dir, choice);
}

/** Opens model folder `dir` with its family's loader (see familyOf). */
export async function loadModel(dir: string, options: LoadOptions = {}): Promise<MusicgenModel> {
  return familyOf(dir).load(dir, options);
}
