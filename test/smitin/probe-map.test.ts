import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { probeMapSvg, type ProbeMapPanel } from '../../src/smitin/probe-map.js';

/** A deterministic pseudo-random stream. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Accuracies in [0.5, 0.9) with one planted best head at 0.97. */
function panel(feature: string, layers: number, heads: number, seed: number, best: [number, number]): ProbeMapPanel {
  const r = rng(seed);
  const accuracy = Array.from({ length: layers * heads }, () => 0.5 + 0.4 * r());
  accuracy[best[0] * heads + best[1]] = 0.97;
  return { feature, accuracy };
}

/** Start and end tags nest properly (our output has no comments, CDATA or '>' inside attribute values). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (!m[1]) stack.push(m[2]);
    else if (stack.pop() !== m[2]) return false;
  }
  return stack.length === 0;
}

/** The attributes of every <rect> of the given class. */
function rects(svg: string, cls: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<rect class="${cls}"([^>]*)>`, 'g'))].map((m) =>
    Object.fromEntries([...m[1].matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])),
  );
}

const cellAt = (svg: string, l: number, h: number): Record<string, string> =>
  rects(svg, 'cell').find((c) => c['data-layer'] === String(l) && c['data-head'] === String(h))!;

const python = ['/usr/bin/python3', 'python3'].find((exe) => spawnSync(exe, ['-c', 'import xml.dom.minidom'], { encoding: 'utf8' }).status === 0);

describe('probeMapSvg', () => {
  const layers = 6;
  const heads = 4;
  const panels = [panel('tempo', layers, heads, 1, [2, 3]), panel('drums', layers, heads, 2, [0, 1]), panel('piano', layers, heads, 3, [5, 0])];
  const svg = probeMapSvg(panels, layers, heads, 'Probe accuracy, tinyband');

  it('is one svg element with a cell per panel, layer and head', () => {
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(balanced(svg)).toBe(true);
    expect(svg.match(/class="cell"/g)).toHaveLength(panels.length * layers * heads);
    expect(svg).toContain('>Probe accuracy, tinyband</text>');
  });

  it.skipIf(!python)('parses as XML', () => {
    const r = spawnSync(python!, ['-c', 'import sys, xml.dom.minidom; d = xml.dom.minidom.parseString(sys.stdin.buffer.read()); print(d.documentElement.tagName)'], {
      input: probeMapSvg([{ ...panels[0], feature: 'a<&>"\'\u0001b' }], layers, heads, 'x & y'),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('svg');
  });

  it('outlines the best head of each panel and names it in the panel title', () => {
    const best = rects(svg, 'best');
    expect(best).toHaveLength(3);
    const planted: [number, number][] = [[2, 3], [0, 1], [5, 0]];
    planted.forEach(([l, h], k) => {
      expect(best[k]['data-layer']).toBe(String(l));
      expect(best[k]['data-head']).toBe(String(h));
      // Same place as that panel's cell (cells repeat per panel; pick the k-th match).
      const cells = rects(svg, 'cell').filter((c) => c['data-layer'] === String(l) && c['data-head'] === String(h));
      expect([best[k].x, best[k].y]).toEqual([cells[k].x, cells[k].y]);
    });
    expect(svg).toContain('>tempo best 0.970 (L2 H3)</text>');
    expect(svg).toContain('>drums best 0.970 (L0 H1)</text>');
    expect(svg).toContain('>piano best 0.970 (L5 H0)</text>');
  });

  it('puts layer 0 at the bottom and head 0 at the left', () => {
    expect(Number(cellAt(svg, 0, 0).y)).toBeGreaterThan(Number(cellAt(svg, layers - 1, 0).y));
    expect(Number(cellAt(svg, 0, 0).x)).toBeLessThan(Number(cellAt(svg, 0, heads - 1).x));
  });

  it('colours chance and perfect differently, and prints values in small grids', () => {
    const accuracy = [0.5, 1, 0.3, 0.75];
    const s = probeMapSvg([{ feature: 'f', accuracy }], 2, 2);
    const fills = [0, 1, 2, 3].map((i) => cellAt(s, Math.floor(i / 2), i % 2).fill);
    expect(fills[0]).not.toBe(fills[1]);
    expect(fills[2]).toBe(fills[0]); // below chance takes the chance colour
    expect(new Set(fills).size).toBe(3);
    for (const v of ['0.50', '1.00', '0.30', '0.75']) expect(s).toContain(`>${v}</text>`);
    expect(s).toContain('>f best 1.000 (L0 H1)</text>');
    expect(s).not.toContain('class="title"'); // no title given
  });

  it('has a colour bar from 0.5 to 1.0', () => {
    const ticks = [...svg.matchAll(/<text class="tick"[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(ticks).toEqual(['0.5', '0.6', '0.7', '0.8', '0.9', '1.0']);
  });

  it('scales to 48 layers x 32 heads without numbers in the cells, wrapping after four panels', () => {
    const big = Array.from({ length: 5 }, (_, k) => panel(`f${k}`, 48, 32, 10 + k, [47 - k, 31 - k]));
    const s = probeMapSvg(big, 48, 32);
    expect(s.match(/class="cell"/g)).toHaveLength(5 * 48 * 32);
    expect(balanced(s)).toBe(true);
    expect(s).not.toMatch(/>\d\.\d\d<\/text>/);
    expect(rects(s, 'best').map((b) => `${b['data-layer']}/${b['data-head']}`)).toEqual(['47/31', '46/30', '45/29', '44/28', '43/27']);
    const titleY = [...s.matchAll(/<text class="panel-title"[^>]*y="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(new Set(titleY.slice(0, 4)).size).toBe(1);
    expect(titleY[4]).toBeGreaterThan(titleY[0]);
    // Tick labels thin out rather than overlap: not every layer is labelled, layer 0 is.
    const layerLabels = [...s.matchAll(/text-anchor="end"[^>]*>(\d+)</g)].map((m) => Number(m[1]));
    expect(layerLabels.length).toBeLessThan(5 * 48);
    expect(layerLabels.filter((l) => l === 0)).toHaveLength(5);
    const width = Number(/width="(\d+)"/.exec(s)![1]);
    expect(width).toBeLessThan(4000);
  });

  it('escapes XML in feature names and the title', () => {
    const s = probeMapSvg([{ feature: 'a<b>&"c\'', accuracy: [0.6, 0.7] }], 1, 2, '<T&>');
    expect(s).toContain('a&lt;b&gt;&amp;&quot;c&apos; best 0.700 (L0 H1)');
    expect(s).toContain('&lt;T&amp;&gt;');
    expect(s).not.toContain('a<b>');
    expect(balanced(s)).toBe(true);
  });

  it('rejects bad input, naming the feature', () => {
    expect(() => probeMapSvg([{ feature: 'drums', accuracy: [0.5, 0.6, 0.7] }], 2, 2)).toThrow(
      /probe map panel "drums": accuracy has 3 values, expected layers\*heads = 2\*2 = 4/,
    );
    expect(() => probeMapSvg([{ feature: 'ok', accuracy: [0.5, 0.6] }, { feature: 'bass', accuracy: [0.5] }], 1, 2)).toThrow(/"bass"/);
    for (const [bad, shown] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [1.5, '1.5'], [-0.1, '-0.1']] as const) {
      expect(() => probeMapSvg([{ feature: 'vox', accuracy: [0.5, 0.6, bad, 0.7] }], 2, 2)).toThrow(
        new RegExp(`probe map panel "vox": accuracy at layer 1, head 0 \\(index 2\\) is ${shown.replace('.', '\\.')}, expected a finite number in \\[0, 1\\]`),
      );
    }
    expect(() => probeMapSvg([], 2, 2)).toThrow(/panels: expected at least one panel/);
    expect(() => probeMapSvg([{ feature: 'f', accuracy: [0.5] }], 0, 1)).toThrow(/layers: expected an integer >= 1/);
    expect(() => probeMapSvg([{ feature: 'f', accuracy: [0.5] }], 1, 1.5)).toThrow(/heads: expected an integer >= 1/);
    expect(() => probeMapSvg([{ feature: 'f', accuracy: [0.5] }], 1, 1)).not.toThrow();
  });
});
