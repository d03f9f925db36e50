import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { smitin, tempDir } from '../helpers/cli.js';

describe('smitin stats and smitin synth on a dataset folder', () => {
  const dir = tempDir();
  const made = smitin(['dataset', '--pieces', '6', '--bars', '8', '--seed', '3', '--out', dir, '--quiet']);

  it('reports composed music as in key, on grid and persistent', () => {
    expect(made.status).toBe(0);
    const r = smitin(['stats', '--dataset', dir, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.pieces).toBe(6);
    expect(report.inKey).toBe(1);
    expect(report.drumsOnGrid).toBe(1);
    expect(report.persistence).toBeGreaterThan(0.8);
  });

  it('renders a piece and one stem per instrument', () => {
    const out = join(dir, 'piece.wav');
    const r = smitin(['synth', '--dataset', dir, '--item', '2', '--stems', '--tempo', '140', '--out', out]);
    expect(r.status).toBe(0);
    const mix = decodeWav(readFileSync(out)).channels[0];
    expect(mix.length).toBeGreaterThan(8 * 16 * 48_000 * (60 / 140 / 4) - 1);
    let energy = 0;
    for (const x of mix) energy += x * x;
    expect(energy).toBeGreaterThan(0);
    for (const inst of ['drums', 'bass', 'piano', 'guitar']) expect(existsSync(join(dir, `piece.${inst}.wav`))).toBe(true);
  });

  it('names the file and what was expected for a folder that is not a dataset', () => {
    const empty = tempDir();
    const r = smitin(['stats', '--dataset', empty]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--dataset: .*dataset\.json: expected a smitin-tinyband-dataset header/);
    const bad = smitin(['synth', '--dataset', dir, '--item', '99', '--out', join(empty, 'x.wav')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--item must be below 6/);
  });
});
