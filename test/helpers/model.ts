/**
 * The model the runtime tests run on: SMITIN_TEST_MODEL when set (any export
 * with the MusicGen contract), else the shipped models/tinyband.
 * Tests that need a model skip, saying why, when none exists.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './cli.js';

export const SHIPPED_MODEL = fileURLToPath(new URL('../../models/tinyband', import.meta.url));

function isModelFolder(dir: string): boolean {
  return ['config.json', 'generation_config.json', 'tokenizer.json', 'onnx/text_encoder.onnx', 'onnx/decoder_model_merged.onnx'].every((f) =>
    existsSync(join(dir, f)),
  );
}

function findModel(): string | null {
  const candidates = [process.env.SMITIN_TEST_MODEL, SHIPPED_MODEL].filter((d): d is string => !!d);
  return candidates.find(isModelFolder) ?? null;
}

export const MODEL_DIR: string | null = findModel();

export const NO_MODEL_REASON = `no model to test on: ${process.env.SMITIN_TEST_MODEL ?? SHIPPED_MODEL} does not hold config.json, generation_config.json, tokenizer.json and onnx/{text_encoder,decoder_model_merged}.onnx`;

if (!MODEL_DIR) console.warn(`skipping model tests: ${NO_MODEL_REASON}`);

export type Json = Record<string, any>; // config files are free-form JSON that tests edit in place

/**
 * A copy of a model folder that is cheap to change: the JSON files are
 * copied (to edit), the .onnx files linked (they are large).
 */
export function linkedCopy(src: string, prefix = 'smitin-model-'): string {
  const dir = tempDir(prefix);
  mkdirSync(join(dir, 'onnx'));
  for (const f of readdirSync(src)) if (f.endsWith('.json')) copyFileSync(join(src, f), join(dir, f));
  for (const f of readdirSync(join(src, 'onnx'))) symlinkSync(realpathSync(join(src, 'onnx', f)), join(dir, 'onnx', f));
  return dir;
}

/** A linked copy of the test model in which `mutate` breaks something. */
export function brokenCopy(mutate: (dir: string) => void): string {
  const dir = linkedCopy(MODEL_DIR!);
  mutate(dir);
  return dir;
}

export function editJson(dir: string, file: string, edit: (j: Json) => void): void {
  const path = join(dir, file);
  const j = JSON.parse(readFileSync(path, 'utf8')) as Json;
  edit(j);
  writeFileSync(path, JSON.stringify(j));
}

