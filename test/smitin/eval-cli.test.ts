import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { smitin, tempDir } from '../helpers/cli.js';

describe('smitin eval', () => {
  it('--quick --json --features drums prints the tables as JSON (continuation and live), and SMITIN lifts drums over no intervention', () => {
    const out = tempDir();
    // 4 prompts per cell: the shape of the output and the direction of the effects, not the figures
    const r = smitin(['eval', '--quick', '--n', '4', '--json', '--features', 'drums', '--out', out, '--quiet']);
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
    for (const m of ['none', 'text', 'random', 'topk8', 'topk16', 'smitin', 'product', 'reference', 'none-remove', 'smitin-remove', 'product-remove']) expect(methods).toContain(m);
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

    // crosstalk per knob and sign, every other instrument, in the continuation and both live settings
    for (const setting of ['continuation', 'start', 'turn']) {
      for (const knob of ['drums=+1', 'drums=-1']) {
        const cells = result.crosstalk[setting][knob];
        expect(Object.keys(cells).sort(), `${setting} ${knob}`).toEqual(['bass', 'guitar', 'piano']);
        for (const c of Object.values(cells) as { flips: Record<string, number> }[]) {
          expect(c).toEqual({ share: expect.any(Number), present: expect.any(Number), se: { share: expect.any(Number), present: expect.any(Number) }, flips: expect.any(Object) });
          expect(c.flips.lacking + c.flips.having).toBe(4);
          expect(c.flips.gained).toBeLessThanOrEqual(c.flips.lacking);
          expect(c.flips.lost).toBeLessThanOrEqual(c.flips.having);
        }
      }
    }
    expect(result.dose_response.drums.strengths).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(result.dose_response.drums.spearman_share).toEqual(expect.any(Number));
    expect(result.control.drums.random_lift_at_product_nll).toEqual(expect.any(Number));
    expect(result.layout_floor.joins['piano joins guitar'].share).toEqual(expect.any(Number));
    const live = result.live.filter((r: { method: string; setting: string; strength: number }) => r.method === 'product' && r.setting === 'turn');
    expect(live.map((r: { strength: number }) => r.strength).sort((a: number, b: number) => a - b)).toEqual([-1, -0.5, 0.5, 1]);
    // the product's removal takes drums out of the model's own music
    const liveRemoval = live.find((r: { strength: number }) => r.strength === -1);
    expect(liveRemoval.change.drums.share).toBeLessThan(0);
    expect(liveRemoval.new_silences_removed_alone).toBeLessThanOrEqual(liveRemoval.new_silences);
    // and a listener hears it: the rendered drums stem is quieter in the same bars, with every instrument's cell measured
    expect(liveRemoval.heard.change.drums.share).toBeLessThan(0);
    for (const setting of ['start', 'turn']) expect(Object.keys(result.crosstalk_heard[setting]['drums=+1']).sort()).toEqual(['bass', 'guitar', 'piano']);
    // only the product's knobs at +-1 are rendered
    expect(live.find((r: { strength: number }) => r.strength === 0.5).heard).toBeUndefined();
    // the yardstick: the same prompts with other sampling seeds and no knob, measured as a knob's row is, in the tokens and heard
    const again = result.live.find((r: { setting: string }) => r.setting === 'resampled');
    expect(again).toMatchObject({ method: 'resampled', strength: 0, n: 4, nll_ratio: expect.any(Number), new_silences: expect.any(Number) });
    for (const p of [again, again.heard]) for (const inst of ['drums', 'bass', 'piano', 'guitar']) expect(p.change[inst].flips.lacking + p.change[inst].flips.having).toBe(4);
    expect(readFileSync(join(out, 'live.md'), 'utf8')).toMatch(/Another sampling seed, no knob[\s\S]*\| tokens \| [-+]\d\.\d\d \/ [-+]\d\.\d\d[^|]* \(in \d\/\d, out \d\/\d\) \|[\s\S]*\| heard \| /);
    expect(readFileSync(join(out, 'crosstalk.svg'), 'utf8')).toContain('>other seed</text>');
    for (const f of ['live.md', 'crosstalk.svg', 'dose-response.svg', 'control.svg']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'live.md'), 'utf8')).toMatch(/Paired standard error of a cell: share \d\.\d\d-\d\.\d\d, present \d\.\d\d-\d\.\d\d/);
    expect(readFileSync(join(out, 'live.md'), 'utf8')).toMatch(/layout's own floor for piano and guitar[^\n]*piano joins guitar: guitar -0\.\d\d/);
    expect(readFileSync(join(out, 'crosstalk.svg'), 'utf8')).toMatch(/^<svg[\s\S]*drums=-1[\s\S]*<\/svg>\n$/);
    expect(readFileSync(join(out, 'crosstalk.svg'), 'utf8')).toContain('>turn, heard</text>');
    expect(readFileSync(join(out, 'live.md'), 'utf8')).toMatch(/Heard in the rendered stems[^\n]*-40 dBFS RMS/);
    // song by song: every other instrument brought in / taken out of the twins' songs, in the tokens and heard, random directions as a row
    const md = readFileSync(join(out, 'live.md'), 'utf8');
    const songs = md.slice(md.indexOf('## Song by song'));
    for (const panel of ['start, tokens', 'turn, tokens', 'start, heard', 'turn, heard']) expect(songs).toContain(`| ${panel} | drums | bass | piano | guitar |`);
    const cells = (knob: string, table: string) => songs.slice(songs.indexOf(table)).match(new RegExp(`\\| ${knob} \\| ([^\\n]*) \\|\\n`))![1].split(' | ');
    const startRemoval = cells('drums=-1', 'start, tokens');
    expect(startRemoval[0]).toBe('(own)');
    startRemoval.slice(1).forEach((c, i) => {
      const f = result.crosstalk.start['drums=-1'][['bass', 'piano', 'guitar'][i]].flips;
      expect(c).toBe(`in ${f.gained}/${f.lacking}, out ${f.lost}/${f.having}`);
    });
    expect(cells('random directions in the drums heads', 'turn, tokens')[0]).toBe('(own)');
    const svg = readFileSync(join(out, 'songs.svg'), 'utf8');
    expect(svg).toMatch(/^<svg[\s\S]*>turn, heard<\/text>[\s\S]*>other seed<\/text>[\s\S]*<\/svg>\n$/);
    expect(svg).not.toContain('>continuation</text>');
    expect(svg).toMatch(/>\+\d+ -\d+<\/text>/);
  }, 150_000);

  it('refuses an unknown feature with a usage error', () => {
    const r = smitin(['eval', '--quick', '--features', 'tuba']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown feature tuba/);
  });
});
