import { describe, expect, it } from 'vitest';
import { bestRows, markdownReport, tradeoffSvg } from '../../src/smitin/eval/report.js';
import { additionMethods, FULL_SWEEP, QUICK_SWEEP, randomDirections, type EvalRow } from '../../src/smitin/eval/runner.js';
import type { FeatureProbes } from '../../src/smitin/probe-set.js';

const row = (method: string, alpha: number, success: number, inKey: number): EvalRow => ({
  feature: 'drums',
  method,
  alpha,
  strength: 1,
  n: 10,
  success,
  lift: 0,
  amount: 0,
  in_key: inKey,
  bass_on_chords: 1,
  drums_on_grid: 1,
  nll: 0.2 + alpha / 100,
  frechet: 1,
  collateral: 0,
  applied: 1,
  ms_per_step: 1,
});

describe('eval report', () => {
  it('picks the best alpha within the in-key tolerance, else flags the highest success', () => {
    const rows = [row('none', 0, 0.3, 0.98), row('topk16', 5, 0.6, 0.975), row('topk16', 10, 0.9, 0.961), row('topk16', 20, 1, 0.9), row('smitin', 40, 0.8, 0.9), row('smitin', 80, 0.95, 0.85)];
    const best = bestRows(rows);
    expect(best.find((r) => r.method === 'topk16')).toMatchObject({ alpha: 10, within_tolerance: true });
    expect(best.find((r) => r.method === 'smitin')).toMatchObject({ alpha: 80, within_tolerance: false });
    expect(markdownReport(rows, {}, 'smitin eval')).toContain('| drums | smitin * | 80 |');
    const svg = tradeoffSvg(rows, 't');
    // two panels, one line per swept method (topk16, smitin) in each
    expect(svg.match(/<polyline/g)).toHaveLength(4);
  });

  it('has the methods the issue names, the same sampling for all, and random directions of unit length', () => {
    const names = new Set(additionMethods(FULL_SWEEP).map((m) => m.method));
    for (const m of ['none', 'text', 'random', 'topk8', 'topk16', 'smitin', 'smitin+layer0', 'smitin+prompt', 'smitin-clean', 'smitin-both', 'smitin-paper-tau', 'smitin-massmean', 'smitin-every5']) expect(names).toContain(m);
    expect(additionMethods(QUICK_SWEEP).some((m) => m.method.startsWith('smitin+'))).toBe(false);
    const f = { name: 'x', direction: new Float32Array(12).fill(0.5), sigma: new Float32Array(3).fill(2) } as unknown as FeatureProbes;
    const r = randomDirections(f, 4, 1);
    for (let h = 0; h < 3; h++) expect(Math.hypot(...r.direction.subarray(h * 4, h * 4 + 4))).toBeCloseTo(1, 6);
    expect(r.direction).not.toEqual(f.direction);
    expect(r.sigma).toBe(f.sigma);
  });
});
