/**
 * Pushes orthogonal to the other features' directions (issue 11): the
 * projected direction is orthogonal to every other feature's direction and
 * of unit length per head (per layer: of the push's own length, over the
 * heads the push reaches), and `none` leaves the pushes bit-identical to
 * w * sigma * theta. On a synthetic probe set and a decoder stand-in that
 * keeps the shifts the steerer writes.
 */
import { describe, expect, it } from 'vitest';
import type { SteerableDecoder } from '../../src/model/steerable-decoder.js';
import { orthogonalHeads, orthogonalLayer, orthonormalBasis, projectOff } from '../../src/smitin/orthogonalize.js';
import type { FeatureProbes, ProbeSet } from '../../src/smitin/probe-set.js';
import { Steerer, type SteeringSettings } from '../../src/smitin/steerer.js';
import { headWeights } from '../../src/smitin/weighting.js';

const LAYERS = 3;
const HEADS = 2;
const HEAD_DIM = 6;
const WIDTH = HEADS * HEAD_DIM;

/** A deterministic pseudo-random stream. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function feature(name: string, r: () => number): FeatureProbes {
  const direction = new Float32Array(LAYERS * HEADS * HEAD_DIM);
  for (let h = 0; h < LAYERS * HEADS; h++) {
    const v = Array.from({ length: HEAD_DIM }, () => r() - 0.5);
    const norm = Math.hypot(...v);
    v.forEach((x, j) => (direction[h * HEAD_DIM + j] = x / norm));
  }
  const perHead = () => Float32Array.from({ length: LAYERS * HEADS }, () => 0.6 + 0.4 * r());
  const sigma = Float32Array.from({ length: LAYERS * HEADS }, () => 0.5 + r());
  return { name, description: 'random (test)', train: 8, validation: 4, accuracy: perHead(), bias: new Float32Array(LAYERS * HEADS), sigma, massMeanSigma: sigma, weights: direction.map((x) => 3 * x), direction, massMeanDirection: direction };
}

const r = rng(11);
const probes: ProbeSet = {
  model: { name: 'synthetic', layers: LAYERS, heads: HEADS, headDim: HEAD_DIM, decoderFingerprint: 'test' },
  features: ['drums', 'bass', 'piano', 'minor'].map((n) => feature(n, r)),
  training: {},
};

/** The shift one intervening run writes for `strengths` (conditional row, per layer). */
function pushes(strengths: Record<string, number>, settings: Partial<SteeringSettings>): Float32Array[] {
  const shifts = Array.from({ length: LAYERS }, () => new Float32Array(2 * WIDTH));
  const decoder: SteerableDecoder = {
    steerable: true,
    shifts,
    setShifting: () => {},
    heads: () => new Float32Array(2 * WIDTH),
    length: 32,
    peek: async () => undefined,
  };
  const steerer = new Steerer(probes, strengths, { alpha: 1, monitor: 'off', fromLayer: 0, ...settings });
  steerer.before({ index: 0, length: 1, ids: new BigInt64Array(0) }, decoder);
  return shifts.map((s) => s.slice(0, WIDTH));
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));
const head = (v: Float32Array, l: number, h: number) => v.subarray((l * HEADS + h) * HEAD_DIM, (l * HEADS + h + 1) * HEAD_DIM);

describe('orthogonalised push directions', () => {
  it('Gram-Schmidt: an orthonormal basis, a residual orthogonal to it, nothing left of a vector inside the span', () => {
    const a = [1, 2, 0, 1];
    const b = [0, 1, 1, 3];
    const basis = orthonormalBasis([a, b, a.map((x, i) => x + 2 * b[i])]);
    expect(basis).toHaveLength(2);
    for (const u of basis) expect(norm(u)).toBeCloseTo(1, 12);
    expect(dot(basis[0], basis[1])).toBeCloseTo(0, 12);
    const p = projectOff([3, -1, 2, 5], basis, 2);
    expect(norm(p)).toBeCloseTo(2, 12);
    expect(dot(p, a)).toBeCloseTo(0, 12);
    expect(dot(p, b)).toBeCloseTo(0, 12);
    expect(Array.from(projectOff(a.map((x, i) => x - b[i]), basis, 1))).toEqual([0, 0, 0, 0]);
  });

  it('per head: unit length and orthogonal to every other feature at that head', () => {
    const [drums, ...others] = probes.features;
    const dir = orthogonalHeads(drums.direction, others.map((f) => f.direction), HEAD_DIM);
    for (let l = 0; l < LAYERS; l++) {
      for (let h = 0; h < HEADS; h++) {
        expect(norm(head(dir, l, h))).toBeCloseTo(1, 6);
        for (const o of others) expect(dot(head(dir, l, h), head(o.direction, l, h))).toBeCloseTo(0, 6);
        // still a push towards drums: what is left of theta points its way
        expect(dot(head(dir, l, h), head(drums.direction, l, h))).toBeGreaterThan(0);
      }
    }
  });

  it('the steerer pushes the projected direction with w * sigma per head, orthogonal only to orthogonalTo', () => {
    const [drums, bass, piano, minor] = probes.features;
    const plain = pushes({ drums: 1 }, {});
    const ortho = pushes({ drums: 1 }, { orthogonalize: 'head', orthogonalTo: ['bass', 'piano'] });
    for (let l = 0; l < LAYERS; l++) {
      for (let h = 0; h < HEADS; h++) {
        const push = ortho[l].subarray(h * HEAD_DIM, (h + 1) * HEAD_DIM);
        const was = norm(plain[l].subarray(h * HEAD_DIM, (h + 1) * HEAD_DIM));
        expect(norm(push)).toBeCloseTo(was, 5);
        // soft weighting gives the least accurate head no weight: nothing pushed there either way
        if (was === 0) continue;
        expect(dot(push, head(bass.direction, l, h))).toBeCloseTo(0, 5);
        expect(dot(push, head(piano.direction, l, h))).toBeCloseTo(0, 5);
        expect(Math.abs(dot(push, head(minor.direction, l, h)))).toBeGreaterThan(1e-4);
        expect(dot(push, head(drums.direction, l, h))).toBeGreaterThan(0);
      }
    }
  });

  it('per layer: the push keeps its length and heads, and is orthogonal to the others over the heads it reaches', () => {
    const [, bass, piano, minor] = probes.features;
    const plain = pushes({ drums: 1 }, { layers: { drums: [1] } });
    const ortho = pushes({ drums: 1 }, { layers: { drums: [1] }, orthogonalize: 'layer' });
    expect(Array.from(ortho[0]).every((x) => x === 0) && Array.from(ortho[2]).every((x) => x === 0)).toBe(true);
    expect(norm(ortho[1])).toBeCloseTo(norm(plain[1]), 5);
    for (const o of [bass, piano, minor]) expect(dot(ortho[1], o.direction.subarray(WIDTH, 2 * WIDTH))).toBeCloseTo(0, 5);
    // a head the push does not reach stays unpushed
    const unit = plain[1].slice();
    unit.fill(0, 0, HEAD_DIM);
    const out = orthogonalLayer(unit, [bass, piano].map((f) => f.direction.subarray(WIDTH, 2 * WIDTH)), HEAD_DIM);
    expect(Array.from(out.subarray(0, HEAD_DIM))).toEqual(new Array(HEAD_DIM).fill(0));
    expect(norm(out)).toBeCloseTo(norm(unit), 5);
  });

  it("'none' pushes exactly strength * alpha * w * sigma * theta, bit for bit, as without the setting", () => {
    const strengths = { drums: 1, piano: -0.5 };
    const settings: Partial<SteeringSettings> = { alpha: 7, layers: { piano: [2] } };
    const none = pushes(strengths, { ...settings, orthogonalize: 'none', orthogonalTo: ['bass'] });
    expect(none).toEqual(pushes(strengths, settings));
    const [drums, , piano] = probes.features;
    const wd = headWeights(drums.accuracy, HEADS, { kind: 'soft' }, 0);
    const wp = headWeights(piano.accuracy, HEADS, { kind: 'soft' }, 0);
    for (let l = 0; l < LAYERS; l++) {
      const want = new Float32Array(WIDTH);
      const d = Float32Array.from({ length: WIDTH }, (_, j) => {
        const i = l * HEADS + Math.floor(j / HEAD_DIM);
        return wd[i] * drums.sigma[i] * drums.direction[l * WIDTH + j];
      });
      const p = Float32Array.from({ length: WIDTH }, (_, j) => {
        const i = l * HEADS + Math.floor(j / HEAD_DIM);
        return l === 2 ? wp[i] * piano.sigma[i] * piano.direction[l * WIDTH + j] : 0;
      });
      for (let j = 0; j < WIDTH; j++) want[j] += 7 * d[j];
      for (let j = 0; j < WIDTH; j++) want[j] += -3.5 * p[j];
      expect(none[l]).toEqual(want);
    }
  });

  it('refuses an unknown mode and a feature orthogonalTo names without probes', () => {
    expect(() => new Steerer(probes, {}, { orthogonalize: 'all' as never })).toThrow('orthogonalize must be one of none, head, layer, got: all');
    expect(() => new Steerer(probes, {}, { orthogonalTo: ['guitar'] })).toThrow('orthogonalTo names guitar, which has no probes');
  });
});

describe('a removal kept off other directions (removalOrthogonalTo)', () => {
  it('pushes down orthogonal per head to the named directions and to orthogonalTo, and up as before', () => {
    const [drums, bass, , minor] = probes.features;
    const settings: Partial<SteeringSettings> = { orthogonalize: 'head', orthogonalTo: ['bass'] };
    const kept = { ...settings, removalOrthogonalTo: { drums: ['minor'] } };
    expect(pushes({ drums: 1 }, kept)).toEqual(pushes({ drums: 1 }, settings));
    const along = pushes({ drums: -1 }, settings);
    const down = pushes({ drums: -1 }, kept);
    let moved = 0;
    for (let l = 0; l < LAYERS; l++) {
      for (let h = 0; h < HEADS; h++) {
        const push = down[l].subarray(h * HEAD_DIM, (h + 1) * HEAD_DIM);
        const was = along[l].subarray(h * HEAD_DIM, (h + 1) * HEAD_DIM);
        expect(norm(push)).toBeCloseTo(norm(was), 5);
        if (norm(was) === 0) continue;
        expect(dot(push, head(minor.direction, l, h))).toBeCloseTo(0, 5);
        expect(dot(push, head(bass.direction, l, h))).toBeCloseTo(0, 5);
        // still a removal: it points away from the drums
        expect(dot(push, head(drums.direction, l, h))).toBeLessThan(0);
        expect(Math.abs(dot(was, head(minor.direction, l, h)))).toBeGreaterThan(1e-4);
        moved++;
      }
    }
    expect(moved).toBeGreaterThan(0);
    // only the named feature's removal changes: piano's is the same push as without the setting
    expect(pushes({ piano: -1 }, kept)).toEqual(pushes({ piano: -1 }, settings));
  });

  it('without orthogonalize, the removal is kept off the named directions alone', () => {
    const [, bass, , minor] = probes.features;
    const down = pushes({ drums: -1 }, { removalOrthogonalTo: { drums: ['minor'] } });
    const h0 = down[1].subarray(0, HEAD_DIM);
    expect(dot(h0, head(minor.direction, 1, 0))).toBeCloseTo(0, 5);
    expect(Math.abs(dot(h0, head(bass.direction, 1, 0)))).toBeGreaterThan(1e-4);
  });

  it('refuses a feature or a direction it names without probes', () => {
    expect(() => new Steerer(probes, {}, { removalOrthogonalTo: { drums: ['sounding'] } })).toThrow('removalOrthogonalTo.drums names sounding, which has no probes');
    expect(() => new Steerer(probes, {}, { removalOrthogonalTo: { tuba: ['minor'] } })).toThrow('removalOrthogonalTo.tuba names tuba, which has no probes');
  });
});

describe('a monitor probe (role monitor) beside the knobs', () => {
  it('is read every step of a trace and never pushed, by a knob or by the hold monitor, while the hold counter-steers the knobs; untraced it is not read', () => {
    const set: ProbeSet = { ...probes, features: probes.features.map((f) => (f.name === 'minor' ? { ...f, role: 'monitor' as const } : f)) };
    const noise = rng(5);
    let length = 0;
    const decoder: SteerableDecoder = {
      steerable: true,
      shifts: Array.from({ length: LAYERS }, () => new Float32Array(2 * WIDTH)),
      setShifting: () => {},
      // head outputs that wander from step to step: every held reading drifts
      heads: () => Float32Array.from({ length: 2 * WIDTH }, () => 6 * (noise() - 0.5)),
      get length() {
        return length;
      },
      peek: async () => undefined,
    };
    const steerer = new Steerer(set, { drums: 1 }, { alpha: 1, fromLayer: 0, warmup: 2, hold: 1.5, holdMargin: 0.05 }, { record: true });
    expect(steerer.knobs.map((i) => steerer.features[i])).toEqual(['drums', 'bass', 'piano']);
    for (let i = 0; i < 64; i++) {
      const run = { index: i, length: 1, ids: new BigInt64Array(0) };
      steerer.before(run, decoder);
      length++;
      steerer.after(run, decoder);
    }
    const minor = steerer.features.indexOf('minor');
    const bass = steerer.features.indexOf('bass');
    expect(steerer.trace.every((t) => t.applied[minor] === 0 && Number.isFinite(t.monitor[minor]))).toBe(true);
    expect(steerer.trace.some((t) => t.applied[bass] !== 0)).toBe(true);
    // untraced (live), a monitor nothing pushes is not read at all: the step spends nothing on it
    const live = new Steerer(set, { drums: 1 }, { alpha: 1, fromLayer: 0, warmup: 2 });
    for (let i = 0; i < 8; i++) {
      const run = { index: i, length: 1, ids: new BigInt64Array(0) };
      live.before(run, decoder);
      length++;
      live.after(run, decoder);
    }
    expect(Number.isNaN(live.last.monitor[minor])).toBe(true);
    expect(Number.isFinite(live.last.monitor[bass])).toBe(true);
  });
});
