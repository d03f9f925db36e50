/** smitin probes train / show as a user runs them. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveModelAndProbes } from '../../src/cli/model-check.js';
import { readModelFolder } from '../../src/model/musicgen/index.js';
import { modelIdentity, readProbeSet } from '../../src/smitin/probe-set.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { linkedCopy, MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

const TINY = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe.skipIf(MODEL_DIR !== SHIPPED_MODEL)('smitin probes', () => {
  const dir = tempDir();

  it('train writes a probe set for the model and a per-head accuracy picture; show reads it back', () => {
    const out = join(dir, 'p.safetensors');
    const r = smitin(['probes', 'train', '--features', 'drums,minor', '--pairs', '60', '--out', out, '--json', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.map).toBe(join(dir, 'p.svg'));
    // 60 pairs are few, but drums are plain to see for the best head
    expect(summary.probes.drums.best_acc).toBeGreaterThan(0.85);
    expect(summary.probes.drums.mean_acc).toBeGreaterThan(0.6);
    expect(summary.probes.minor.best_acc).toBeGreaterThan(0.55);
    const set = readProbeSet(out);
    expect(set.model).toMatchObject({ name: 'tinyband', layers: 4, heads: 8, headDim: 24 });
    expect(set.features.map((f) => f.name)).toEqual(['drums', 'minor']);
    // split by piece: a fifth of the pieces are validation
    expect(set.features[0].validation / (set.features[0].train + set.features[0].validation)).toBeCloseTo(0.2, 1);
    const svg = readFileSync(join(dir, 'p.svg'), 'utf8');
    expect(svg.match(/class="cell"/g)).toHaveLength(2 * 32);
    const show = smitin(['probes', 'show', out, '--json']);
    expect(show.status).toBe(0);
    expect(JSON.parse(show.stdout).probes.drums.best_acc).toBeCloseTo(summary.probes.drums.best_acc, 6);
  });

  it('train without --out leaves the shipped probe set alone: it writes to the user data folder, keyed by the decoder, where render, live and eval find it', () => {
    const shipped = join(SHIPPED_MODEL, 'probes.safetensors');
    const before = sha256(shipped);
    const data = tempDir('smitin-xdg-');
    const r = smitin(['probes', 'train', '--features', 'drums', '--pairs', '10', '--quiet'], { XDG_DATA_HOME: data });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(sha256(shipped)).toBe(before);
    const identity = modelIdentity(readModelFolder(SHIPPED_MODEL).spec);
    const mine = join(data, 'smitin', 'probes', identity.decoderFingerprint.slice(0, 16), 'probes.safetensors');
    expect(readProbeSet(mine).model).toEqual(identity);
    expect(existsSync(mine.replace(/safetensors$/, 'svg'))).toBe(true);
    expect(r.stdout).toContain(`wrote ${mine}`);
    expect(r.stdout).toMatch(/render, live and eval now steer tinyband with them by default .* another set: --probes FILE/);

    const xdg = process.env.XDG_DATA_HOME;
    try {
      process.env.XDG_DATA_HOME = data;
      const found = resolveModelAndProbes(SHIPPED_MODEL, { prepare: false });
      expect(found.probesFile).toBe(mine);
      expect(found.features).toEqual(['drums']);
      expect(found.notes.join('\n')).toContain(`steering with your probes ${mine} (the model's own: --probes ${shipped})`);
      // steering.json was chosen for the shipped probes: it does not apply to these
      expect(found.steering).toEqual({});
      process.env.XDG_DATA_HOME = tempDir('smitin-xdg-empty-');
      expect(resolveModelAndProbes(SHIPPED_MODEL, { prepare: false }).probesFile).toBe(shipped);
    } finally {
      if (xdg === undefined) delete process.env.XDG_DATA_HOME;
      else process.env.XDG_DATA_HOME = xdg;
    }
  });

  it('--keep-band trains an instrument on pairs whose negative keeps the band, records it, and is refused where pairs are not the composer\'s', () => {
    const out = join(dir, 'k.safetensors');
    const r = smitin(['probes', 'train', '--features', 'piano,minor', '--pairs', '60', '--keep-band', '--out', out, '--json', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const set = readProbeSet(out);
    expect(set.features[0].description).toMatch(/piano stem removed, the rest of the band still playing$/);
    expect(set.features[1].description).not.toMatch(/band still playing/);
    expect(set.training).toMatchObject({ source: 'tinyband composer pairs', keepBand: true });
    const concept = smitin(['probes', 'train', '--concept', 'sad', '--with', 'rock sad', '--without', 'rock happy', '--keep-band', '--out', join(dir, 'k2.safetensors')]);
    expect(concept.status).toBe(2);
    expect(concept.stderr).toMatch(/--keep-band chooses among tinyband's composer pairs: leave out --concept/);
    expect(existsSync(join(dir, 'k2.safetensors'))).toBe(false);
  });

  it('refuses unknown features and models it cannot build probe data for', () => {
    const bad = smitin(['probes', 'train', '--features', 'drums,cowbell', '--out', join(dir, 'q.safetensors')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--features: unknown feature "cowbell" \(tinyband has: drums, bass, piano, guitar, minor, dense, sounding\)/);
    const encodec = smitin(['probes', 'train', '--model', linkedCopy(TINY), '--out', join(dir, 'r.safetensors'), '--quiet']);
    expect(encodec.status).toBe(2);
    expect(encodec.stderr).toMatch(/probe data is built from the tinyband composer/);
    expect(existsSync(join(dir, 'r.safetensors'))).toBe(false);
  });

  // The 3000-step tinyband's guitar reads at 0.874 (0.885 and 0.893 with 2000 and 3000 pairs): the
  // longer-trained model mixes guitar and piano more in its heads (models/tinyband/README.md, Files).
  it('the shipped probe set meets the goals: best head >= 0.90 for drums, bass and piano, >= 0.85 for guitar and outside layer 0', () => {
    const r = smitin(['probes', 'show', join(SHIPPED_MODEL, 'probes.safetensors'), '--json']);
    const probes = JSON.parse(r.stdout).probes;
    for (const f of ['drums', 'bass', 'piano', 'guitar']) {
      expect(probes[f].best_acc, f).toBeGreaterThanOrEqual(f === 'guitar' ? 0.85 : 0.9);
      expect(probes[f].best_acc_after_first_layer, f).toBeGreaterThanOrEqual(0.85);
      expect(probes[f].role, f).toBe('knob');
    }
    // the band plays at all: read past layer 0, where the drums' removal is kept off it, and never a knob
    expect(probes.sounding.role).toBe('monitor');
    expect(probes.sounding.best_acc_after_first_layer).toBeGreaterThanOrEqual(0.95);
    const text = smitin(['probes', 'show', join(SHIPPED_MODEL, 'probes.safetensors')]).stdout;
    expect(text).toMatch(/^sounding .* segments \(monitor, not a knob\): the band plays in the last bar/m);
    expect(text).toMatch(/^drums .* segments: drums sound/m);
  });
});
