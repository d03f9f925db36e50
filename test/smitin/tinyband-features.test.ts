import { describe, expect, it } from 'vitest';
import { FRAMES_PER_BAR } from '../../src/constants.js';
import { compose } from '../../src/model/tinyband/composer/index.js';
import { encodeHarmony, HOLD, INSTRUMENTS, REST, soundingInstruments } from '../../src/model/tinyband/layout.js';
import {
  chordMinorFlags,
  DENSE_THRESHOLD,
  featureAmount,
  featurePresent,
  minorShare,
  onsetDensity,
  TINYBAND_FEATURES,
  tinybandPairs,
} from '../../src/smitin/tinyband-features.js';

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

describe('tinyband features', () => {
  it('the same seed in the other mode or energy is the same arrangement, re-harmonised or re-patterned', () => {
    const minor = compose({ seed: 3, mode: 'minor' });
    const major = compose({ seed: 3, mode: 'major' });
    expect(minor.key.tonic).toBe(major.key.tonic);
    expect(minor.sections).toEqual(major.sections);
    expect(minor.tokens[2]).not.toEqual(major.tokens[2]);
    const dense = compose({ seed: 3, energy: 2 });
    const sparse = compose({ seed: 3, energy: 0 });
    expect(dense.sections).toEqual(sparse.sections);
    expect(() => compose({ seed: 3, energy: 3 as 0 })).toThrow(/energy must be 0, 1 or 2, got: 3/);
  });

  it('minor share and onset density separate the composer\'s modes and energies; the dense threshold sits between the medians', () => {
    const n = 400;
    const m = { minor: [] as number[], major: [] as number[], low: [] as number[], high: [] as number[] };
    for (let seed = 0; seed < n; seed++) {
      m.minor.push(minorShare(compose({ seed, bars: 16, mode: 'minor' }).tokens));
      m.major.push(minorShare(compose({ seed, bars: 16, mode: 'major' }).tokens));
      m.low.push(onsetDensity(compose({ seed, bars: 16, energy: 0 }).tokens));
      m.high.push(onsetDensity(compose({ seed, bars: 16, energy: 2 }).tokens));
    }
    expect(median(m.minor)).toBeGreaterThan(0.5);
    expect(median(m.major)).toBeLessThan(0.5);
    expect(Math.abs(DENSE_THRESHOLD - (median(m.low) + median(m.high)) / 2)).toBeLessThan(0.02);
  });

  it('chord flags follow strikes and holds', () => {
    const strike = (quality: 'min' | 'maj') => encodeHarmony({ kind: 'strike', instrument: 'piano', root: 0, quality });
    const row = [REST, strike('min'), HOLD, strike('maj'), HOLD, REST];
    const tokens = [new Uint16Array(6), new Uint16Array(6), Uint16Array.from(row), new Uint16Array(6)];
    expect(Array.from(chordMinorFlags(tokens))).toEqual([-1, 1, 1, 0, 0, -1]);
    expect(minorShare(tokens)).toBe(0.5);
    expect(featurePresent('minor', tokens)).toBe(true);
  });

  it.each(TINYBAND_FEATURES)('%s pairs: equal-length segments on a bar, the positive has the feature at its end, the negative not', (feature) => {
    const examples = tinybandPairs(feature, 30, 7);
    expect(examples).toHaveLength(60);
    let clearer = 0;
    for (let i = 0; i < examples.length; i += 2) {
      const [pos, neg] = [examples[i], examples[i + 1]];
      expect([pos.label, neg.label]).toEqual([1, 0]);
      expect(pos.piece).toBe(neg.piece);
      expect(pos.text).toBe(neg.text);
      expect(pos.tokens[0].length).toBe(neg.tokens[0].length);
      expect(pos.tokens[0].length).toBeGreaterThanOrEqual(16);
      const lastBar = (t: Uint16Array[]) => t.map((r) => r.slice(-FRAMES_PER_BAR));
      if (featureAmount(feature, lastBar(pos.tokens)) > featureAmount(feature, lastBar(neg.tokens))) clearer++;
    }
    // instruments and mood: always; density: the high-energy piece is busier at the end in most pairs
    expect(clearer / 30).toBeGreaterThanOrEqual(feature === 'dense' ? 0.7 : 1);
  });

  it.each(INSTRUMENTS)('%s pairs with keepBand end where the rest of the band plays; without it some negatives end in silence', (instrument) => {
    const others = INSTRUMENTS.map((name, i) => [name, i] as const).filter(([name]) => name !== instrument);
    const bandAtEnd = (negative: Uint16Array[]) => {
      const rows = soundingInstruments(negative);
      const end = rows[0].length;
      let sounding = 0;
      for (let t = end - FRAMES_PER_BAR; t < end; t++) sounding += others.some(([, k]) => rows[k][t]) ? 1 : 0;
      return sounding;
    };
    const negatives = (examples: ReturnType<typeof tinybandPairs>) => examples.filter((e) => e.label === 0).map((e) => e.tokens);
    for (const negative of negatives(tinybandPairs(instrument, 100, 11, { keepBand: true }))) expect(bandAtEnd(negative)).toBeGreaterThanOrEqual(FRAMES_PER_BAR / 4);
    // the shipped probes' pairs: the instrument sometimes played alone
    expect(negatives(tinybandPairs(instrument, 100, 11)).some((negative) => bandAtEnd(negative) < FRAMES_PER_BAR / 4)).toBe(true);
  });

  it('sounding pairs (a monitor, not a knob): the same music, the negative with its last bar silent, and music before it', () => {
    const examples = tinybandPairs('sounding', 30, 7);
    expect(examples).toHaveLength(60);
    const plays = (t: Uint16Array[]) => soundingInstruments(t).some((row) => row.some((x) => x === 1));
    for (let i = 0; i < examples.length; i += 2) {
      const [pos, neg] = [examples[i].tokens, examples[i + 1].tokens];
      const length = pos[0].length;
      expect(length).toBeGreaterThanOrEqual(2 * FRAMES_PER_BAR);
      const lastBar = (t: Uint16Array[]) => t.map((r) => r.slice(-FRAMES_PER_BAR));
      const before = (t: Uint16Array[]) => t.map((r) => r.slice(0, length - FRAMES_PER_BAR));
      expect(plays(lastBar(pos))).toBe(true);
      expect(lastBar(neg).every((r) => r.every((x) => x === REST))).toBe(true);
      expect(before(neg)).toEqual(before(pos));
    }
  });
});
