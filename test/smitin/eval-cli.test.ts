import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { smitin, tempDir } from '../helpers/cli.js';

describe('smitin eval', () => {
  it('--quick --json --features drums prints the table as JSON, and SMITIN lifts drums over no intervention', () => {
    const out = tempDir();
    const r = smitin(['eval', '--quick', '--json', '--features', 'drums', '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(Object.keys(result.probes)).toEqual(['drums']);
    expect(result.probes.drums).toEqual({ best_acc: expect.any(Number), best_acc_after_first_layer: expect.any(Number), mean_acc: expect.any(Number) });
    for (const row of result.rows) {
      expect(row).toMatchObject({ feature: 'drums', method: expect.any(String), alpha: expect.any(Number), success: expect.any(Number), in_key: expect.any(Number), nll: expect.any(Number), applied: expect.any(Number), ms_per_step: expect.any(Number) });
      for (const k of ['lift', 'frechet', 'collateral']) expect(row).toHaveProperty(k);
    }
    const methods = new Set(result.rows.map((x: { method: string }) => x.method));
    for (const m of ['none', 'text', 'random', 'topk8', 'topk16', 'smitin', 'reference', 'none-remove', 'smitin-remove']) expect(methods).toContain(m);
    const add = result.rows.filter((x: { strength: number; method: string }) => x.strength >= 0 && !x.method.endsWith('-remove'));
    const none = add.find((x: { method: string }) => x.method === 'none');
    const smitinBest = Math.max(...add.filter((x: { method: string }) => x.method === 'smitin').map((x: { success: number }) => x.success));
    expect(smitinBest).toBeGreaterThan(none.success);
    expect(none.lift).toBe(0);
    expect(none.applied).toBe(0);
    const removal = result.rows.find((x: { method: string }) => x.method === 'smitin-remove');
    expect(removal.share).toBeLessThan(result.rows.find((x: { method: string }) => x.method === 'none-remove').share);
    for (const f of ['eval.json', 'table.md', 'tradeoff.svg']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'tradeoff.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    expect(readFileSync(join(out, 'table.md'), 'utf8')).toContain('| drums | smitin |');
  });

  it('refuses an unknown feature with a usage error', () => {
    const r = smitin(['eval', '--quick', '--features', 'tuba']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown feature tuba/);
  });
});
