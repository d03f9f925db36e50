/**
 * Preparing a model folder's decoder for steering (smitin prepare), and
 * opening a model with its prepared decoder. The prepared graph records the
 * fingerprint of the decoder it was made from (SOURCE_KEY); one that does not
 * parse, records another decoder or none is rebuilt, in place of the old one
 * only once it is whole (PendingFile).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadModel, readModelFolder } from '../model/families.js';
import type { DtypeChoice, LoadOptions, ModelSpec, MusicgenModel } from '../model/musicgen/index.js';
import { readOnnxSignature } from '../model/onnx/model-file.js';
import { ModelFileError } from '../model/onnx/session.js';
import { UsageError } from '../util/errors.js';
import { PendingFile } from '../util/pending-file.js';
import { decoderFingerprint } from './probe-set.js';
import { PREPARED_KEY, prepareBytes, preparedPath, SOURCE_KEY } from './surgery.js';

/** Staleness reasons that are routine (a first use, a file from before SOURCE_KEY): rebuilt without a note. */
const MISSING = 'missing';
const UNRECORDED = 'it does not record which decoder it was made from (made by an older smitin)';

export interface PrepareSummary {
  source: string;
  out: string;
  layers: number;
  width: number;
  graphs: string[];
  externalTensors: number;
  bytes: number;
  ms: number;
}

/** Writes the prepared decoder of `spec` into `file` (opened, not yet committed). */
function writePrepared(spec: ModelSpec, file: PendingFile, t0: number): PrepareSummary {
  const source = spec.files.decoder;
  // a truncated or corrupt decoder is named as such here, not as a protobuf error from the parse below
  readOnnxSignature(source);
  const result = prepareBytes(readFileSync(source), source, spec.dims.layers, decoderFingerprint(source));
  const width = spec.dims.heads * spec.dims.headDim;
  if (result.width !== width) {
    throw new ModelFileError(`${source}: out_proj takes ${result.width} values per position, but config.json gives heads x head dim = ${width}`);
  }
  file.write(result.bytes);
  return { source, out: file.path, layers: result.layers, width: result.width, graphs: result.graphs, externalTensors: result.externalTensors, bytes: result.bytes.length, ms: performance.now() - t0 };
}

/** Prepares the decoder of model folder `dir` (checked as `render` checks it) and writes the .iti.onnx beside it. */
export async function prepareFolder(dir: string, dtype: DtypeChoice = 'fp32'): Promise<PrepareSummary> {
  const t0 = performance.now();
  const { spec } = readModelFolder(dir, dtype);
  const out = preparedPath(spec.files.decoder);
  // opened first: an unwritable folder fails before the work
  const summary = await PendingFile.produce(out, 'prepared model', (f) => writePrepared(spec, f, t0));
  return { ...summary, bytes: statSync(out).size };
}

/**
 * Why the prepared decoder `out` cannot serve for `source`, or null when it can.
 * Cheap: the prepared file's metadata is read without loading it, and the
 * fingerprint reads at most 64 MiB of the source.
 */
export function preparedStaleness(out: string, source: string): string | null {
  if (!existsSync(out)) return MISSING;
  let metadata: ReadonlyMap<string, string>;
  try {
    metadata = readOnnxSignature(out).metadata;
  } catch (err) {
    if (!(err instanceof ModelFileError)) throw err;
    // the message starts with the path and ends with advice for downloads; the note says both its own way
    return err.message.replace(`${out}: `, '').replace(/( \(an interrupted download or export\?\))?: re-download or re-export the model$/, '');
  }
  if (!metadata.has(PREPARED_KEY)) return `it is not a prepared decoder (no ${PREPARED_KEY} metadata)`;
  const recorded = metadata.get(SOURCE_KEY);
  if (!recorded) return UNRECORDED;
  const fingerprint = decoderFingerprint(source);
  if (recorded !== fingerprint) return `it was made from another decoder (fingerprint ${recorded.slice(0, 12)}; ${source} is ${fingerprint.slice(0, 12)})`;
  return null;
}

export interface PreparedDecoder {
  path: string;
  /** Why it was written now ("missing", "truncated: ...", "it was made from another decoder ..."); null: the file there was current. */
  rebuilt: string | null;
  /** One line for the user when it was rebuilt for a reason worth telling (it did not parse, it came from another decoder); null for a first use. */
  note: string | null;
}

/**
 * The prepared decoder of `dir`, written first when it is missing or stale
 * (preparedStaleness). A folder that cannot be written is a UsageError that
 * says so and how to prepare it elsewhere. Synchronous (it blocks for the
 * rebuild: about a second per GB of decoder) so that a command's checks can
 * run it before anything starts.
 */
export function ensurePrepared(dir: string, dtype: DtypeChoice = 'fp32'): PreparedDecoder {
  const t0 = performance.now();
  const { spec } = readModelFolder(dir, dtype);
  const out = preparedPath(spec.files.decoder);
  const reason = preparedStaleness(out, spec.files.decoder);
  if (reason === null) return { path: out, rebuilt: null, note: null };
  let file: PendingFile;
  try {
    file = PendingFile.open(out, 'prepared decoder');
  } catch (err) {
    const why = (err as Error).message.replace(/^.* cannot be written: /, '');
    const what = reason === MISSING ? `steering needs ${out}, which does not exist yet` : `${out} must be rebuilt for steering (${reason})`;
    throw new UsageError(`${what}, but ${dirname(out)} cannot be written (${why}): run smitin prepare --model ${dir} where the folder is writable, or copy the folder somewhere writable`);
  }
  try {
    writePrepared(spec, file, t0);
    file.commit();
  } catch (err) {
    file.discard();
    throw err;
  }
  const quiet = reason === MISSING || reason === UNRECORDED;
  return { path: out, rebuilt: reason, note: quiet ? null : `note: rebuilt ${out} (${reason}) in ${Math.round(performance.now() - t0)} ms` };
}

export interface SteerableLoadOptions extends LoadOptions {
  /** Told when the prepared decoder was (re)written (PreparedDecoder.note). */
  onNote?: (note: string) => void;
}

/** Opens a model with its steerable decoder (preparing it on first use, rebuilding a stale one). */
export async function loadSteerableModel(dir: string, options: SteerableLoadOptions = {}): Promise<MusicgenModel> {
  const { onNote, ...load } = options;
  const prepared = ensurePrepared(dir, load.dtype ?? 'fp32');
  if (prepared.note) onNote?.(prepared.note);
  return loadModel(dir, { ...load, decoderFile: prepared.path });
}
