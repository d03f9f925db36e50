/** The live setting's tables and pictures: the knob matrix, the crosstalk heat map, the dose-response curves and the control at equal NLL (hand-written SVG). */
import { INSTRUMENTS } from '../../model/tinyband/layout.js';
import { KNOB_BARS, MEASURED_BARS, TURN_BAR } from './knobs.js';
import { crosstalkMatrix, isProductRow, PRODUCT_METHOD, type ControlEntry, type DoseResponse, type KnobPresence, type LiveRow, type PresenceOf } from './live.js';
import { AUDIBLE_RMS } from './heard.js';
import { cellVerdict, flipRates, type PresenceChange } from './presence.js';
import type { LayoutFloor } from './layout-floor.js';

/** The goals of issue 11, in one place: the report marks the cells that miss them. */
export const GOALS = { crosstalk: 0.1, success: 0.9, shareDrop: 0.9, nllRatio: 1.5, inKey: 0.02, grid: 0.03, spearman: 0.95, randomLift: 0.05 } as const;

const f = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const sf = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(2)}` : '-');
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const miss = (bad: boolean): string => (bad ? ' !' : '');
const HEARD_DBFS = Math.round(20 * Math.log10(AUDIBLE_RMS));

/** `!`: over the bound by more than two standard errors; `?`: over it, but within two (the cell may land either side with other seeds). */
function cell(c: PresenceChange | undefined): string {
  if (!c) return '-';
  const v = cellVerdict(c, GOALS.crosstalk);
  return `${sf(c.share)} / ${sf(c.present)}${v === 'over' ? ' !' : v === 'noise' ? ' ?' : ''}`;
}

/** The range of the paired standard errors of a table's cells, share and present. */
function seRange(cells: readonly KnobPresence[]): string {
  const ses = cells.flatMap((r) => Object.values(r.change).flatMap((c) => (c.se ? [c.se] : [])));
  if (!ses.length) return '';
  const range = (xs: number[]) => `${f(Math.min(...xs))}-${f(Math.max(...xs))}`;
  return `Paired standard error of a cell: share ${range(ses.map((x) => x.share))}, present ${range(ses.map((x) => x.present))}.\n\n`;
}

/** New silent bars: all, and for removal how many only where the twin played the removed instrument alone (the knob's own request); the rest miss the goal. */
function silenceCell(r: LiveRow): string {
  const other = r.new_silences - (r.new_silences_removed_alone ?? 0);
  return `${r.new_silences}${r.strength < 0 && r.new_silences ? ` (${r.new_silences_removed_alone ?? 0} alone)` : ''}${miss(other > 0)}`;
}

const PRESENCE_HEAD = `| knob | own share | present | success (twin lacks it) | share drop | ${INSTRUMENTS.join(' | ')} |`;
const PRESENCE_COLUMNS = 5 + INSTRUMENTS.length;

/** A knob's presence cells (tokens or heard): its own effect, its goals, and every instrument's change. */
function presenceCells(r: LiveRow, p: KnobPresence): string {
  const add = r.strength > 0;
  let s = `| ${r.feature}=${r.strength > 0 ? '+' : ''}${r.strength} | ${f(p.share)} | ${f(p.present)} | ${add ? f(p.success_absent) + miss(r.strength === 1 && p.success_absent < GOALS.success) : '-'} | ${add ? '-' : f(p.share_drop) + miss(r.strength === -1 && p.share_drop < GOALS.shareDrop)} | `;
  s += INSTRUMENTS.map((inst) => (inst === r.feature ? `(${sf(p.change[inst].share)} / ${sf(p.change[inst].present)})` : cell(p.change[inst]))).join(' | ');
  return s + ' |';
}

/** The knob matrix of one method: per knob and sign, the knob's own effect, every instrument's change, and quality. */
function knobTable(rows: readonly LiveRow[], none: LiveRow): string {
  let s = `${PRESENCE_HEAD} NLL ratio | in-key | drums on grid | new silent bars | applied |\n|${Array(PRESENCE_COLUMNS + 5).fill('---').join('|')}|\n`;
  for (const r of rows) {
    s += presenceCells(r, r);
    s += ` ${f(r.nll_ratio)}${miss(r.nll_ratio > GOALS.nllRatio)} | ${f(r.in_key, 3)}${miss(r.in_key < none.in_key - GOALS.inKey)} | ${f(r.drums_on_grid, 3)}${miss(r.drums_on_grid < none.drums_on_grid - GOALS.grid)} | ${silenceCell(r)} | ${f(r.applied)} |\n`;
  }
  return s;
}

/** The same knobs heard in the rendered stems (the rows that were rendered). */
function heardTable(rows: readonly LiveRow[]): string {
  const heard = rows.filter((r) => r.heard);
  if (!heard.length) return '';
  let s = `Heard in the rendered stems (src/smitin/eval/heard.ts): share of the half-bar windows of the same bars in which the instrument's stem passes ${HEARD_DBFS} dBFS RMS; present: heard in at least a quarter of them. ${seRange(heard.map((r) => r.heard!)) || '\n\n'}`;
  s += `${PRESENCE_HEAD}\n|${Array(PRESENCE_COLUMNS).fill('---').join('|')}|\n`;
  for (const r of heard) s += presenceCells(r, r.heard!) + '\n';
  return s;
}

/** One instrument's change under another sampling seed: the cell, and the items that gained and lost it. */
function flipsCell(c: PresenceChange): string {
  const fl = c.flips;
  return `${cell(c)}${fl ? ` (in ${fl.gained}/${fl.lacking}, out ${fl.lost}/${fl.having})` : ''}`;
}

/** The resampled row: what another sampling path, with no knob, does to every cell the knobs are judged on. */
function resampledTable(r: LiveRow, none: LiveRow): string {
  let s = `## Another sampling seed, no knob: each cell's yardstick

The same ${r.n} prompts with other sampling seeds and no knob, against the twins, exactly as a knob's row is measured: any changed sampling path changes which instruments play in which items, so this is what a cell of this size shows with no knob at all. Its path differs from the twin's from the first step, a knob's only from where the push first changes a token (and not before bar ${TURN_BAR + 1} when turned), so its cells spread more than a knob's: a yardstick from above. Cells: change of share / present (\`?\`: over ${GOALS.crosstalk} within two standard errors); in brackets, the items that gained the instrument of those whose twin lacks it, and lost it of those whose twin has it. ${seRange(r.heard ? [r, r.heard] : [r]) || '\n\n'}`;
  s += `| no knob, other seed | ${INSTRUMENTS.join(' | ')} | NLL ratio | in-key | drums on grid | new silent bars |\n|${Array(INSTRUMENTS.length + 5).fill('---').join('|')}|\n`;
  s += `| tokens | ${INSTRUMENTS.map((i) => flipsCell(r.change[i])).join(' | ')} | ${f(r.nll_ratio)} | ${sf(r.in_key - none.in_key)} | ${sf(r.drums_on_grid - none.drums_on_grid)} | ${r.new_silences} |\n`;
  if (r.heard) s += `| heard | ${INSTRUMENTS.map((i) => flipsCell(r.heard!.change[i])).join(' | ')} | | | | |\n`;
  return s + '\n';
}

/** A cell of songs: brought into k of the songs whose twin lacks the instrument, taken out of m of those that have it. */
function songsCell(c: PresenceChange | undefined): string {
  const fl = c?.flips;
  return fl ? `in ${fl.gained}/${fl.lacking}, out ${fl.lost}/${fl.having}` : '-';
}

const KNOBS = INSTRUMENTS.flatMap((i) => [`${i}=+1`, `${i}=-1`]);

/**
 * The product's knobs song by song (flipRates): which other instruments each
 * knob brought into or took out of a song, against its twin, with the
 * random directions of the same size as a row to read them against.
 */
function songsSection(rows: readonly LiveRow[]): string {
  const panels: [string, PresenceOf][] = [
    ['tokens', (r) => r],
    ['heard', (r) => r.heard],
  ];
  let s = `## Song by song: the other instruments a knob brings in or takes out

A cell above is the change of a mean over the ${rows.find((r) => r.setting === 'none')?.n ?? '-'} songs, and a knob that brings an instrument into some songs and takes it out of others leaves that mean where it was while a listener hears both. Here each song is read against its twin: \`in k/n\`: of the n songs whose twin lacks the column's instrument, the knob brought it into k; \`out k/n\`: of those whose twin has it, it took it out of k. A knob's columns for the instruments it has nothing to do with show how often a push of its size moves a song's band by itself; the last rows push random directions of the same size into the same heads (turn setting, +1), and another sampling seed with no knob moves it most (the section above).

`;
  for (const [what, of] of panels) {
    const matrix = crosstalkMatrix(rows, of);
    for (const [setting, knobs] of Object.entries(matrix)) {
      s += `| ${setting}, ${what} | ${INSTRUMENTS.join(' | ')} |\n|${Array(INSTRUMENTS.length + 1).fill('---').join('|')}|\n`;
      for (const knob of KNOBS) if (knobs[knob]) s += `| ${knob} | ${INSTRUMENTS.map((i) => (knob.startsWith(`${i}=`) ? '(own)' : songsCell(knobs[knob][i]))).join(' | ')} |\n`;
      if (setting === 'turn' && what === 'tokens') {
        for (const r of rows.filter((x) => x.method === 'random' && x.scale === 1 && x.setting === 'turn')) {
          s += `| random directions in the ${r.feature} heads | ${INSTRUMENTS.map((i) => (i === r.feature ? '(own)' : songsCell(r.change[i]))).join(' | ')} |\n`;
        }
      }
      s += '\n';
    }
  }
  return s;
}

export function liveMarkdown(rows: readonly LiveRow[], dose: Record<string, DoseResponse>, control: Record<string, ControlEntry>, floor?: LayoutFloor): string {
  const none = rows.find((r) => r.setting === 'none');
  if (!none) return '';
  const n = none.n;
  let s = `\n# Live setting: knobs on music the model plays itself\n\n`;
  s += `${n} text prompts (style, mood and energy words) with their own sampling seeds; the model plays ${KNOB_BARS} bars from silence. \`start\`: the knob is at its value from the first step (\`smitin render --steer\`); \`turn\`: the knob moves from 0 at bar ${TURN_BAR + 1} of the running piece (a live knob). Everything is measured on the last ${MEASURED_BARS} bars against the unsteered twin (same prompt, same seed). Cells: change of frame share / change of present rate (present: in at least a quarter of the frames); the knob's own instrument in brackets; \`!\` marks a cell that misses the goal (crosstalk <= ${GOALS.crosstalk} by more than two paired standard errors, \`?\` a cell over it within two; success >= ${GOALS.success}, share drop >= ${GOALS.shareDrop}, NLL <= ${GOALS.nllRatio}x unsteered, in-key within ${GOALS.inKey}, drums on grid within ${GOALS.grid}, no new silent bar; for removal, \`(k alone)\` counts the items whose new silent bars all fall where the twin played the removed instrument alone, which the knob asked to take out).\n\n`;
  const shares = (p: KnobPresence) => INSTRUMENTS.map((i) => `${i} share ${f(p.shares[i])}, present ${f(p.presents[i])}`).join('; ');
  s += `Unsteered: ${shares(none)}; NLL ${f(none.nll, 3)}, in-key ${f(none.in_key, 3)}, drums on grid ${f(none.drums_on_grid, 3)}.${none.heard ? ` Heard in the rendered stems: ${shares(none.heard)}.` : ''}\n\n`;
  if (floor) {
    const joins = Object.entries(floor.joins).map(([k, c]) => `${k}: ${k.split(' ').pop()} ${sf(c.share)} / ${sf(c.present)}`).join('; ');
    s += `The token layout's own floor for piano and guitar, which share the harmony and melody streams (the composer's music, ${floor.pieces} pieces, ${floor.sections} sections; src/smitin/eval/layout-floor.ts): one joining a section where the other plays alone changes the other's share / present rate by ${joins}; leaving, the same with the sign turned. Their cells on each other are judged against this, not zero.\n\n`;
  }
  const resampled = rows.find((r) => r.setting === 'resampled');
  if (resampled) s += resampledTable(resampled, none);
  const groups = [...new Set(rows.filter((r) => r.setting !== 'none' && r.setting !== 'resampled').map((r) => `${r.method}|${r.scale}|${r.setting}`))];
  for (const g of groups) {
    const [method, scale, setting] = g.split('|');
    const rs = rows.filter((r) => r.method === method && String(r.scale) === scale && r.setting === setting);
    const title = `${method}${Number(scale) !== 1 ? `, every alpha x${scale}` : ''}${method === PRODUCT_METHOD && Number(scale) === 1 ? " (the default: render's and live's steering)" : ''}, ${setting}`;
    s += `## ${title}\n\n` + seRange(rs) + knobTable(rs, none) + '\n' + heardTable(rs) + (rs.some((r) => r.heard) ? '\n' : '');
  }
  if (rows.some((r) => isProductRow(r) && r.change[r.feature]?.flips)) s += songsSection(rows);
  if (Object.keys(dose).length) {
    s += `## Dose-response (the product's default, turn setting)\n\nThe knob's own frame share at each knob position (0: unsteered); Spearman's rho of position against share (goal >= ${GOALS.spearman}).\n\n| instrument | ${dose[Object.keys(dose)[0]].strengths.map((x) => String(x)).join(' | ')} | rho |\n|${Array(dose[Object.keys(dose)[0]].strengths.length + 2).fill('---').join('|')}|\n`;
    for (const [inst, d] of Object.entries(dose)) s += `| ${inst} | ${d.share.map((x) => f(x)).join(' | ')} | ${f(d.spearman_share)}${miss(d.spearman_share < GOALS.spearman)} |\n`;
    s += '\n';
  }
  if (Object.keys(control).length) {
    s += `## The control at equal NLL (turn setting, +1)\n\nLift of the knob's own present rate and NLL, probe directions (the product) against random directions on the same heads with the same weights, sigma and monitor, over alpha. Goal: at the product's NLL, random directions lift no instrument by more than ${GOALS.randomLift}.\n\n| instrument | probe (alpha: lift @ NLL) | random (alpha: lift @ NLL) | random lift at the product's NLL |\n|---|---|---|---|\n`;
    for (const [inst, c] of Object.entries(control)) {
      const pts = (p: ControlEntry['probe']) => p.map((q) => `${q.alpha}: ${sf(q.lift)} @ ${f(q.nll, 3)}`).join('; ');
      s += `| ${inst} | ${pts(c.probe)} | ${pts(c.random)} | ${sf(c.random_lift_at_product_nll)}${miss(c.random_lift_at_product_nll > GOALS.randomLift)} |\n`;
    }
  }
  return s;
}

function heatColour(v: number): string {
  const t = Math.max(-1, Math.min(1, v / 0.6));
  const r = t >= 0 ? 255 : Math.round(255 + 200 * t);
  const b = t <= 0 ? 255 : Math.round(255 - 200 * t);
  const g = Math.round(255 - 200 * Math.abs(t));
  return `rgb(${r},${g},${b})`;
}

const CELL_W = 70;
const CELL_H = 26;

/** One heat-map cell: its colour from the present rate's change, bold when over the crosstalk bound, framed when it is the knob's own. */
function changeRect(x: number, y: number, v: PresenceChange, mine: boolean, what: string): string {
  const bad = !mine && Math.max(Math.abs(v.share), Math.abs(v.present)) > GOALS.crosstalk;
  let s = `<rect x="${x}" y="${y}" width="${CELL_W}" height="${CELL_H}" fill="${heatColour(v.present)}" stroke="${mine ? '#000' : '#fff'}" stroke-width="${mine ? 2 : 1}"><title>${esc(`${what}: share ${sf(v.share)}, present ${sf(v.present)}`)}</title></rect>\n`;
  s += `<text x="${x + CELL_W / 2}" y="${y + CELL_H / 2 + 4}" text-anchor="middle" font-size="11"${bad ? ' font-weight="bold"' : ''}>${sf(v.present)}</text>\n`;
  return s;
}

/** A knob grid's cell at (x, y), or undefined for an empty one. */
type GridCell = (x: number, y: number, setting: string, knob: string, inst: string) => string | undefined;

/**
 * Panels of knobs (rows, instrument and sign) by instruments (columns), one
 * panel per setting, with an optional last row to read them against and a
 * legend: the frame of both heat maps.
 */
function knobPanelsSvg(settings: readonly string[], title: string, cellAt: GridCell, legend: readonly string[], lastRow?: { label: string; cellAt: GridCell }): string {
  const cw = CELL_W;
  const ch = CELL_H;
  const left = 90;
  const top = 70;
  const panelW = left + cw * INSTRUMENTS.length + 30;
  const width = panelW * settings.length + 20;
  const legendH = 16 * legend.length + 22;
  const height = top + ch * (KNOBS.length + (lastRow ? 1.5 : 0)) + legendH;
  const empty = (x: number, y: number) => `<rect x="${x}" y="${y}" width="${cw}" height="${ch}" fill="#f4f4f4" stroke="#fff"/>\n`;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>\n`;
  settings.forEach((setting, si) => {
    const ox = 10 + si * panelW;
    svg += `<text x="${ox + left + (cw * INSTRUMENTS.length) / 2}" y="42" text-anchor="middle" font-weight="bold">${esc(setting)}</text>\n`;
    INSTRUMENTS.forEach((inst, c) => (svg += `<text x="${ox + left + c * cw + cw / 2}" y="${top - 8}" text-anchor="middle">${inst}</text>\n`));
    const row = (label: string, y: number, at: GridCell, knob: string, italic = false) => {
      svg += `<text x="${ox + left - 6}" y="${y + ch / 2 + 4}" text-anchor="end"${italic ? ' font-style="italic"' : ''}>${esc(label)}</text>\n`;
      INSTRUMENTS.forEach((inst, c) => {
        const x = ox + left + c * cw;
        svg += at(x, y, setting, knob, inst) ?? empty(x, y);
      });
    };
    KNOBS.forEach((knob, r) => row(knob, top + r * ch, cellAt, knob));
    if (lastRow) row(lastRow.label, top + (KNOBS.length + 0.5) * ch, lastRow.cellAt, lastRow.label, true);
  });
  legend.forEach((line, i) => (svg += `<text x="${width / 2}" y="${height - legendH + 20 + 16 * i}" text-anchor="middle" font-size="11" fill="#444">${line}</text>\n`));
  return svg + '</svg>\n';
}

/** Heat map per setting: rows are knobs (instrument and sign), columns instruments, colour the change of present rate (frame share in the tooltip). */
export function crosstalkSvg(
  matrix: Record<string, Record<string, Record<string, PresenceChange>>>,
  own: Record<string, Record<string, PresenceChange>>,
  title: string,
  /** Per panel, every instrument's change under another sampling seed and no knob: a last row to read the cells against. */
  yardstick: Record<string, Record<string, PresenceChange>> = {},
): string {
  const settings = Object.keys(matrix);
  const hasYardstick = settings.some((x) => yardstick[x]);
  const cellAt: GridCell = (x, y, setting, knob, inst) => {
    const mine = knob.startsWith(`${inst}=`);
    const v = mine ? own[setting]?.[knob] : matrix[setting]?.[knob]?.[inst];
    return v && changeRect(x, y, v, mine, `${knob} on ${inst}`);
  };
  const again: GridCell = (x, y, setting, _knob, inst) => {
    const v = yardstick[setting]?.[inst];
    return v && changeRect(x, y, v, false, `another sampling seed, no knob, on ${inst}`);
  };
  const legend = [
    ...(hasYardstick ? ['other seed: the same prompts with other sampling seeds and no knob, measured the same way (what a cell shows with no knob at all)'] : []),
    "cell: change of the column instrument's present rate against the unsteered twins (red up, blue down); framed: the knob's own instrument;",
    `bold: misses the crosstalk goal (|change| of share or present rate &gt; ${GOALS.crosstalk}); hover for the change of share (of frames; heard: of half-bar windows)`,
  ];
  return knobPanelsSvg(settings, title, cellAt, legend, hasYardstick ? { label: 'other seed', cellAt: again } : undefined);
}

/** White to purple as the share of songs in which an instrument came or went rises to 0.6. */
function movedColour(v: number): string {
  const t = Math.max(0, Math.min(1, v / 0.6));
  return `rgb(${Math.round(255 - 105 * t)},${Math.round(255 - 200 * t)},${Math.round(255 - 75 * t)})`;
}

/** One cell of songs: coloured by the share of songs where the instrument came or went, the percentages brought in and taken out written in it. */
function songsRect(x: number, y: number, c: PresenceChange, what: string): string | undefined {
  const r = flipRates(c);
  if (!r) return undefined;
  const pct = (v: number) => (Number.isFinite(v) ? String(Math.round(100 * v)) : '-');
  let s = `<rect x="${x}" y="${y}" width="${CELL_W}" height="${CELL_H}" fill="${movedColour(r.moved)}" stroke="#fff"><title>${esc(`${what}: ${songsCell(c)}`)}</title></rect>\n`;
  s += `<text x="${x + CELL_W / 2}" y="${y + CELL_H / 2 + 4}" text-anchor="middle" font-size="11">+${pct(r.into)} -${pct(r.outOf)}</text>\n`;
  return s;
}

/**
 * The product's knobs song by song, per panel (setting, tokens or heard): for
 * every other instrument, the percentage of the songs lacking it that the
 * knob brought it into and of the songs having it that it took it out of.
 */
export function songsSvg(
  matrix: Record<string, Record<string, Record<string, PresenceChange>>>,
  title: string,
  /** Per panel, another sampling seed with no knob: a last row to read the cells against. */
  yardstick: Record<string, Record<string, PresenceChange>> = {},
): string {
  const hasYardstick = Object.keys(matrix).some((x) => yardstick[x]);
  const cellAt: GridCell = (x, y, setting, knob, inst) => {
    if (knob.startsWith(`${inst}=`)) return `<rect x="${x}" y="${y}" width="${CELL_W}" height="${CELL_H}" fill="#ddd" stroke="#fff"/>\n`;
    const v = matrix[setting]?.[knob]?.[inst];
    return v && songsRect(x, y, v, `${knob} on ${inst}`);
  };
  const again: GridCell = (x, y, setting, _knob, inst) => {
    const v = yardstick[setting]?.[inst];
    return v && songsRect(x, y, v, `another sampling seed, no knob, on ${inst}`);
  };
  const legend = [
    ...(hasYardstick ? ['other seed: the same prompts with other sampling seeds and no knob, measured the same way'] : []),
    "cell +a -b: the knob brought the column's instrument into a % of the songs whose unsteered twin lacks it, and took it out of b % of those that have it;",
    "colour: the share of all songs in which it came or went (white 0, purple 0.6 or more); grey: the knob's own instrument",
  ];
  return knobPanelsSvg(Object.keys(matrix), title, cellAt, legend, hasYardstick ? { label: 'other seed', cellAt: again } : undefined);
}

const LINE_COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

interface Series {
  name: string;
  colour: string;
  points: { x: number; y: number; label?: string }[];
  dashed?: boolean;
}

/** One panel of lines with points: the dose-response and the control plots. */
function linePlot(title: string, xName: string, yName: string, series: readonly Series[]): string {
  const W = 560;
  const H = 380;
  const pad = { l: 60, r: 150, t: 40, b: 48 };
  const xs = series.flatMap((s) => s.points.map((p) => p.x)).filter(Number.isFinite);
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter(Number.isFinite);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(0, ...ys), Math.max(0, ...ys)];
  if (!(x1 > x0)) [x0, x1] = [x0 - 1, x1 + 1];
  if (!(y1 > y0)) [y0, y1] = [y0 - 1, y1 + 1];
  const mx = (x1 - x0) * 0.05;
  const my = (y1 - y0) * 0.05;
  [x0, x1, y0, y1] = [x0 - mx, x1 + mx, y0 - my, y1 + my];
  const px = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const py = (y: number) => pad.t + ((y1 - y) / (y1 - y0)) * (H - pad.t - pad.b);
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n<text x="${(W - pad.r + pad.l) / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>\n`;
  s += `<rect x="${pad.l}" y="${pad.t}" width="${W - pad.l - pad.r}" height="${H - pad.t - pad.b}" fill="none" stroke="#999"/>\n`;
  for (let i = 0; i <= 5; i++) {
    const y = y0 + ((y1 - y0) * i) / 5;
    const x = x0 + ((x1 - x0) * i) / 5;
    s += `<line x1="${pad.l}" x2="${W - pad.r}" y1="${py(y)}" y2="${py(y)}" stroke="#eee"/><text x="${pad.l - 6}" y="${py(y) + 4}" text-anchor="end">${y.toFixed(2)}</text>\n`;
    s += `<text x="${px(x)}" y="${H - pad.b + 16}" text-anchor="middle">${x.toFixed(2)}</text>\n`;
  }
  if (y0 < 0 && y1 > 0) s += `<line x1="${pad.l}" x2="${W - pad.r}" y1="${py(0)}" y2="${py(0)}" stroke="#bbb"/>\n`;
  s += `<text x="${pad.l + (W - pad.l - pad.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(xName)}</text>\n<text transform="translate(16 ${pad.t + (H - pad.t - pad.b) / 2}) rotate(-90)" text-anchor="middle">${esc(yName)}</text>\n`;
  series.forEach((ser, i) => {
    const pts = ser.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    s += `<polyline fill="none" stroke="${ser.colour}" stroke-width="2"${ser.dashed ? ' stroke-dasharray="5 4"' : ''} points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>\n`;
    for (const p of pts) {
      s += `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${ser.colour}"><title>${esc(`${ser.name}: ${p.x.toFixed(3)}, ${p.y.toFixed(3)}`)}</title></circle>\n`;
      if (p.label) s += `<text x="${(px(p.x) + 5).toFixed(1)}" y="${(py(p.y) - 5).toFixed(1)}" font-size="9" fill="${ser.colour}">${esc(p.label)}</text>\n`;
    }
    const ly = pad.t + 10 + i * 18;
    s += `<line x1="${W - pad.r + 12}" x2="${W - pad.r + 32}" y1="${ly}" y2="${ly}" stroke="${ser.colour}" stroke-width="2"${ser.dashed ? ' stroke-dasharray="5 4"' : ''}/><text x="${W - pad.r + 36}" y="${ly + 4}">${esc(ser.name)}</text>\n`;
  });
  return s + '</svg>\n';
}

export function doseSvg(dose: Record<string, DoseResponse>, n: number): string {
  const series = Object.entries(dose).map(([inst, d], i) => ({ name: `${inst} (rho ${f(d.spearman_share)})`, colour: LINE_COLOURS[i % LINE_COLOURS.length], points: d.strengths.map((x, j) => ({ x, y: d.share[j] })) }));
  return linePlot(`dose-response: knob position against its instrument (n=${n})`, 'knob position (turned at bar 3)', "the instrument's frame share, last 4 bars", series);
}

export function controlSvg(control: Record<string, ControlEntry>, n: number): string {
  const series: Series[] = [];
  Object.entries(control).forEach(([inst, c], i) => {
    const colour = LINE_COLOURS[i % LINE_COLOURS.length];
    series.push({ name: `${inst} probe`, colour, points: c.probe.map((p) => ({ x: p.nll, y: p.lift, label: String(p.alpha) })) });
    series.push({ name: `${inst} random`, colour, dashed: true, points: c.random.map((p) => ({ x: p.nll, y: p.lift, label: String(p.alpha) })) });
  });
  return linePlot(`success lift against NLL: probe vs random directions (n=${n})`, 'NLL of the measured bars under the unsteered model', "lift of the instrument's present rate", series);
}
