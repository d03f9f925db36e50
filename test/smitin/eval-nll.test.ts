import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose } from '../../src/model/tinyband/composer/index.js';
import type { MusicgenModel } from '../../src/model/musicgen/index.js';
import { CODEBOOK_SIZES } from '../../src/model/tinyband/layout.js';
import { continuationNll } from '../../src/smitin/eval/nll.js';
import { loadSteerableModel } from '../../src/smitin/prepare.js';
import { Rng } from '../../src/util/rng.js';
import { SHIPPED_MODEL } from '../helpers/model.js';

describe('continuation NLL under the unsteered model', () => {
  let model: MusicgenModel;
  beforeAll(async () => {
    model = await loadSteerableModel(SHIPPED_MODEL, { threads: 1 });
  });
  afterAll(async () => {
    await model?.release();
  });

  it('real composer continuations score far lower than random tokens, and scores do not depend on the batch', async () => {
    const rng = new Rng(5);
    const items = Array.from({ length: 6 }, (_, i) => {
      const p = compose({ seed: 300 + i, bars: 8 });
      return { text: p.style, prompt: p.tokens.map((r) => r.slice(0, 32)), continuation: p.tokens.map((r) => r.slice(32, 96)) };
    });
    const noise = items.map((it) => ({ ...it, continuation: it.continuation.map((_, k) => Uint16Array.from({ length: 64 }, () => rng.int(0, CODEBOOK_SIZES[k] - 1))) }));
    const real = await continuationNll(model, items);
    const rand = await continuationNll(model, noise);
    for (let i = 0; i < items.length; i++) {
      expect(real[i]).toBeGreaterThan(0);
      expect(real[i]).toBeLessThan(1);
      // a uniform guess over a codebook's ids costs ln(size) nats; the model is far more sure of real music than of noise
      expect(rand[i]).toBeGreaterThan(real[i] + 2);
    }
    const alone = await continuationNll(model, [items[3]]);
    expect(alone[0]).toBeCloseTo(real[3], 4);
    const mixed = await continuationNll(model, [noise[0], items[3]], { batch: 2 });
    expect(mixed[1]).toBeCloseTo(real[3], 4);
  });
});
