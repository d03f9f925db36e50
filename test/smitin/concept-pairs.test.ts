/** Knobs from prompts: the model's own generations under two prompts as probe pairs, and smitin probes train --concept as a user runs it. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MusicgenModel } from '../../src/model/musicgen/index.js';
import { checkConcept, conceptFrames, conceptPairs } from '../../src/smitin/concept-pairs.js';
import { loadSteerableModel } from '../../src/smitin/prepare.js';
import { readProbeSet } from '../../src/smitin/probe-set.js';
import { isValidationPiece } from '../../src/smitin/train-probes.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

const SPARSE = { name: 'sparse', with: 'ballad calm', without: 'funk energetic' };

describe.skipIf(MODEL_DIR !== SHIPPED_MODEL)('concept pairs from prompts (tinyband)', () => {
  let model: MusicgenModel;
  beforeAll(async () => {
    model = await loadSteerableModel(SHIPPED_MODEL);
  });
  afterAll(async () => model?.release());

  it('cuts the same frames from a piece made under each prompt with one seed, read under the empty prompt, split by seed', async () => {
    const { piece, minSegment } = conceptFrames(model);
    expect([piece, minSegment]).toEqual([128, 16]);
    const ex = await conceptPairs(model, SPARSE, { n: 6, seed: 2, segmentsPerPiece: 3 });
    expect(ex).toHaveLength(6 * 3 * 2);
    for (let i = 0; i < ex.length; i += 2) {
      expect([ex[i].label, ex[i + 1].label]).toEqual([1, 0]);
      expect(ex[i].piece).toBe(ex[i + 1].piece);
      expect([ex[i].text, ex[i + 1].text]).toEqual(['', '']);
      expect(ex[i].tokens).toHaveLength(4);
      expect(ex[i].tokens[0].length).toBe(ex[i + 1].tokens[0].length);
      expect(ex[i].tokens[0].length).toBeGreaterThanOrEqual(16);
      expect(ex[i].tokens[0].length).toBeLessThanOrEqual(128);
    }
    // the prompts make different music: "ballad calm" against "funk energetic" differ in most pairs
    const differ = ex.filter((e, i) => i % 2 === 0 && JSON.stringify(e.tokens) !== JSON.stringify(ex[i + 1].tokens)).length;
    expect(differ).toBeGreaterThan(12);
    expect(ex.filter((e) => isValidationPiece(e.piece))).toHaveLength(2 * 3 * 2); // seeds 0 and 5
    const again = await conceptPairs(model, SPARSE, { n: 6, seed: 2, segmentsPerPiece: 3 });
    expect(again.map((e) => e.tokens)).toEqual(ex.map((e) => e.tokens));
    const own = await conceptPairs(model, SPARSE, { n: 1, seed: 2, segmentsPerPiece: 1, capture: 'own' });
    expect(own.map((e) => e.text)).toEqual(['ballad calm', 'funk energetic']);
  });

  it('refuses words tinyband does not know, prompts it reads as one, and names that are no knob', () => {
    expect(() => checkConcept(model, { name: 'drums', with: 'rock with drums', without: 'rock without drums' })).toThrow(
      /--with "rock with drums": tinyband does not know "with" \(it knows: rock funk house ballad bossa happy bright sad dark calm steady energetic drums bass piano guitar\)/,
    );
    expect(() => checkConcept(model, { name: 'x', with: 'rock drums', without: 'Rock, drums!' })).toThrow(/the model reads them as the same prompt/);
    expect(() => checkConcept(model, { name: '1x', with: 'rock', without: 'funk' })).toThrow(/--concept "1x": expected a knob name/);
  });
});

describe.skipIf(MODEL_DIR !== SHIPPED_MODEL)('smitin probes train --concept', () => {
  const dir = tempDir('smitin-concept-');

  it('adds a knob named NAME to the probe set the model uses, which render then steers with', () => {
    const out = join(dir, 'p.safetensors');
    const r = smitin(['probes', 'train', '--concept', 'sparse', '--with', SPARSE.with, '--without', SPARSE.without, '--n', '5', '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^sparse +best /m);
    expect(r.stdout).toContain(`with the probes of ${join(SHIPPED_MODEL, 'probes.safetensors')} (drums, bass, piano, guitar, minor, dense; monitor: sounding)`);
    expect(r.stdout).toContain(`steer with them: --probes ${out}`);
    const set = readProbeSet(out);
    const shipped = readProbeSet(join(SHIPPED_MODEL, 'probes.safetensors'));
    expect(set.model).toEqual(shipped.model);
    expect(set.features.map((f) => f.name)).toEqual(['drums', 'bass', 'piano', 'guitar', 'minor', 'dense', 'sounding', 'sparse']);
    expect(set.features[0].direction).toEqual(shipped.features[0].direction);
    // the shipped monitor stays a monitor in the joined set; the new concept is a knob
    expect(set.features.map((f) => f.role ?? 'knob')).toEqual([...new Array(6).fill('knob'), 'monitor', 'knob']);
    const sparse = set.features[7];
    // 5 seeds x 4 segments x 2: seed 0 is validation
    expect([sparse.train, sparse.validation]).toEqual([32, 8]);
    expect(sparse.description).toContain('"ballad calm"');
    // a knob from prompts steers along the mass-mean shift (measured: docs/eval.md); the monitor's probe stays the logistic one
    expect(sparse.direction).toEqual(sparse.massMeanDirection);
    expect(sparse.sigma).toEqual(sparse.massMeanSigma);
    expect(Math.hypot(...sparse.weights.subarray(0, 24))).toBeGreaterThan(0);
    expect((set.training.concepts as Record<string, unknown>).sparse).toMatchObject({ with: 'ballad calm', without: 'funk energetic', n: 5 });
    expect(existsSync(join(dir, 'p.svg'))).toBe(true);

    // training the concept again replaces it, keeping the others
    const again = smitin(['probes', 'train', '--concept', 'sparse', '--with', SPARSE.with, '--without', SPARSE.without, '--n', '5', '--seed', '2', '--out', out, '--quiet', '--json']);
    expect(again.status).toBe(0);
    expect(Object.keys(JSON.parse(again.stdout).probes)).toEqual(['sparse']);
    expect(readProbeSet(out).features.map((f) => f.name)).toEqual(['drums', 'bass', 'piano', 'guitar', 'minor', 'dense', 'sounding', 'sparse']);

    const wav = join(dir, 'steered.wav');
    const render = smitin(['render', '--probes', out, '--steer', 'sparse=1', '--prompt', 'funk', '--seconds', '2', '--out', wav, '--json']);
    expect(render.stderr).toBe('');
    expect(render.status).toBe(0);
    expect(readFileSync(wav).subarray(0, 4).toString()).toBe('RIFF');
  });

  it('says what --concept needs', () => {
    const noConcept = smitin(['probes', 'train', '--with', 'rock drums', '--out', join(dir, 'a.safetensors')]);
    expect(noConcept.status).toBe(2);
    expect(noConcept.stderr).toMatch(/--with needs --concept NAME/);
    const noWithout = smitin(['probes', 'train', '--concept', 'drums', '--with', 'rock drums', '--out', join(dir, 'b.safetensors')]);
    expect(noWithout.status).toBe(2);
    expect(noWithout.stderr).toMatch(/--concept "drums" needs --with TEXT and --without TEXT/);
    const unknown = smitin(['probes', 'train', '--concept', 'drums', '--with', 'rock with drums', '--without', 'rock without drums', '--out', join(dir, 'c.safetensors')]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/tinyband does not know "with"/);
    expect(existsSync(join(dir, 'c.safetensors'))).toBe(false);
  });
});
