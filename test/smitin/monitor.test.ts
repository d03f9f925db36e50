import { describe, expect, it } from 'vitest';
import { median, monitorStep, monitorThreshold } from '../../src/smitin/monitor.js';

const rule = { threshold: 0.8, hysteresis: 0.1 };

describe('monitorStep', () => {
  it('pushes with gain 1 - C while the feature is below the threshold, and stops once it is reached', () => {
    expect(monitorStep(true, 0.2, true, rule)).toEqual({ active: true, gain: 0.8 });
    expect(monitorStep(true, 0.6, true, rule).gain).toBeCloseTo(0.4);
    expect(monitorStep(true, 0.8, true, rule)).toEqual({ active: false, gain: 0 });
    expect(monitorStep(true, 0.95, true, rule)).toEqual({ active: false, gain: 0 });
  });

  it('resumes only below threshold - hysteresis, so a value hovering at the threshold does not chatter', () => {
    expect(monitorStep(false, 0.75, true, rule)).toEqual({ active: false, gain: 0 });
    expect(monitorStep(false, 0.71, true, rule).active).toBe(false);
    const back = monitorStep(false, 0.69, true, rule);
    expect(back.active).toBe(true);
    expect(back.gain).toBeCloseTo(0.31);
    // a reading oscillating around the threshold switches once, not every step
    let active = true;
    let switches = 0;
    for (const c of [0.79, 0.81, 0.78, 0.82, 0.77, 0.81, 0.79]) {
      const d = monitorStep(active, c, true, rule);
      if (d.active !== active) switches++;
      active = d.active;
    }
    expect(switches).toBe(1);
  });

  it('mirrors for removal: tracks absence (1 - C), stops when C <= 1 - tau', () => {
    expect(monitorStep(true, 0.9, false, rule).gain).toBeCloseTo(0.9);
    expect(monitorStep(true, 0.2, false, rule)).toEqual({ active: false, gain: 0 });
    expect(monitorStep(false, 0.25, false, rule).active).toBe(false);
    expect(monitorStep(false, 0.35, false, rule).active).toBe(true);
  });

  it('with a floor keeps pushing at least that much, reached or not, and still decays above it', () => {
    const floored = { ...rule, floor: 0.3 };
    expect(monitorStep(true, 0.2, false, floored)).toEqual({ active: false, gain: 0.3 });
    expect(monitorStep(true, 0.9, false, floored).gain).toBeCloseTo(0.9);
    expect(monitorStep(true, 0.5, true, floored).gain).toBeCloseTo(0.5);
    expect(monitorStep(true, 0.9, true, floored)).toEqual({ active: false, gain: 0.3 });
  });

  it('refuses a monitor value outside [0, 1]', () => {
    expect(() => monitorStep(true, NaN, true, rule)).toThrow(/monitor value must be in \[0, 1\], got: NaN/);
    expect(() => monitorStep(true, 1.5, true, rule)).toThrow(/got: 1.5/);
  });
});

describe('monitorThreshold', () => {
  it('is median(acc) - std(acc) (population std)', () => {
    // median 0.8, mean 0.78, std sqrt(((0.1)^2*... ) computed by hand below
    const acc = [0.6, 0.8, 0.9, 0.8, 0.8];
    const mean = 0.78;
    const std = Math.sqrt(acc.reduce((s, a) => s + (a - mean) ** 2, 0) / acc.length);
    expect(monitorThreshold(acc)).toBeCloseTo(0.8 - std, 12);
    expect(monitorThreshold([0.7, 0.9])).toBeCloseTo(0.8 - 0.1, 12);
  });

  it('median of an even and an odd count', () => {
    expect(median(Float64Array.from([3, 1, 2]))).toBe(2);
    expect(median(Float64Array.from([4, 1, 3, 2]))).toBe(2.5);
  });
});
