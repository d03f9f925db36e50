import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { compose } from '../../src/model/tinyband/composer/index.js';
import { bestKey, drumsOnGrid, persistence, qualityReport, StyleClassifier } from '../../src/model/tinyband/quality.js';
import { CODEBOOK_SIZES, HOLD, REST } from '../../src/model/tinyband/layout.js';
import { scalePitchClasses } from '../../src/model/tinyband/theory.js';

const reference = Array.from({ length: 300 }, (_, i) => compose({ seed: 10_000 + i, bars: 16 }));
const heldOut = Array.from({ length: 100 }, (_, i) => compose({ seed: 20_000 + i, bars: 16 }));

function randomTokens(seed: number, frames = 256): Uint16Array[] {
  const rng = new Rng(seed);
  return CODEBOOK_SIZES.map((size) => Uint16Array.from({ length: frames }, () => rng.int(0, size - 1)));
}

describe('quality of tinyband tokens', () => {
  it('finds the key of composed pieces and scores them fully in key and on grid', () => {
    for (const p of heldOut.slice(0, 20)) {
      const k = bestKey(p.tokens);
      expect(k.inKey).toBe(1);
      // several keys can hold every note of a short piece, so only the share is checked, and the best key's scale holds the tonic
      expect(scalePitchClasses(k.key)).toContain(p.key.tonic);
      if (p.labels[0].some((x) => x)) expect(drumsOnGrid(p.tokens, p.style).onGrid).toBe(1);
    }
  });

  it('scores random tokens low, so the checks can fail', () => {
    const report = qualityReport(Array.from({ length: 20 }, (_, i) => ({ tokens: randomTokens(i), style: 'ballad' as const })));
    expect(report.inKey).toBeLessThan(0.8);
    expect(report.drumsOnGrid).toBeLessThan(0.6);
  });

  it('tells the styles apart from drum patterns alone', () => {
    const classifier = StyleClassifier.fit(reference.map((p) => ({ tokens: p.tokens, style: p.style })));
    const report = qualityReport(heldOut.map((p) => ({ tokens: p.tokens, style: p.style })), classifier);
    expect(report.styleMatch).toBeGreaterThan(0.85);
    const shuffled = qualityReport(heldOut.map((p, i) => ({ tokens: p.tokens, style: heldOut[(i + 1) % heldOut.length].style })), classifier);
    expect(shuffled.styleMatch).toBeLessThan(0.5);
  });

  it('measures persistence: steady parts score 1, a part heard in one bar of four scores 1/4', () => {
    const frames = 64;
    const steady = [new Uint16Array(frames).fill(1), new Uint16Array(frames).fill(HOLD), new Uint16Array(frames), new Uint16Array(frames)];
    steady[1][0] = 10;
    expect(persistence(steady)).toBe(1);
    const blip = [new Uint16Array(frames), new Uint16Array(frames).fill(REST), new Uint16Array(frames), new Uint16Array(frames)];
    blip[0][0] = 1;
    expect(persistence(blip)).toBe(0.25);
  });
});
