import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compose } from '../../src/model/tinyband/composer/index.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { pythonWithNumpy } from '../helpers/python.js';

const python = pythonWithNumpy();

describe('smitin dataset', () => {
  const dir = tempDir();
  const run = smitin(['dataset', '--pieces', '12', '--seed', '5', '--bars', '16', '--out', dir, '--quiet']);

  it('writes the arrays and a header, and reports the entry baseline', () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/wrote 12 pieces x 256 frames .* enter within 4 bars \d+\.\d %/);
    expect(readdirSync(dir).sort()).toEqual(['chords.u8', 'dataset.json', 'labels.u8', 'tokens.u16']);
  });

  it('stores exactly what the composer wrote for each piece seed', () => {
    const header = JSON.parse(readFileSync(join(dir, 'dataset.json'), 'utf8'));
    const bytes = readFileSync(join(dir, 'tokens.u16'));
    const tokens = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    expect(tokens.length).toBe(12 * 256 * 4);
    for (const p of [0, 11]) {
      const piece = compose({ seed: header.items[p].seed, bars: 16 });
      for (let t = 0; t < 256; t++) for (let k = 0; k < 4; k++) expect(tokens[(p * 256 + t) * 4 + k]).toBe(piece.tokens[k][t]);
      expect(header.items[p].tags).toEqual(piece.tags);
    }
  });

  it.skipIf(!python)('reads in numpy with np.fromfile and the header alone', () => {
    const script = `
import json, sys, numpy as np
d = sys.argv[1]
h = json.load(open(d + '/dataset.json'))
a = {n: np.fromfile(d + '/' + s['file'], dtype=s['dtype']).reshape(s['shape']) for n, s in h['arrays'].items()}
assert a['tokens'].shape == (12, 256, 4), a['tokens'].shape
assert a['tokens'].max() < h['vocab']['vocabSize']
for k, size in enumerate(h['vocab']['codebookSizes']):
    assert a['tokens'][:, :, k].max() < size
assert set(np.unique(a['labels'])) <= {0, 1}
print(json.dumps({'labels_mean': a['labels'].mean(axis=(0, 1)).tolist(), 'first': a['tokens'][0, :4].tolist()}))
`;
    const r = spawnSync(python!, ['-c', script, dir], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.labels_mean).toHaveLength(4);
    for (const m of out.labels_mean) expect(m).toBeGreaterThan(0);
    const header = JSON.parse(readFileSync(join(dir, 'dataset.json'), 'utf8'));
    const piece = compose({ seed: header.items[0].seed, bars: 16 });
    expect(out.first).toEqual([0, 1, 2, 3].map((t) => piece.tokens.map((row) => row[t])));
  });

  it('shows progress on stderr when it is not a terminal (a CI log), and keeps stdout the result', () => {
    const r = smitin(['dataset', '--pieces', '3', '--seed', '5', '--bars', '8', '--out', tempDir()]);
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^composing .* 0\/3 pieces/);
    expect(lines.at(-1)).toMatch(/^composing .* 3\/3 pieces/);
    expect(r.stdout).toMatch(/^wrote 3 pieces/);
  });

  it('writes the 2-bar-section variant when asked, and says so in the header', () => {
    const out = tempDir();
    const r = smitin(['dataset', '--pieces', '12', '--seed', '5', '--bars', '16', '--short-sections', '0.5', '--out', out, '--quiet']);
    expect(r.status).toBe(0);
    const header = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'));
    expect(header.shortSections).toBe(0.5);
    expect(header.items.flatMap((it: { sections: { bars: number }[] }) => it.sections).some((s: { bars: number }) => s.bars === 2)).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'dataset.json'), 'utf8')).shortSections).toBe(0);
  });

  it('rejects bad arguments with exit code 2 and leaves nothing behind', () => {
    const empty = tempDir();
    for (const args of [
      ['--pieces', '0'],
      ['--bars', '10'],
      ['--seed', '-1'],
      ['--short-sections', '1.5'],
    ]) {
      const r = smitin(['dataset', '--out', empty, '--quiet', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(readdirSync(empty)).toEqual([]);
  });
});
