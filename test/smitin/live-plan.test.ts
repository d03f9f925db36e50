import { describe, expect, it } from 'vitest';
import { livePlan, productMethod, TINYBAND_HOLD } from '../../src/smitin/eval/live.js';

const methods = (plan: ReturnType<typeof livePlan>) => [...new Set(plan.map((c) => c.method.method))];

describe("the live eval's plan measures the hold monitor against the product either way", () => {
  const recipe = { alphas: { drums: 30 }, layers: { drums: [1, 2] } };

  it('a product without the hold is measured against the same with tinyband’s hold, every knob at +-1 from the start', () => {
    const plan = livePlan(false, productMethod(recipe));
    const withHold = plan.filter((c) => c.method.method === 'product-with-hold');
    expect(withHold.map((c) => `${c.feature}=${c.strength}`).sort()).toEqual(['bass=-1', 'bass=1', 'drums=-1', 'drums=1', 'guitar=-1', 'guitar=1', 'piano=-1', 'piano=1']);
    for (const c of withHold) {
      expect(c.setting).toBe('start');
      // the product's own choices stay; only the hold is added
      expect(c.method.settings).toEqual({ ...recipe, ...TINYBAND_HOLD });
    }
    expect(methods(plan)).not.toContain('product-no-hold');
  });

  it('a product with a hold is measured without it (its hold alphas go too)', () => {
    const plan = livePlan(false, productMethod({ ...recipe, ...TINYBAND_HOLD }));
    const noHold = plan.filter((c) => c.method.method === 'product-no-hold');
    expect(noHold).toHaveLength(8);
    for (const c of noHold) expect(c.method.settings).toEqual(recipe);
    expect(methods(plan)).not.toContain('product-with-hold');
  });

  it('a removal kept off other directions is measured against the same removal along its probe, for that knob only', () => {
    const kept = { ...recipe, removalOrthogonalTo: { drums: ['sounding'] } };
    const along = livePlan(false, productMethod(kept)).filter((c) => c.method.method === 'product-removal-along-probe');
    expect(along.map((c) => `${c.setting} ${c.feature}=${c.strength}`).sort()).toEqual(['start drums=-1', 'turn drums=-1']);
    for (const c of along) expect(c.method.settings).toEqual(recipe);
    expect(methods(livePlan(false, productMethod(recipe)))).not.toContain('product-removal-along-probe');
  });

  it('a removal stop is measured against the same removal without it, for the knobs it names', () => {
    const stopped = { ...recipe, removalStops: { guitar: 0.5, bass: 0.5 } };
    const unstopped = livePlan(false, productMethod(stopped)).filter((c) => c.method.method === 'product-removal-unstopped');
    expect(unstopped.map((c) => `${c.setting} ${c.feature}=${c.strength}`).sort()).toEqual(['start bass=-1', 'start guitar=-1', 'turn bass=-1', 'turn guitar=-1']);
    for (const c of unstopped) expect(c.method.settings).toEqual(recipe);
    expect(methods(livePlan(false, productMethod(recipe)))).not.toContain('product-removal-unstopped');
  });

  it('--quick leaves the ablations out', () => {
    expect(methods(livePlan(true, productMethod(recipe)))).toEqual(['product', 'random']);
  });
});
