import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeProbeSet, readProbeSet, type ProbeSet } from '../../src/smitin/probe-set.js';
import { modelSteering, STEERING_FILE } from '../../src/smitin/steering-file.js';
import { TINYBAND_HOLD } from '../../src/smitin/eval/live.js';
import { SHIPPED_MODEL } from '../helpers/model.js';

const PROBES = join(SHIPPED_MODEL, 'probes.safetensors');
const probes = readProbeSet(PROBES);

function folder(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'smitin-steering-'));
  copyFileSync(PROBES, join(dir, 'probes.safetensors'));
  writeFileSync(join(dir, STEERING_FILE), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}
const writeProbeSet = (file: string, set: ProbeSet) => writeFileSync(file, encodeProbeSet(set));
const valid = { probes: 'probes.safetensors', evidence: 'test', layers: { drums: [1, 2] }, alphas: { drums: 40 }, hold: 1.5 };

describe("a model's steering.json", () => {
  it('the shipped tinyband has one, and it applies to its own probes', () => {
    const s = modelSteering(SHIPPED_MODEL, PROBES, probes);
    expect(s.layers?.drums).toEqual(expect.arrayContaining([1]));
    expect(Object.keys(s.alphas ?? {})).toEqual(expect.arrayContaining(['drums', 'bass', 'piano', 'guitar']));
    // the hold monitor measured against leaving it out cost NLL and held little on this model (docs/eval.md)
    expect(s.hold ?? 0).toBe(0);
    // the hold the eval measures beside it reads a layer no push of this recipe reaches, so it reads the music played
    const pushed = Object.values(s.layers ?? {}).flat();
    expect(TINYBAND_HOLD.holdLayers.length).toBeGreaterThan(0);
    for (const l of TINYBAND_HOLD.holdLayers) expect(pushed).not.toContain(l);
    // piano and guitar share two streams: each carries the other along
    expect(s.companions?.piano?.up?.guitar).toBeGreaterThan(0);
    expect(s.companions?.piano?.down?.guitar).toBeLessThan(0);
    // the monitor probe for "the band plays" ships beside the knobs; keeping the drums' removal off it was measured and left out (docs/eval.md)
    expect(probes.features.find((f) => f.name === 'sounding')?.role).toBe('monitor');
    expect(s.removalOrthogonalTo).toBeUndefined();
  });

  it('applies to the probe file it names; a folder without one gives no choices', () => {
    const dir = folder(valid);
    expect(modelSteering(dir, join(dir, 'probes.safetensors'), probes)).toEqual({ layers: { drums: [1, 2] }, alphas: { drums: 40 }, hold: 1.5 });
    expect(modelSteering(mkdtempSync(join(tmpdir(), 'smitin-none-')), PROBES, probes)).toEqual({});
    // pushes made orthogonal to named features' directions (issue 11: piano and guitar share a component)
    const orth = folder({ ...valid, orthogonalize: 'head', orthogonalTo: ['piano', 'guitar'] });
    expect(modelSteering(orth, join(orth, 'probes.safetensors'), probes)).toMatchObject({ orthogonalize: 'head', orthogonalTo: ['piano', 'guitar'] });
    // a removal kept off a monitor probe's direction
    const kept = folder({ ...valid, removalOrthogonalTo: { drums: ['sounding'] } });
    expect(modelSteering(kept, join(kept, 'probes.safetensors'), probes)).toMatchObject({ removalOrthogonalTo: { drums: ['sounding'] } });
    // a removal that leaves music alone where its instrument reads under the stop
    const stops = folder({ ...valid, removalStops: { guitar: 0.5 } });
    expect(modelSteering(stops, join(stops, 'probes.safetensors'), probes)).toMatchObject({ removalStops: { guitar: 0.5 } });
  });

  it('a bad file is refused, naming the file and the field', () => {
    const bad = (content: unknown) => {
      const dir = folder(content);
      return () => modelSteering(dir, join(dir, 'probes.safetensors'), probes);
    };
    expect(bad('{ "probes": ')).toThrow(/steering\.json: not valid JSON/);
    expect(bad({ ...valid, evidence: undefined })).toThrow(/steering\.json: evidence: /);
    expect(bad({ ...valid, layers: { drums: [9] } })).toThrow(/steering\.json: layers\.drums: layer 9 is past the model's 4 layers/);
    expect(bad({ ...valid, holdLayers: [7] })).toThrow(/steering\.json: holdLayers: layer 7 is past the model's 4 layers/);
    expect(bad({ ...valid, alphas: { tuba: 3 } })).toThrow(/steering\.json: no probes for tuba/);
    expect(bad({ ...valid, hold: -1 })).toThrow(/steering\.json: hold: expected hold >= 0/);
    expect(bad({ ...valid, extra: 1 })).toThrow(/steering\.json: \(top level\): /);
    expect(bad({ ...valid, companions: { piano: { up: { tuba: 0.4 } } } })).toThrow(/steering\.json: no probes for tuba/);
    expect(bad({ ...valid, companions: { piano: { up: { guitar: 2 } } } })).toThrow(/steering\.json: companions\.piano\.up\.guitar: expected a strength <= 1/);
    expect(bad({ ...valid, companions: { piano: { sideways: { guitar: 0.4 } } } })).toThrow(/steering\.json: companions\.piano: /);
    expect(bad({ ...valid, removalGains: { piano: 0 } })).toThrow(/steering\.json: removalGains\.piano: expected a gain > 0/);
    expect(bad({ ...valid, holdAlphas: { tuba: 40 } })).toThrow(/steering\.json: no probes for tuba/);
    expect(bad({ ...valid, holdAlphas: { drums: -1 } })).toThrow(/steering\.json: holdAlphas\.drums: expected alpha >= 0/);
    expect(bad({ ...valid, gainFloors: { drums: { up: 2 } } })).toThrow(/steering\.json: gainFloors\.drums\.up: expected a gain floor <= 1/);
    expect(bad({ ...valid, orthogonalize: 'diagonal', orthogonalTo: ['piano'] })).toThrow(/steering\.json: orthogonalize: expected one of none, head, layer/);
    expect(bad({ ...valid, orthogonalize: 'head' })).toThrow(/steering\.json: orthogonalTo: expected the features the pushes are made orthogonal to/);
    expect(bad({ ...valid, orthogonalize: 'head', orthogonalTo: ['tuba'] })).toThrow(/steering\.json: no probes for tuba/);
    expect(bad({ ...valid, gainFloors: { tuba: { up: 0.3 } } })).toThrow(/steering\.json: no probes for tuba/);
    expect(bad({ ...valid, removalOrthogonalTo: { drums: ['tuba'] } })).toThrow(/steering\.json: no probes for tuba/);
    expect(bad({ ...valid, removalOrthogonalTo: { drums: [] } })).toThrow(/steering\.json: removalOrthogonalTo\.drums: expected at least one feature/);
    expect(bad({ ...valid, removalStops: { guitar: 1 } })).toThrow(/steering\.json: removalStops\.guitar: expected a reading < 1/);
    expect(bad({ ...valid, removalStops: { tuba: 0.5 } })).toThrow(/steering\.json: no probes for tuba/);
  });

  it("applies to another probe set that holds every feature it names unchanged (a knob added beside them), and not once one of them changed", () => {
    const dir = folder(valid);
    const added = join(dir, 'user.safetensors');
    const concept = { ...probes.features[0], name: 'sparse', description: 'a concept' };
    writeProbeSet(added, { ...probes, features: [...probes.features, concept] });
    expect(modelSteering(dir, added, readProbeSet(added))).toEqual({ layers: { drums: [1, 2] }, alphas: { drums: 40 }, hold: 1.5 });
    const retrained = join(dir, 'retrained.safetensors');
    const drums = probes.features.find((f) => f.name === 'drums')!;
    const moved = { ...drums, direction: drums.direction.map((v, i) => (i === 0 ? v + 1e-3 : v)) };
    writeProbeSet(retrained, { ...probes, features: probes.features.map((f) => (f.name === 'drums' ? moved : f)) });
    expect(modelSteering(dir, retrained, readProbeSet(retrained))).toEqual({});
  });
});
