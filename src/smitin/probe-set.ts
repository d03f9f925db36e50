/**
 * A probe set: for each feature, one linear probe per attention head (layer
 * l, head h) on that head's output z_{l,h} (its slice of the out_proj input
 * at the last position), with what SMITIN steers by: validation accuracy,
 * the unit direction theta (the probe's weight, and the mass-mean shift as
 * the alternative ITI recommends) and sigma (the std of the activations
 * projected on it).
 *
 * File: safetensors (see util/safetensors.ts), F32 tensors named
 * `<feature>.<field>` with shape [layers, heads] or [layers, heads, headDim],
 * and `__metadata__.smitin` a JSON string with the format, the model the
 * probes belong to and how they were trained. A probe set made for one model
 * is refused for another: the head outputs of two models share no basis.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { onnxPath, type ModelSpec } from '../model/musicgen/index.js';
import { hubNameOf } from '../hub/cache-layout.js';
import { UsageError } from '../util/errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../util/safetensors.js';

export const PROBE_FORMAT = 'smitin-probes';
export const PROBE_FORMAT_VERSION = 1;

/** Per-head fields ([layers, heads]) and per-head vectors ([layers, heads, headDim]) of one feature. */
export const HEAD_FIELDS = ['accuracy', 'bias', 'sigma', 'massMeanSigma'] as const;
export const VECTOR_FIELDS = ['weights', 'direction', 'massMeanDirection'] as const;
type HeadField = (typeof HEAD_FIELDS)[number];
type VectorField = (typeof VECTOR_FIELDS)[number];

export interface FeatureProbes extends Record<HeadField | VectorField, Float32Array> {
  name: string;
  /** What the positive and negative examples were. */
  description: string;
  /** Examples in the train and validation splits. */
  train: number;
  validation: number;
  /**
   * Absent: a knob (render --steer, live, OSC and the web page steer it).
   * `monitor`: read by the steerer but never a knob; its direction is one a
   * push may be kept off (steering.json's removalOrthogonalTo): tinyband's
   * `sounding`, whether the band plays at all.
   */
  role?: ProbeRole;
}

export const PROBE_ROLES = ['monitor'] as const;
export type ProbeRole = (typeof PROBE_ROLES)[number];

/** The features of a set that are knobs, in the set's order. */
export function knobNames(set: ProbeSet): string[] {
  return set.features.filter((f) => f.role === undefined).map((f) => f.name);
}

/** Which model a probe set belongs to. */
export interface ModelIdentity {
  /** The model folder's name when the probes were trained (informative). */
  name: string;
  layers: number;
  heads: number;
  headDim: number;
  /** sha256 of the fp32 decoder's first 64 MiB and its byte size: cheap for a 3 GB MusicGen, exact for tinyband. */
  decoderFingerprint: string;
}

export interface ProbeSet {
  model: ModelIdentity;
  features: FeatureProbes[];
  /** How the probes were trained (settings, seeds, timings): free-form, recorded in the file. */
  training: Record<string, unknown>;
}

const FINGERPRINT_BYTES = 64 * 1024 * 1024;

/** Fingerprints already taken in this process, by file and the stat that says it is unchanged (a check and a load both ask). */
const fingerprints = new Map<string, { stamp: string; fingerprint: string }>();

export function decoderFingerprint(file: string): string {
  const st = statSync(file);
  const size = st.size;
  const stamp = `${st.dev}:${st.ino}:${size}:${st.mtimeMs}`;
  const known = fingerprints.get(file);
  if (known?.stamp === stamp) return known.fingerprint;
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, FINGERPRINT_BYTES));
    readSync(fd, buf, 0, buf.length, 0);
    hash.update(buf);
  } finally {
    closeSync(fd);
  }
  hash.update(`size=${size}`);
  const fingerprint = hash.digest('hex');
  fingerprints.set(file, { stamp, fingerprint });
  return fingerprint;
}

/** The identity of a loaded model folder: from its fp32 decoder when the folder has one (fp16 / q8 variants share its probes), else the decoder in use. */
export function modelIdentity(spec: ModelSpec): ModelIdentity {
  const fp32 = onnxPath(spec.dir, 'decoder_model_merged', 'fp32');
  const file = existsSync(fp32) ? fp32 : spec.files.decoder;
  return {
    name: hubNameOf(spec.dir) ?? basename(spec.dir),
    layers: spec.dims.layers,
    heads: spec.dims.heads,
    headDim: spec.dims.headDim,
    decoderFingerprint: decoderFingerprint(file),
  };
}

/** Refuses a probe set made for another model (a UsageError: the user's file does not fit); `file` names it in the message. */
export function checkProbesFit(probes: ProbeSet, model: ModelIdentity, file: string): void {
  const p = probes.model;
  if (p.layers !== model.layers || p.heads !== model.heads || p.headDim !== model.headDim) {
    throw new UsageError(
      `${file}: probes for a model with ${p.layers} layers x ${p.heads} heads x ${p.headDim} dims (${p.name}); this model (${model.name}) has ${model.layers} x ${model.heads} x ${model.headDim}`,
    );
  }
  if (p.decoderFingerprint !== model.decoderFingerprint) {
    throw new UsageError(`${file}: probes were trained on another decoder (${p.name}, fingerprint ${p.decoderFingerprint.slice(0, 12)}); this one (${model.name}) is ${model.decoderFingerprint.slice(0, 12)}: train probes for it with smitin probes train`);
  }
}

export function encodeProbeSet(set: ProbeSet): Uint8Array {
  const { layers, heads, headDim } = set.model;
  const tensors: Record<string, NamedTensor> = {};
  for (const f of set.features) {
    for (const field of HEAD_FIELDS) tensors[`${f.name}.${field}`] = { shape: [layers, heads], data: f[field] };
    for (const field of VECTOR_FIELDS) tensors[`${f.name}.${field}`] = { shape: [layers, heads, headDim], data: f[field] };
  }
  const meta = {
    format: PROBE_FORMAT,
    version: PROBE_FORMAT_VERSION,
    model: set.model,
    features: set.features.map((f) => ({ name: f.name, description: f.description, train: f.train, validation: f.validation, ...(f.role && { role: f.role }) })),
    training: set.training,
  };
  return encodeSafetensors(tensors, { smitin: JSON.stringify(meta) });
}

export function decodeProbeSet(bytes: Uint8Array, file: string): ProbeSet {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes, file);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { tensors, metadata } = decoded;
  const fail = (what: string): never => {
    throw new UsageError(`${file}: not a SMITIN probe set: ${what}`);
  };
  let meta: { format?: string; version?: number; model?: ModelIdentity; features?: { name: string; description: string; train: number; validation: number; role?: unknown }[]; training?: Record<string, unknown> };
  if (metadata.smitin === undefined) fail('no __metadata__.smitin');
  try {
    meta = JSON.parse(metadata.smitin!);
  } catch (err) {
    return fail(`__metadata__.smitin is not JSON (${(err as Error).message})`);
  }
  if (typeof meta !== 'object' || meta === null) fail('__metadata__.smitin is not a JSON object');
  if (meta.format !== PROBE_FORMAT) fail(`format is ${meta.format}, expected ${PROBE_FORMAT}`);
  if (meta.version !== PROBE_FORMAT_VERSION) fail(`version ${meta.version}; this smitin reads version ${PROBE_FORMAT_VERSION}`);
  const model = meta.model ?? fail('no model identity');
  const { layers, heads, headDim } = model;
  if (![layers, heads, headDim].every((n) => Number.isInteger(n) && n > 0)) fail('model.layers, heads and headDim must be positive integers');
  if (!Array.isArray(meta.features) || meta.features.length === 0) fail('no features');
  const features = meta.features!.map((f) => {
    const get = (field: string, shape: number[]): Float32Array => {
      const t = tensors.get(`${f.name}.${field}`) ?? fail(`feature ${f.name} has no tensor ${f.name}.${field}`);
      if (t.shape.join(',') !== shape.join(',')) fail(`${f.name}.${field} is [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
      if (!t.data.every(Number.isFinite)) fail(`${f.name}.${field} holds non-finite values`);
      return t.data;
    };
    if (f.role !== undefined && !(PROBE_ROLES as readonly unknown[]).includes(f.role)) fail(`feature ${f.name} has role ${JSON.stringify(f.role)}, expected ${PROBE_ROLES.join(', ')} or none (a knob)`);
    const out = { name: f.name, description: f.description ?? '', train: f.train ?? 0, validation: f.validation ?? 0, ...(f.role !== undefined && { role: f.role as ProbeRole }) } as FeatureProbes;
    for (const field of HEAD_FIELDS) out[field] = get(field, [layers, heads]);
    for (const field of VECTOR_FIELDS) out[field] = get(field, [layers, heads, headDim]);
    return out;
  });
  return { model, features, training: meta.training ?? {} };
}

export function readProbeSet(file: string): ProbeSet {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UsageError(`${file}: cannot read the probe set (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return decodeProbeSet(bytes, file);
}

export function findFeature(set: ProbeSet, name: string, file: string): FeatureProbes {
  const f = set.features.find((x) => x.name === name);
  if (!f) throw new UsageError(`${file}: has no probes for feature ${name} (it has: ${set.features.map((x) => x.name).join(', ')})`);
  return f;
}
