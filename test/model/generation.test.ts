import { describe, expect, it } from 'vitest';
import {
  applyAll,
  buildProcessors,
  combineGuidance,
  Greedy,
  makeSampler,
  Multinomial,
  needsUnconditional,
  SuppressTokens,
  Temperature,
  TopK,
  TopP,
} from '../../src/model/generation/index.js';
import { halfToFloat, halfToFloat32 } from '../../src/model/onnx/float16.js';
import { Rng } from '../../src/util/rng.js';

const row = (...xs: number[]) => Float32Array.from(xs);
const kept = (r: Float32Array) => [...r.keys()].filter((i) => r[i] !== -Infinity);
const softmax = (r: Float32Array) => {
  const max = Math.max(...r);
  const e = [...r].map((x) => Math.exp(x - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

describe('classifier-free guidance', () => {
  it('with scale 1 is the conditional row, bit for bit', () => {
    const cond = row(0.1, -2.3, 7.77, 1e-7);
    const uncond = row(5, 5, -5, 3);
    const out = new Float32Array(4);
    combineGuidance(cond, uncond, 1, out);
    expect([...out]).toEqual([...cond]);
    expect(needsUnconditional(1)).toBe(false);
    expect(needsUnconditional(3)).toBe(true);
  });

  it('is uncond + g * (cond - uncond)', () => {
    const out = new Float32Array(3);
    combineGuidance(row(2, 0, 1), row(1, 1, 1), 3, out);
    expect([...out]).toEqual([4, -2, 1]);
    combineGuidance(row(2, 0, 1), row(1, 1, 1), 0, out);
    expect([...out]).toEqual([1, 1, 1]); // g = 0: unconditional
  });

  it('names the rows that are too short', () => {
    expect(() => combineGuidance(row(1), row(1, 2), 3, new Float32Array(2))).toThrow(/at least 2 scores, got: 1 and 2/);
  });
});

describe('temperature', () => {
  it('divides every score', () => {
    const r = row(1, -2, 4);
    new Temperature(0.5).apply(r);
    expect([...r]).toEqual([2, -4, 8]);
    const s = row(3, 6);
    new Temperature(3).apply(s);
    expect(s[0]).toBeCloseTo(1, 6);
    expect(s[1]).toBeCloseTo(2, 6);
  });

  it('leaves masked ids masked', () => {
    const r = row(-Infinity, 2);
    new Temperature(2).apply(r);
    expect([...r]).toEqual([-Infinity, 1]);
  });

  it('rejects a temperature <= 0', () => {
    expect(() => new Temperature(0)).toThrow('temperature must be a number > 0, got: 0');
  });
});

describe('top-k', () => {
  it('keeps exactly the k highest', () => {
    const r = row(0.5, 3, -1, 2, 2.5, 0);
    new TopK(3, 6).apply(r);
    expect(kept(r)).toEqual([1, 3, 4]);
    expect([...r]).toEqual([-Infinity, 3, -Infinity, 2, 2.5, -Infinity]);
  });

  it('keeps exactly k under ties, the lower ids first', () => {
    const r = row(1, 1, 1, 1, 1);
    new TopK(2, 5).apply(r);
    expect(kept(r)).toEqual([0, 1]);
    const s = row(0, 5, 1, 1, 1, 5);
    new TopK(3, 6).apply(s);
    expect(kept(s)).toEqual([1, 2, 5]);
  });

  it('k = 1 is the argmax; k = 0 or k >= vocab keeps everything', () => {
    const r = row(0.1, 0.3, 0.2);
    new TopK(1, 3).apply(r);
    expect(kept(r)).toEqual([1]);
    for (const k of [0, 3, 10]) {
      const s = row(0.1, 0.3, 0.2);
      new TopK(k, 3).apply(s);
      expect(kept(s)).toEqual([0, 1, 2]);
    }
  });

  it('is reusable across rows and finds the k best of a large random row', () => {
    const topk = new TopK(250, 2048);
    const rng = new Rng(5);
    for (let trial = 0; trial < 3; trial++) {
      const r = Float32Array.from({ length: 2048 }, () => rng.next() * 10 - 5);
      const expected = [...r.keys()].sort((a, b) => r[b] - r[a] || a - b).slice(0, 250).sort((a, b) => a - b);
      topk.apply(r);
      expect(kept(r)).toEqual(expected);
    }
  });
});

describe('top-p', () => {
  // probabilities 0.5, 0.25, 0.125, 0.125 (logits ln of them)
  const probs = () => row(Math.log(0.5), Math.log(0.25), Math.log(0.125), Math.log(0.125));

  it('keeps the smallest most-likely set whose mass reaches p', () => {
    const cases: [number, number[]][] = [
      [0.4, [0]],
      [0.49, [0]],
      [0.51, [0, 1]],
      [0.74, [0, 1]],
      [0.76, [0, 1, 2]],
      [0.99, [0, 1, 2, 3]],
      [1, [0, 1, 2, 3]],
    ];
    for (const [p, ids] of cases) {
      const r = probs();
      new TopP(p, 4).apply(r);
      expect(kept(r), `p = ${p}`).toEqual(ids);
    }
  });

  it('always keeps the most likely id, and works on what top-k left', () => {
    const r = row(1, 9, 2, 3);
    new TopP(1e-6, 4).apply(r);
    expect(kept(r)).toEqual([1]);
    const s = row(0, 0, 10, 10);
    new TopK(2, 4).apply(s);
    new TopP(0.4, 4).apply(s);
    expect(kept(s)).toEqual([2]); // a tie: the lower id ranks first
  });

  it('rejects p outside (0, 1]', () => {
    expect(() => new TopP(0, 4)).toThrow('top-p must be a number > 0 and <= 1, got: 0');
    expect(() => new TopP(1.5, 4)).toThrow(/got: 1.5/);
  });
});

describe('suppression', () => {
  it('masks ids past the codebook range and the listed ids', () => {
    const proc = new SuppressTokens([2, 4], [0]);
    const a = row(1, 1, 1, 1, 1);
    proc.apply(a, 0);
    expect(kept(a)).toEqual([1]);
    const b = row(1, 1, 1, 1, 1);
    proc.apply(b, 1);
    expect(kept(b)).toEqual([1, 2, 3]);
  });
});

describe('samplers', () => {
  it('greedy takes the highest score, the lower id on a tie', () => {
    expect(new Greedy().sample(row(1, 5, 5, -Infinity))).toBe(1);
  });

  it('multinomial is seeded and follows softmax', () => {
    const r = row(Math.log(0.7), Math.log(0.2), Math.log(0.1), -Infinity);
    const draw = (seed: number, n: number) => {
      const s = new Multinomial(new Rng(seed));
      return Array.from({ length: n }, () => s.sample(r));
    };
    expect(draw(42, 50)).toEqual(draw(42, 50));
    expect(draw(42, 50)).not.toEqual(draw(43, 50));
    const counts = [0, 0, 0, 0];
    for (const id of draw(7, 20000)) counts[id]++;
    expect(counts[3]).toBe(0);
    expect(counts[0] / 20000).toBeCloseTo(0.7, 1);
    expect(counts[1] / 20000).toBeCloseTo(0.2, 1);
    expect(counts[2] / 20000).toBeCloseTo(0.1, 1);
  });

  it('never draws a masked id and says when every id is masked', () => {
    const s = new Multinomial(new Rng(1));
    const r = row(-Infinity, 0, -Infinity);
    for (let i = 0; i < 100; i++) expect(s.sample(r)).toBe(1);
    expect(() => s.sample(row(-Infinity, -Infinity))).toThrow(/no finite score in a row of 2/);
  });

  it('makeSampler picks by do_sample', () => {
    expect(makeSampler(true, 1).name).toBe('multinomial');
    expect(makeSampler(false, 1).name).toBe('greedy');
  });
});

describe('the processor list', () => {
  it('runs suppression, temperature, top-k, top-p in that order', () => {
    const list = buildProcessors({ temperature: 0.5, topK: 3, topP: 0.9 }, 6, { limits: [5], ids: [] });
    expect(list.map((p) => p.name)).toEqual(['suppress', 'temperature', 'top-k', 'top-p']);
    const r = row(0, 1, 2, 3, 4, 100);
    applyAll(list, r, 0);
    // id 5 is past the codebook; top-k keeps 2, 3, 4; at T = 0.5 their probabilities are 0.016, 0.117, 0.867: p = 0.9 keeps 3 and 4
    expect(kept(r)).toEqual([3, 4]);
    const p = softmax(Float32Array.from([4, 6, 8]));
    expect(p[2]).toBeCloseTo(0.867, 3);
  });

  it('leaves out what is switched off', () => {
    expect(buildProcessors({ temperature: 1, topK: 0, topP: 1 }, 6).map((p) => p.name)).toEqual(['temperature']);
  });
});

describe('float16', () => {
  it('decodes half-precision bits', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.33325, 5);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
    expect([...halfToFloat32(Uint16Array.from([0, 0x3800]))]).toEqual([0, 0.5]);
  });
});
