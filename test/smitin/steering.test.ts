/**
 * SMITIN on the shipped tinyband and its probe set: the hook changes
 * nothing at strength 0, a push brings an absent instrument in, a negative
 * push takes a present one out, and the telemetry says what was applied.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecoderSession, encodeText, loadModel, MusicgenGenerator, type MusicgenModel } from '../../src/model/musicgen/index.js';
import { compose } from '../../src/model/tinyband/composer/index.js';
import { loadSteerableModel } from '../../src/smitin/prepare.js';
import { readProbeSet, type ProbeSet } from '../../src/smitin/probe-set.js';
import { Steerer, type SteeringSettings } from '../../src/smitin/steerer.js';
import { featureAmount, featurePresent } from '../../src/smitin/tinyband-features.js';
import { additionMethods, FULL_SWEEP } from '../../src/smitin/eval/runner.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

const PROBES = join(SHIPPED_MODEL, 'probes.safetensors');
const ready = MODEL_DIR === SHIPPED_MODEL && existsSync(PROBES);
const PROMPTS = 12;

/** 2-bar composer prompts where drums are absent (want = false) or sound throughout most of it (want = true). */
function drumPrompts(want: boolean): { tokens: Uint16Array[]; style: string }[] {
  const out: { tokens: Uint16Array[]; style: string }[] = [];
  for (let seed = 5000; out.length < PROMPTS; seed++) {
    const p = compose({ seed, bars: 8 });
    const tokens = p.tokens.map((r) => r.slice(0, 32));
    const amount = featureAmount('drums', tokens);
    if (want ? amount >= 0.4 : amount === 0) out.push({ tokens, style: p.style });
  }
  return out;
}

describe.skipIf(!ready)('SMITIN steering on tinyband', () => {
  let model: MusicgenModel;
  let probes: ProbeSet;
  beforeAll(async () => {
    model = await loadSteerableModel(SHIPPED_MODEL, { threads: 1 });
    probes = readProbeSet(PROBES);
  });
  afterAll(async () => model?.release());

  async function continueAll(prompts: { tokens: Uint16Array[]; style: string }[], steer?: { strength: number; settings?: Partial<SteeringSettings> }) {
    const results: { tokens: Uint16Array[]; steerer?: Steerer }[] = [];
    for (const [i, p] of prompts.entries()) {
      const cond = await encodeText(model, [p.style], model.spec.generation.guidance);
      const steerer = steer ? new Steerer(probes, { drums: steer.strength }, steer.settings, { record: true }) : undefined;
      const g = new MusicgenGenerator(model.decoder, model.spec, cond, { ...model.spec.generation, seed: 100 + i, prompt: p.tokens, hook: steerer });
      results.push({ tokens: await g.generate(64), steerer });
    }
    return results;
  }

  it('at strength 0 the prepared decoder and the hook change no token', async () => {
    const prompts = drumPrompts(false).slice(0, 3);
    const plain = await loadModel(SHIPPED_MODEL, { threads: 1 });
    try {
      for (const [i, p] of prompts.entries()) {
        const cond = await encodeText(plain, [p.style], 1.5);
        const a = await new MusicgenGenerator(plain.decoder, plain.spec, cond, { ...plain.spec.generation, seed: i, prompt: p.tokens }).generate(48);
        const hook = new Steerer(probes, { drums: 0 });
        const b = await new MusicgenGenerator(model.decoder, model.spec, cond, { ...model.spec.generation, seed: i, prompt: p.tokens, hook }).generate(48);
        expect(b).toEqual(a);
      }
    } finally {
      await plain.release();
    }
  });

  it('pushing drums into drumless prompts makes them play (success over the unsteered rate)', async () => {
    const prompts = drumPrompts(false);
    const none = await continueAll(prompts);
    const steered = await continueAll(prompts, { strength: 1 });
    const rate = (r: { tokens: Uint16Array[] }[]) => r.filter((x) => featurePresent('drums', x.tokens)).length / r.length;
    expect(rate(steered)).toBeGreaterThanOrEqual(rate(none) + 0.3);
    expect(rate(steered)).toBeGreaterThanOrEqual(0.75);
    // the monitor took the push back once drums were there: less than the full push on average
    const applied = steered.flatMap((r) => r.steerer!.trace.map((t) => t.applied[r.steerer!.features.indexOf('drums')]));
    const mean = applied.reduce((a, b) => a + b, 0) / applied.length;
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThan(0.8 * 30);
  });

  it('a negative strength takes drums out of prompts that have them', async () => {
    const prompts = drumPrompts(true);
    const share = (r: { tokens: Uint16Array[] }[]) => r.reduce((a, x) => a + featureAmount('drums', x.tokens), 0) / r.length;
    const none = share(await continueAll(prompts));
    const removed = share(await continueAll(prompts, { strength: -1 }));
    expect(none).toBeGreaterThan(0.3);
    expect(removed).toBeLessThan(0.5 * none);
  });

  it('telemetry: monitor values are probabilities; without the monitor the full push is applied every s-th run only', async () => {
    const [r] = await continueAll(drumPrompts(false).slice(0, 1), { strength: 0.5, settings: { monitor: 'off', every: 5, alpha: 10 } });
    const trace = r.steerer!.trace;
    const i = r.steerer!.features.indexOf('drums');
    expect(trace.length).toBe(1 + 64 + 2); // the prompt run, then one run per frame after the delay fills
    for (const t of trace) {
      expect(t.monitor[i]).toBeGreaterThanOrEqual(0);
      expect(t.monitor[i]).toBeLessThanOrEqual(1);
      // the prompt run is not shifted (shiftPrompt off); then every fifth run
      const expected = t.run > 0 && t.run % 5 === 0 ? 5 : 0;
      expect(t.applied[i]).toBe(expected);
    }
  });

  it("the eval's smitin+prompt ablation shifts the prompt run, and smitin does not", async () => {
    const spec = (method: string) => additionMethods(FULL_SWEEP).find((m) => m.method === method)!;
    const promptRun = async (method: string) => {
      const [r] = await continueAll(drumPrompts(false).slice(0, 1), { strength: 1, settings: { ...spec(method).settings, alpha: spec(method).alpha } });
      const i = r.steerer!.features.indexOf('drums');
      return r.steerer!.trace[0].applied[i];
    };
    expect(await promptRun('smitin+prompt')).toBeGreaterThan(0);
    expect(await promptRun('smitin')).toBe(0);
  });

  it("a knob's companions push their features with it, per sign, and removal pushes with its gain", async () => {
    const settings = { monitor: 'off' as const, alpha: 10, companions: { drums: { up: { bass: 0.4 }, down: { bass: -0.2, piano: 0.3 } } }, removalGains: { drums: 2 } };
    const applied = async (strength: number) => {
      const [r] = await continueAll(drumPrompts(false).slice(0, 1), { strength, settings });
      const s = r.steerer!;
      const last = s.trace[s.trace.length - 1].applied;
      // the knobs themselves are unchanged: a companion is a push, not a knob
      expect(s.strength('bass')).toBe(0);
      return Object.fromEntries(s.features.map((f, i) => [f, Math.round(last[i] * 1e6) / 1e6]));
    };
    expect(await applied(0.5)).toMatchObject({ drums: 5, bass: 2, piano: 0, guitar: 0 });
    expect(await applied(-0.5)).toMatchObject({ drums: -10, bass: -1, piano: 1.5, guitar: 0 });
    expect(() => new Steerer(probes, {}, { companions: { drums: { up: { tuba: 1 } } } })).toThrow(/companions name tuba, which has no probes/);
    expect(() => new Steerer(probes, {}, { companions: { drums: { up: { bass: 2 } } } })).toThrow(/companion bass of drums \(up\) must be in \[-1, 1\], got: 2/);
    expect(() => new Steerer(probes, {}, { removalGains: { drums: 0 } })).toThrow(/removal gain of drums must be a finite number > 0, got: 0/);
  });

  it("a knob's gain floor keeps its push on where the monitor stops it, and a companion push on that feature stays monitored", async () => {
    const floors = { gainFloors: { drums: { up: 0.5 } } };
    // drums already sound: the plain monitor reads them present and stops the push
    const prompts = drumPrompts(true).slice(0, 2);
    const appliedOf = async (settings: Partial<SteeringSettings>) => {
      const out: number[] = [];
      for (const r of await continueAll(prompts, { strength: 1, settings: { alpha: 10, ...settings } })) {
        const drums = r.steerer!.features.indexOf('drums');
        // the prompt run is not shifted
        out.push(...r.steerer!.trace.slice(1).map((t) => t.applied[drums]));
      }
      return out;
    };
    const plain = await appliedOf({});
    expect(plain.some((a) => a === 0)).toBe(true);
    const floored = await appliedOf(floors);
    expect(Math.min(...floored)).toBeGreaterThanOrEqual(5 - 1e-9);
    // the piano knob pushes drums as its companion: the drums' floor does not apply to it
    const companion = new Steerer(probes, { piano: 1 }, { ...floors, companions: { piano: { up: { drums: 1 } } } }, { record: true });
    const cond = await encodeText(model, [prompts[0].style], model.spec.generation.guidance);
    await new MusicgenGenerator(model.decoder, model.spec, cond, { ...model.spec.generation, seed: 1, prompt: prompts[0].tokens, hook: companion }).generate(64);
    const drums = companion.features.indexOf('drums');
    expect(companion.trace.slice(1).some((t) => t.applied[drums] === 0)).toBe(true);
    expect(() => new Steerer(probes, {}, { gainFloors: { drums: { up: 1.5 } } })).toThrow(/gain floor of drums \(up\) must be in \[0, 1\], got: 1.5/);
    expect(() => new Steerer(probes, {}, { gainFloors: { tuba: { up: 0.5 } } })).toThrow(/gainFloors name tuba, which has no probes/);
  });

  it("a knob's removal stop leaves music whose reading is under it alone, and a companion push on that feature still pushes there", async () => {
    const stop = 0.5;
    // drums absent: the mirrored monitor still reads them at times and pushes with gain C_f
    const prompts = drumPrompts(false).slice(0, 4);
    const pushesUnder = (s: Steerer, d: number) => s.trace.slice(2).filter((t, i) => t.applied[d] !== 0 && s.trace[i + 1].monitor[d] < stop).length;
    const pushes = (s: Steerer, d: number) => s.trace.slice(1).filter((t) => t.applied[d] !== 0).length;
    const count = async (settings: Partial<SteeringSettings>) => {
      let under = 0, all = 0;
      for (const r of await continueAll(prompts, { strength: -1, settings })) {
        const d = r.steerer!.features.indexOf('drums');
        under += pushesUnder(r.steerer!, d);
        all += pushes(r.steerer!, d);
      }
      return { under, all };
    };
    const plain = await count({});
    const stopped = await count({ removalStops: { drums: stop } });
    expect(plain.under).toBeGreaterThan(0);
    // it starts again only past stop + hysteresis, so no step after a reading under the stop pushes
    expect(stopped.under).toBe(0);
    expect(stopped.all).toBeGreaterThan(0);
    expect(stopped.all).toBeLessThan(plain.all);
    const companion = new Steerer(probes, { piano: -1 }, { removalStops: { drums: stop }, companions: { piano: { down: { drums: -1 } } } }, { record: true });
    const cond = await encodeText(model, [prompts[0].style], model.spec.generation.guidance);
    await new MusicgenGenerator(model.decoder, model.spec, cond, { ...model.spec.generation, seed: 1, prompt: prompts[0].tokens, hook: companion }).generate(64);
    const d = companion.features.indexOf('drums');
    expect(pushesUnder(companion, d)).toBeGreaterThan(0);
    expect(() => new Steerer(probes, {}, { removalStops: { drums: 1 } })).toThrow(/removal stop of drums must be a reading in \[0, 1\), got: 1/);
    expect(() => new Steerer(probes, {}, { removalStops: { tuba: 0.5 } })).toThrow(/removalStops name tuba, which has no probes/);
  });

  it('refuses settings that cannot work, naming them', () => {
    expect(() => new Steerer(probes, {}, { monitorFromLayer: 4 })).toThrow(/monitorFromLayer must be an integer in \[0, 3\], got: 4/);
    expect(() => new Steerer(probes, {}, { thresholdOffset: 1 })).toThrow(/thresholdOffset must be in \(-1, 1\), got: 1/);
    expect(() => new Steerer(probes, {}, { every: 0 })).toThrow(/every must be an integer >= 1, got: 0/);
    expect(() => new Steerer(probes, { cowbell: 1 })).toThrow(/no probes for feature cowbell/);
    const s = new Steerer(probes, { drums: 3 });
    expect(s.strength('drums')).toBe(1); // clamped
    expect(() => s.setStrength('drums', Number.NaN)).toThrow(/strength of drums must be a finite number, got: NaN/);
  });

  it("the clean monitor pass leaves the cache as it was: peek, then forward, equals forward alone", async () => {
    const cond = await encodeText(model, ['rock'], 1.5);
    const K = model.spec.dims.codebooks;
    const ids = (q: number) => BigInt64Array.from({ length: 2 * K }, (_, r) => BigInt(q === 0 ? model.spec.bosId : (r * 7 + q) % 100));
    const a = new DecoderSession(model.decoder, model.spec.dims, cond);
    const b = new DecoderSession(model.decoder, model.spec.dims, cond);
    for (let q = 0; q < 6; q++) {
      const la = (await a.forward(ids(q), 1)).data as Float32Array;
      const peeked = Float32Array.from((await b.peek(ids(q), 1)).data as Float32Array);
      const lb = (await b.forward(ids(q), 1)).data as Float32Array;
      expect(Array.from(peeked)).toEqual(Array.from(la));
      expect(Array.from(lb)).toEqual(Array.from(la));
      expect(b.length).toBe(a.length);
    }
  });
});
