import { describe, expect, it } from 'vitest';
import { layoutFloor } from '../../src/smitin/eval/layout-floor.js';

describe("the token layout's own piano/guitar floor (composer music)", () => {
  it('one joining costs the other some share (alone it sometimes plays both streams) but not its presence', () => {
    const f = layoutFloor(150);
    expect(f.sections).toBeGreaterThan(150 * 4);
    expect(Object.keys(f.joins).sort()).toEqual(['guitar joins piano', 'piano joins guitar']);
    for (const c of Object.values(f.joins)) {
      expect(c.share).toBeLessThan(-0.03);
      expect(c.share).toBeGreaterThan(-0.2);
      expect(Math.abs(c.present)).toBeLessThan(0.05);
    }
  });
});
