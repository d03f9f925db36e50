import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeText, loadModel, MusicgenGenerator, type Conditioning, type GeneratorOptions, type MusicgenModel } from '../../src/model/musicgen/index.js';
import { CODEBOOK_SIZES, PAD_ID } from '../../src/model/tinyband/layout.js';
import { qualityReport } from '../../src/model/tinyband/quality.js';
import { STYLE_NAMES, type StyleName } from '../../src/model/tinyband/styles.js';
import { MODEL_DIR, NO_MODEL_REASON, SHIPPED_MODEL } from '../helpers/model.js';

const FRAMES = 24;

describe.skipIf(!MODEL_DIR)(`streaming generator (${MODEL_DIR ?? NO_MODEL_REASON})`, () => {
  let model: MusicgenModel;
  let cond: Conditioning;
  beforeAll(async () => {
    model = await loadModel(MODEL_DIR!, { threads: 1 });
    cond = await encodeText(model, ['rock bright energetic drums'], 3);
  });
  afterAll(async () => model?.release());

  const generator = (options: Partial<GeneratorOptions> = {}, c = cond, spec = model.spec) =>
    new MusicgenGenerator(model.decoder, spec, c, { ...spec.generation, seed: 1, ...options });

  it('returns null while the delay pattern fills, then one frame per step', async () => {
    const g = generator();
    const K = model.spec.dims.codebooks;
    for (let i = 0; i < K - 1; i++) expect(await g.step()).toBeNull();
    for (let i = 0; i < 5; i++) expect(await g.step()).toHaveLength(K);
    expect(g.metrics).toMatchObject({ steps: K - 1 + 5, frames: 5 });
    expect(g.metrics.modelMs).toBeGreaterThan(0);
  });

  it('is seeded: the same seed gives the same tokens, another seed others', async () => {
    const a = await generator({ seed: 5 }).generate(FRAMES);
    const b = await generator({ seed: 5 }).generate(FRAMES);
    const c = await generator({ seed: 6 }).generate(FRAMES);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("samples only ids of each codebook's own range, never the pad", async () => {
    const tokens = await generator({ seed: 9, topK: 0, temperature: 2 }).generate(FRAMES);
    tokens.forEach((row, k) => {
      for (const id of row) {
        expect(id).not.toBe(PAD_ID);
        expect(id).toBeGreaterThanOrEqual(0);
        expect(id).toBeLessThan(CODEBOOK_SIZES[k]);
      }
    });
  });

  it('continues a prompt of frames: greedy continuation reproduces greedy generation', async () => {
    const whole = await generator({ doSample: false }).generate(FRAMES);
    const P = 10;
    const prompt = whole.map((row) => row.slice(0, P));
    const g = generator({ doSample: false, prompt });
    expect(g.promptFrames).toBe(P);
    const rest = await g.generate(FRAMES - P);
    expect(rest).toEqual(whole.map((row) => row.slice(P)));
    // the prompt was fed in one run, then one step per frame after the delay
    expect(g.metrics.steps).toBe(1 + (FRAMES - P) + model.spec.dims.codebooks - 2);
  });

  it('runs without the unconditional half at guidance 1', async () => {
    const single = await encodeText(model, ['rock bright energetic drums'], 1);
    const a = await generator({ seed: 3 }, single).generate(8);
    const b = await generator({ seed: 3 }, single).generate(8);
    expect(a).toEqual(b);
  });

  it('says when the window is full and when a prompt does not fit the model', async () => {
    const g = generator({}, cond, { ...model.spec, maxFrames: 6 });
    expect(g.framesLeft).toBe(6);
    await g.generate(6);
    expect(g.framesLeft).toBe(0);
    await expect(g.step()).rejects.toThrow(/the context window is full: this model holds 6 frames/);
    expect(() => generator({ prompt: [[1], [1]] })).toThrow('prompt must have 4 codebook rows, got: 2');
    expect(() => generator({ prompt: [[1], [1], [1], [170]] })).toThrow('prompt[3][0] must be a token id in [0, 169], got: 170');
  });
});

describe.skipIf(!MODEL_DIR)(`endless generation: the sliding window (${MODEL_DIR ?? NO_MODEL_REASON})`, () => {
  let model: MusicgenModel;
  let cond: Conditioning;
  beforeAll(async () => {
    model = await loadModel(MODEL_DIR!, { threads: 1 });
    cond = await encodeText(model, ['house dark steady'], 3);
  });
  afterAll(async () => model?.release());

  const N = 100;
  const WINDOW = 40;
  const slide = { keep: 16, align: 16 };
  const make = (options: Partial<GeneratorOptions>, maxFrames = model.spec.maxFrames) =>
    new MusicgenGenerator(model.decoder, { ...model.spec, maxFrames }, cond, { ...model.spec.generation, seed: 4, ...options });

  it('slides without a break: no null step at a seam, and every token sampled before a seam is kept', async () => {
    const K = model.spec.dims.codebooks;
    const windowed = make({ doSample: false, slide }, WINDOW);
    const tokens = await windowed.generate(N);
    expect(windowed.metrics.slides).toBeGreaterThanOrEqual(2);
    // one frame per step after the first K-1, seams included: no frame lost, none repeated, no refill
    expect(windowed.metrics.steps).toBe(N + K - 1);
    // windows start on a bar
    expect(windowed.windowStart % slide.align).toBe(0);
    expect(windowed.windowStart).toBeGreaterThan(0);
    // before the first seam both runs are the same; the first seam comes when position WINDOW + K - 1 is needed:
    // by then output positions 0 .. WINDOW + K - 2 had sampled codebook k up to frame WINDOW + K - 2 - k,
    // frames still in flight included, and a break would resample those
    const plain = await make({ doSample: false }).generate(N);
    for (let k = 0; k < K; k++) {
      const kept = WINDOW + K - 1 - k;
      expect(Array.from(tokens[k].slice(0, kept)), `codebook ${k}`).toEqual(Array.from(plain[k].slice(0, kept)));
    }
    tokens.forEach((row, k) => row.forEach((id) => expect(id).toBeLessThan(CODEBOOK_SIZES[k])));
  });

  it('is seeded across seams', async () => {
    const a = await make({ slide }, WINDOW).generate(N);
    const b = await make({ slide }, WINDOW).generate(N);
    expect(a).toEqual(b);
  });

  it('checks its settings', () => {
    expect(() => make({ slide: { keep: 30, align: 16 } }, WINDOW)).toThrow('slide.keep must be an integer in [0, 20] (the window holds 40 frames), got: 30');
    expect(() => make({ slide: { keep: 8, align: 0 } }, WINDOW)).toThrow('slide.align must be an integer >= 1, got: 0');
  });
});

describe.skipIf(MODEL_DIR !== SHIPPED_MODEL)('the runtime plays the trained tinyband as it was trained', () => {
  it('keeps it in key, on the style grid and persistent, as the PyTorch sampler does', async () => {
    // training/sample.py's samples of the shipped model score 96.7 % in key, 90.1 % on grid, 86.4 % persistence;
    // a misaligned delay pattern, lost guidance or a broken cache shows here first
    const model = await loadModel(MODEL_DIR!, { threads: 1 });
    const pieces: { tokens: Uint16Array[]; style: StyleName }[] = [];
    for (let i = 0; i < 5; i++) {
      const style = STYLE_NAMES[i % STYLE_NAMES.length];
      const cond = await encodeText(model, [`${style} happy steady`], model.spec.generation.guidance);
      const g = new MusicgenGenerator(model.decoder, model.spec, cond, { ...model.spec.generation, seed: 200 + i });
      pieces.push({ tokens: await g.generate(128), style });
    }
    await model.release();
    const report = qualityReport(pieces);
    expect(report.inKey).toBeGreaterThan(0.85);
    expect(report.drumsOnGrid).toBeGreaterThan(0.8);
    expect(report.persistence).toBeGreaterThan(0.7);
  });
});
