/**
 * The model folder and probe set that render and live play, checked before
 * any audio device, worker or session starts, in the order that names the
 * real problem: the folder's JSON files, then each .onnx file (present, a
 * regular file, a whole ONNX model whose declared inputs and outputs are the
 * MusicGen contract), and only then the probe set against the decoder (a
 * truncated decoder would otherwise be reported as "probes were trained on
 * another decoder"). Every failure is a UsageError (exit 2), one line that
 * names the file and the problem, so both commands exit alike for the same
 * folder.
 *
 * Cost: the .onnx files are read as protobuf field headers, not loaded (see
 * model/onnx/model-file.ts), and the probes' decoder fingerprint hashes at
 * most 64 MiB; on tinyband the whole check takes a few tens of milliseconds.
 */
import { existsSync } from 'node:fs';
import { readModelFolder } from '../model/families.js';
import type { DtypeChoice, ModelSpec } from '../model/musicgen/index.js';
import type { PromptTokenizer } from '../model/musicgen/tokenizer.js';
import { checkDecoder, checkEncodecDecoder, checkTextEncoder } from '../model/musicgen/contract.js';
import { asSession, readOnnxSignature } from '../model/onnx/model-file.js';
import { ensurePrepared } from '../smitin/prepare.js';
import { checkProbesFit, knobNames, modelIdentity, readProbeSet, type ProbeSet } from '../smitin/probe-set.js';
import { UsageError } from '../util/errors.js';
import { modelSteering } from '../smitin/steering-file.js';
import type { SteeringSettings } from '../smitin/steerer.js';
import { defaultProbesFile, findProbesFile, userProbesFile } from '../smitin/probe-location.js';

export interface ModelCheckOptions {
  dtype?: DtypeChoice;
  /** --probes as given: a file, "none" (play without steering), or undefined for the user's probes for this decoder or else the folder's probes.safetensors (smitin/probe-location.ts). */
  probes?: string;
  /** Steering is asked for (render --steer): no probe set is an error, not a note. */
  requireProbes?: boolean;
  /**
   * Make (or rebuild) the prepared decoder when there are probes; default
   * true. render passes false to check its steering arguments first and
   * prepares when it loads (loadSteerableModel).
   */
  prepare?: boolean;
}

export interface CheckedModel {
  spec: ModelSpec;
  /** The model's prompt tokenizer (which words it knows). */
  tokenizer: PromptTokenizer;
  /** The probe set, checked to fit this decoder; null: play without steering. */
  probes: ProbeSet | null;
  probesFile: string | null;
  /** The probe set's feature names ([] without probes). */
  features: string[];
  /** The model's own steering choices for these probes (its steering.json; {} when none apply). */
  steering: Partial<SteeringSettings>;
  /** The steerable decoder, made or rebuilt when needed; null without probes or with prepare: false. */
  preparedDecoder: string | null;
  /** One line each, for the user: no probes found, a prepared decoder rebuilt. */
  notes: string[];
  /** How long the check took, in milliseconds. */
  ms: number;
}

/** An error a user can fix (a file missing, unreadable, cut short) as a UsageError; anything else, a bug, as it is. */
function asUsage(err: unknown): unknown {
  if (err instanceof UsageError || !(err instanceof Error)) return err;
  return (err as NodeJS.ErrnoException).code ? new UsageError(err.message) : err;
}

/** Each .onnx file of `spec` is whole and declares what the MusicGen contract needs (without loading it). */
export function checkModelFiles(spec: ModelSpec): void {
  checkTextEncoder(asSession(readOnnxSignature(spec.files.textEncoder)), spec.dims.textDim);
  checkDecoder(asSession(readOnnxSignature(spec.files.decoder)), spec.dims);
  if (spec.files.codec) checkEncodecDecoder(asSession(readOnnxSignature(spec.files.codec)), spec.dims.codebooks);
}

/** Which probe set to use, or null (with the note that says why, if any): --probes, else the user's for this decoder, else the folder's own. */
function probesFileFor(dir: string, spec: ModelSpec, options: ModelCheckOptions, notes: string[]): string | null {
  if (options.probes === 'none') return null;
  if (options.probes !== undefined) return options.probes;
  const found = findProbesFile(dir, modelIdentity(spec));
  const shipped = defaultProbesFile(dir);
  if (found?.source === 'user') {
    notes.push(`note: steering with your probes ${found.file}${existsSync(shipped) ? ` (the model's own: --probes ${shipped})` : ''}`);
    return found.file;
  }
  if (found) return found.file;
  const train = `train them: smitin probes train --model ${dir}, which writes ${userProbesFile(modelIdentity(spec))}`;
  if (options.requireProbes) throw new UsageError(`--steer needs probes: ${shipped} does not exist (${train}; or give --probes FILE)`);
  notes.push(`note: ${shipped} does not exist: playing without steering (${train})`);
  return null;
}

/**
 * Reads and checks model folder `dir` and its probe set, model files first,
 * and prepares the steerable decoder when there are probes. Throws a
 * UsageError naming the file at the first problem.
 */
export function resolveModelAndProbes(dir: string, options: ModelCheckOptions = {}): CheckedModel {
  const t0 = performance.now();
  try {
    const { spec, tokenizer } = readModelFolder(dir, options.dtype ?? 'fp32');
    checkModelFiles(spec);
    const notes: string[] = [];
    const probesFile = probesFileFor(dir, spec, options, notes);
    const probes = probesFile ? readProbeSet(probesFile) : null;
    if (probes) checkProbesFit(probes, modelIdentity(spec), probesFile!);
    let preparedDecoder: string | null = null;
    if (probes && options.prepare !== false) {
      const prepared = ensurePrepared(dir, spec.dtype);
      preparedDecoder = prepared.path;
      if (prepared.note) notes.push(prepared.note);
    }
    const steering = probes ? modelSteering(dir, probesFile!, probes) : {};
    return { spec, tokenizer, probes, probesFile, features: probes ? knobNames(probes) : [], steering, preparedDecoder, notes, ms: performance.now() - t0 };
  } catch (err) {
    throw asUsage(err);
  }
}

/**
 * smitin live's model: the folder's files of `dtype`, the probe set `probes`
 * (--probes: a file, "none", or undefined for the folder's own when it has
 * one) and the prepared decoder, checked and made before any audio starts.
 * `note`: the one line to show, if any (no probes found, or a prepared
 * decoder rebuilt; never both, the second needs probes).
 */
export function resolveLiveModel(dir: string, probes?: string, dtype: DtypeChoice = 'fp32'): CheckedModel & { note: string | null } {
  const checked = resolveModelAndProbes(dir, { probes, dtype });
  return { ...checked, note: checked.notes.length ? checked.notes.join('; ') : null };
}
