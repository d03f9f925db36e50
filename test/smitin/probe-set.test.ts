/**
 * The probe-set file: safetensors that numpy reads without our code, a
 * round trip that keeps every value, the model check, and errors that name
 * the file and what is wrong.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readModelFolder } from '../../src/model/musicgen/index.js';
import { checkProbesFit, decodeProbeSet, encodeProbeSet, knobNames, modelIdentity, readProbeSet, type FeatureProbes, type ProbeSet } from '../../src/smitin/probe-set.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/util/safetensors.js';
import { tempDir } from '../helpers/cli.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';
import { pythonWithNumpy } from '../helpers/python.js';

const TINY = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));

function feature(name: string, layers: number, heads: number, headDim: number, base: number): FeatureProbes {
  const n = layers * heads;
  const v = (len: number, k: number) => Float32Array.from({ length: len }, (_, i) => base + k + i / 7);
  return {
    name,
    description: `${name} pairs`,
    train: 80,
    validation: 20,
    accuracy: v(n, 0),
    bias: v(n, 1),
    sigma: v(n, 2),
    massMeanSigma: v(n, 3),
    weights: v(n * headDim, 4),
    direction: v(n * headDim, 5),
    massMeanDirection: v(n * headDim, 6),
  };
}

const identity = { name: 'toy', layers: 2, heads: 3, headDim: 4, decoderFingerprint: 'ab'.repeat(32) };
const set: ProbeSet = { model: identity, features: [feature('drums', 2, 3, 4, 0), feature('minor', 2, 3, 4, 100)], training: { pairs: 50 } };

describe('probe set file', () => {
  it('round-trips every tensor, the model identity and the training record', () => {
    const back = decodeProbeSet(encodeProbeSet(set), 'toy.safetensors');
    expect(back.model).toEqual(identity);
    expect(back.training).toEqual({ pairs: 50 });
    expect(back.features.map((f) => f.name)).toEqual(['drums', 'minor']);
    for (const [i, f] of back.features.entries()) {
      for (const field of ['accuracy', 'bias', 'sigma', 'massMeanSigma', 'weights', 'direction', 'massMeanDirection'] as const) {
        expect(Array.from(f[field])).toEqual(Array.from(set.features[i][field]));
      }
      expect(f.description).toBe(set.features[i].description);
    }
  });

  it.skipIf(!pythonWithNumpy())('is plain safetensors: numpy reads the header and the data without our code', () => {
    const dir = tempDir();
    const file = join(dir, 'p.safetensors');
    writeFileSync(file, encodeProbeSet(set));
    const script = [
      'import json, struct, sys, numpy as np',
      'b = open(sys.argv[1], "rb").read()',
      'n = struct.unpack("<Q", b[:8])[0]',
      'h = json.loads(b[8:8 + n])',
      'e = h["minor.weights"]',
      'a, z = e["data_offsets"]',
      'x = np.frombuffer(b[8 + n + a: 8 + n + z], dtype="<f4").reshape(e["shape"])',
      'm = json.loads(h["__metadata__"]["smitin"])',
      'print(json.dumps({"shape": list(x.shape), "v": float(x[1, 2, 3]), "model": m["model"]["name"], "aligned": (8 + n) % 8 == 0}))',
    ].join('\n');
    const r = spawnSync(pythonWithNumpy()!, ['-c', script, file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.shape).toEqual([2, 3, 4]);
    // minor.weights: base 100 + 4 + i/7 at flat index (1*3 + 2)*4 + 3 = 23
    expect(out.v).toBeCloseTo(104 + 23 / 7, 4);
    expect(out.model).toBe('toy');
    expect(out.aligned).toBe(true);
  });

  it('keeps a monitor probe a monitor: not among the knobs, and an unknown role is refused', () => {
    const withMonitor: ProbeSet = { ...set, features: [...set.features, { ...feature('sounding', 2, 3, 4, 200), role: 'monitor' }] };
    const back = decodeProbeSet(encodeProbeSet(withMonitor), 'toy.safetensors');
    expect(back.features.map((f) => f.role ?? 'knob')).toEqual(['knob', 'knob', 'monitor']);
    expect(knobNames(back)).toEqual(['drums', 'minor']);
    const odd = encodeProbeSet({ ...set, features: [{ ...set.features[0], role: 'fader' as never }] });
    expect(() => decodeProbeSet(odd, 'odd.safetensors')).toThrow('odd.safetensors: not a SMITIN probe set: feature drums has role "fader", expected monitor or none (a knob)');
  });

  it('names the file and the problem for broken files', () => {
    const bytes = encodeProbeSet(set);
    expect(() => decodeProbeSet(bytes.subarray(0, 5), 'short.st')).toThrow(/short\.st: not a valid safetensors file: 5 bytes/);
    expect(() => decodeProbeSet(bytes.subarray(0, bytes.length - 4), 'cut.st')).toThrow(/cut\.st: not a valid safetensors file: tensor .* data_offsets/);
    const bad = Uint8Array.from(bytes);
    bad[8] = 0x7b + 1; // the header's opening brace
    expect(() => decodeProbeSet(bad, 'garbled.st')).toThrow(/garbled\.st: not a valid safetensors file: header is not JSON/);
    const other = encodeSafetensors({ x: { shape: [1], data: new Float32Array(1) } }, { something: 'else' });
    expect(() => decodeProbeSet(other, 'weights.st')).toThrow(/weights\.st: not a SMITIN probe set: no __metadata__\.smitin/);
    const missing = { ...set, features: [set.features[0]] };
    const dropped = decodeSafetensors(encodeProbeSet(missing), 'x');
    dropped.tensors.delete('drums.sigma');
    const rebuilt = encodeSafetensors(Object.fromEntries(dropped.tensors), dropped.metadata);
    expect(() => decodeProbeSet(rebuilt, 'holey.st')).toThrow(/holey\.st: not a SMITIN probe set: feature drums has no tensor drums\.sigma/);
    expect(() => readProbeSet('/nonexistent/probes.safetensors')).toThrow(/\/nonexistent\/probes\.safetensors: cannot read the probe set \(ENOENT\)/);
  });

  it('is refused for another model, by shape and by decoder', () => {
    expect(() => checkProbesFit(set, { ...identity, layers: 4 }, 'p.st')).toThrow(/p\.st: probes for a model with 2 layers x 3 heads x 4 dims \(toy\); this model \(toy\) has 4 x 3 x 4/);
    expect(() => checkProbesFit(set, { ...identity, decoderFingerprint: 'cd'.repeat(32) }, 'p.st')).toThrow(/trained on another decoder.*smitin probes train/);
    expect(() => checkProbesFit(set, identity, 'p.st')).not.toThrow();
  });

  it.skipIf(!MODEL_DIR || MODEL_DIR !== SHIPPED_MODEL)('the shipped probe set fits the shipped model and not the tiny random MusicGen', () => {
    const file = join(SHIPPED_MODEL, 'probes.safetensors');
    const shipped = readProbeSet(file);
    checkProbesFit(shipped, modelIdentity(readModelFolder(SHIPPED_MODEL).spec), file);
    expect(() => checkProbesFit(shipped, modelIdentity(readModelFolder(TINY).spec), file)).toThrow(/probes for a model with 4 layers x 8 heads x 24 dims \(tinyband\)/);
    expect(readFileSync(file).length).toBeLessThan(200_000);
  });
});
