/**
 * Probe maps (the SMITIN paper's figure of probe validation accuracy per
 * layer x head, one panel per feature) as a standalone SVG string, so a
 * probe run can leave a picture beside its numbers without a plotting
 * dependency. Hand-written SVG: each cell is one rect.
 *
 * Colour runs from chance (0.5) to perfect (1.0) on a viridis scale (nine
 * stops of matplotlib's viridis, interpolated in sRGB): sequential and
 * perceptually even, so a brighter cell reads as a better probe, and it
 * survives greyscale printing and colour blindness. Accuracies below chance
 * are legal but take the chance colour: a probe worse than a coin carries
 * no more signal than one at chance for steering.
 */

export interface ProbeMapPanel {
  feature: string;
  /** layers * heads accuracies in [0, 1], index = layer * heads + head. */
  accuracy: ArrayLike<number>;
}

const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [0x44, 0x01, 0x54], [0x47, 0x2d, 0x7b], [0x3b, 0x52, 0x8b], [0x2c, 0x72, 0x8e], [0x21, 0x91, 0x8c],
  [0x28, 0xae, 0x80], [0x5e, 0xc9, 0x62], [0xad, 0xdc, 0x30], [0xfd, 0xe7, 0x25],
];
const CHANCE = 0.5;
const PER_ROW = 4;
/** The grid's target size in px; cells are sized to fill about this, within the clamps below. */
const GRID = 448;
const OUTLINE = '#ff2d55';

function rgb(accuracy: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, (accuracy - CHANCE) / (1 - CHANCE))) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t));
  const f = t - i;
  const [a, b] = [VIRIDIS[i], VIRIDIS[i + 1]];
  return [0, 1, 2].map((c) => Math.round(a[c] + f * (b[c] - a[c]))) as [number, number, number];
}

const hex = (c: [number, number, number]): string => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** Dark text on the bright (yellow-green) end of the scale, light text on the dark end. */
function textOn(c: [number, number, number]): string {
  const luminance = (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;
  return luminance > 0.45 ? '#000' : '#fff';
}

/** XML text and attribute escaping; characters XML 1.0 forbids (controls, lone surrogates) become U+FFFD, or the file would not parse. */
function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** The smallest of 1, 2, 5, 10, 20, 50, ... whose multiples are at least `minGap` px apart at `cell` px each: labels that do not collide. */
function tickStep(cell: number, minGap: number): number {
  for (let step = 1; ; step *= 10) {
    for (const s of [step, 2 * step, 5 * step]) if (s * cell >= minGap) return s;
  }
}

function positiveInteger(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name}: expected an integer >= 1, got ${v}`);
}

/** Checks a panel and finds its best head (first in layer-major order on ties). */
function bestOf(panel: ProbeMapPanel, k: number, layers: number, heads: number): { index: number; value: number } {
  if (typeof panel?.feature !== 'string') throw new RangeError(`panels[${k}].feature: expected a string, got ${typeof panel?.feature}`);
  const name = `probe map panel "${panel.feature}"`;
  const acc = panel.accuracy;
  if (acc == null || typeof acc.length !== 'number') throw new RangeError(`${name}: accuracy must be an array of layers*heads numbers`);
  if (acc.length !== layers * heads) {
    throw new RangeError(`${name}: accuracy has ${acc.length} values, expected layers*heads = ${layers}*${heads} = ${layers * heads}`);
  }
  let index = 0;
  for (let i = 0; i < acc.length; i++) {
    const v = acc[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new RangeError(`${name}: accuracy at layer ${Math.floor(i / heads)}, head ${i % heads} (index ${i}) is ${v}, expected a finite number in [0, 1]`);
    }
    if (v > acc[index]) index = i;
  }
  return { index, value: acc[index] };
}

/**
 * One panel per feature, at most four to a row, layer 0 at the bottom and
 * head 0 at the left; the best head of each panel outlined. Accuracies are
 * printed in the cells only while they fit (heads <= 16 and cells at least
 * 8 px tall); every cell carries a <title> tooltip with its value either way.
 * Cells are rect class="cell" with data-layer / data-head, the outline rect
 * class="best".
 */
export function probeMapSvg(panels: readonly ProbeMapPanel[], layers: number, heads: number, title?: string): string {
  if (!Array.isArray(panels) || panels.length === 0) throw new RangeError('panels: expected at least one panel');
  positiveInteger('layers', layers);
  positiveInteger('heads', heads);
  if (title !== undefined && typeof title !== 'string') throw new RangeError(`title: expected a string, got ${typeof title}`);
  const bests = panels.map((p, k) => bestOf(p, k, layers, heads));

  const cw = Math.min(36, Math.max(6, Math.floor(GRID / heads)));
  const ch = Math.min(28, Math.max(6, Math.floor(GRID / layers)));
  const numbers = heads <= 16 && ch >= 8;
  const cellFont = Math.min(10, Math.floor(ch * 0.7), Math.floor(cw / 2.6));
  const gridW = heads * cw;
  const gridH = layers * ch;
  const margin = 16;
  const titleH = title ? 30 : 0;
  const [left, top, right, bottom] = [46, 24, 24, 36]; // around each grid: layer axis, panel title, gap, head axis
  const panelW = left + gridW + right;
  const panelH = top + gridH + bottom;
  const columns = Math.min(PER_ROW, panels.length);
  const rows = Math.ceil(panels.length / PER_ROW);
  const barX = margin + columns * panelW;
  const barW = 14;
  const barH = Math.max(120, Math.min(gridH, 320));
  const width = barX + barW + 62 + margin;
  const height = margin + titleH + rows * panelH + margin;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`);
  out.push(`<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`);
  if (title) out.push(`<text class="title" x="${width / 2}" y="${margin + 18}" text-anchor="middle" font-size="18" font-weight="bold">${escapeXml(title)}</text>`);

  const layerStep = tickStep(ch, 12);
  const headStep = tickStep(cw, 18);
  panels.forEach((panel, k) => {
    const x0 = margin + (k % PER_ROW) * panelW + left;
    const y0 = margin + titleH + Math.floor(k / PER_ROW) * panelH + top;
    const feature = escapeXml(panel.feature);
    const best = bests[k];
    const bl = Math.floor(best.index / heads);
    const bh = best.index % heads;
    out.push(`<g class="panel" data-feature="${feature}">`);
    out.push(`<text class="panel-title" x="${x0 + gridW / 2}" y="${y0 - 8}" text-anchor="middle" font-size="13">${feature} best ${best.value.toFixed(3)} (L${bl} H${bh})</text>`);
    const cellX = (h: number): number => x0 + h * cw;
    const cellY = (l: number): number => y0 + (layers - 1 - l) * ch; // layer 0 at the bottom
    for (let l = 0; l < layers; l++) {
      for (let h = 0; h < heads; h++) {
        const v = panel.accuracy[l * heads + h];
        const c = rgb(v);
        out.push(`<rect class="cell" data-layer="${l}" data-head="${h}" x="${cellX(h)}" y="${cellY(l)}" width="${cw}" height="${ch}" fill="${hex(c)}"><title>L${l} H${h}: ${v.toFixed(3)}</title></rect>`);
        if (numbers) {
          out.push(`<text x="${cellX(h) + cw / 2}" y="${cellY(l) + ch / 2}" text-anchor="middle" dominant-baseline="central" font-size="${cellFont}" fill="${textOn(c)}">${v.toFixed(2)}</text>`);
        }
      }
    }
    out.push(`<rect class="best" data-layer="${bl}" data-head="${bh}" x="${cellX(bh)}" y="${cellY(bl)}" width="${cw}" height="${ch}" fill="none" stroke="${OUTLINE}" stroke-width="2"/>`);
    for (let l = 0; l < layers; l += layerStep) {
      out.push(`<text x="${x0 - 4}" y="${cellY(l) + ch / 2}" text-anchor="end" dominant-baseline="central" font-size="10">${l}</text>`);
    }
    for (let h = 0; h < heads; h += headStep) {
      out.push(`<text x="${cellX(h) + cw / 2}" y="${y0 + gridH + 12}" text-anchor="middle" font-size="10">${h}</text>`);
    }
    out.push(`<text x="${x0 + gridW / 2}" y="${y0 + gridH + 28}" text-anchor="middle" font-size="11">head</text>`);
    const ly = y0 + gridH / 2;
    out.push(`<text x="${x0 - 34}" y="${ly}" text-anchor="middle" font-size="11" transform="rotate(-90 ${x0 - 34} ${ly})">layer</text>`);
    out.push('</g>');
  });

  // The colour bar: thin slices rather than a gradient, so the file needs no ids and can be inlined twice in one page;
  // each slice but the lowest reaches half a pixel into the one below, which hides anti-aliasing seams.
  const barY = margin + titleH + top;
  const slices = 64;
  out.push('<g class="colour-bar">');
  for (let s = 0; s < slices; s++) {
    const acc = CHANCE + ((s + 0.5) / slices) * (1 - CHANCE);
    const y = barY + barH - ((s + 1) * barH) / slices;
    out.push(`<rect class="scale" x="${barX}" y="${y.toFixed(2)}" width="${barW}" height="${(barH / slices + (s > 0 ? 0.5 : 0)).toFixed(2)}" fill="${hex(rgb(acc))}"/>`);
  }
  out.push(`<rect x="${barX}" y="${barY}" width="${barW}" height="${barH}" fill="none" stroke="#000" stroke-width="0.5"/>`);
  for (let t = 0; t <= 5; t++) {
    const value = CHANCE + t * 0.1;
    const y = barY + barH - (t / 5) * barH;
    out.push(`<line x1="${barX + barW}" y1="${y}" x2="${barX + barW + 4}" y2="${y}" stroke="#000"/>`);
    out.push(`<text class="tick" x="${barX + barW + 6}" y="${y}" dominant-baseline="central" font-size="10">${value.toFixed(1)}</text>`);
  }
  const lx = barX + barW + 36;
  const ly = barY + barH / 2;
  out.push(`<text x="${lx}" y="${ly}" text-anchor="middle" font-size="11" transform="rotate(-90 ${lx} ${ly})">probe accuracy</text>`);
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n');
}
