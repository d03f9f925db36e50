/** smitin eval's outputs: the best-alpha selection, the text and markdown tables, and the trade-off plot (hand-written SVG). */
import type { EvalRow } from './runner.js';

/** How far below `none`'s in-key ratio a row may fall and still count as keeping the music coherent. */
export const IN_KEY_TOLERANCE = 0.02;

export const isRemoval = (r: EvalRow): boolean => r.strength < 0 || r.method.endsWith('-remove');

export interface BestRow extends EvalRow {
  /** False when no alpha kept in_key within the tolerance (the row is then the highest success regardless). */
  within_tolerance: boolean;
}

/** Per feature and method (additions): the alpha with the highest success among those whose in_key is within IN_KEY_TOLERANCE of none's. */
export function bestRows(rows: readonly EvalRow[]): BestRow[] {
  const out: BestRow[] = [];
  const features = [...new Set(rows.map((r) => r.feature))];
  for (const feature of features) {
    const fr = rows.filter((r) => r.feature === feature && !isRemoval(r));
    const none = fr.find((r) => r.method === 'none');
    const methods = [...new Set(fr.map((r) => r.method))];
    for (const method of methods) {
      const mr = fr.filter((r) => r.method === method);
      const ok = (r: EvalRow) => !none || !Number.isFinite(none.in_key) || r.in_key >= none.in_key - IN_KEY_TOLERANCE;
      const pool = mr.filter(ok);
      const from = pool.length ? pool : mr;
      const best = from.reduce((a, b) => (b.success > a.success || (b.success === a.success && b.alpha < a.alpha) ? b : a));
      out.push({ ...best, within_tolerance: pool.length > 0 });
    }
  }
  return out;
}

const f = (x: number | null | undefined, d = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));

const COLUMNS: [string, (r: EvalRow) => string][] = [
  ['feature', (r) => r.feature],
  ['method', (r) => r.method],
  ['alpha', (r) => (r.alpha ? String(r.alpha) : '-')],
  ['success', (r) => f(r.success, 2)],
  ['lift', (r) => f(r.lift, 2)],
  ['in_key', (r) => f(r.in_key)],
  ['bass_chord', (r) => f(r.bass_on_chords)],
  ['drum_grid', (r) => f(r.drums_on_grid)],
  ['nll', (r) => f(r.nll)],
  ['frechet', (r) => f(r.frechet, 4)],
  ['collateral', (r) => f(r.collateral)],
  ['crosstalk', (r) => f(r.crosstalk_max, 2)],
  ['applied', (r) => f(r.applied, 2)],
  ['ms/step', (r) => f(r.ms_per_step, 2)],
];

const REMOVAL_COLUMNS: [string, (r: EvalRow) => string][] = [
  ['feature', (r) => r.feature],
  ['method', (r) => r.method],
  ['alpha', (r) => (r.alpha ? String(r.alpha) : '-')],
  ['share', (r) => f(r.share)],
  ['share_drop', (r) => f(r.share_drop, 2)],
  ['success', (r) => f(r.success, 2)],
  ['in_key', (r) => f(r.in_key)],
  ['nll', (r) => f(r.nll)],
  ['collateral', (r) => f(r.collateral)],
  ['crosstalk', (r) => f(r.crosstalk_max, 2)],
  ['applied', (r) => f(r.applied, 2)],
  ['ms/step', (r) => f(r.ms_per_step, 2)],
];

function markdown(cols: [string, (r: EvalRow) => string][], rows: readonly EvalRow[], mark?: (r: EvalRow) => string): string {
  const head = `| ${cols.map((c) => c[0]).join(' | ')} |\n|${cols.map(() => '---').join('|')}|\n`;
  return head + rows.map((r) => `| ${cols.map((c, i) => c[1](r) + (i === 1 && mark ? mark(r) : '')).join(' | ')} |`).join('\n') + '\n';
}

function plain(cols: [string, (r: EvalRow) => string][], rows: readonly EvalRow[], mark?: (r: EvalRow) => string): string {
  const cells = [cols.map((c) => c[0]), ...rows.map((r) => cols.map((c, i) => c[1](r) + (i === 1 && mark ? mark(r) : '')))];
  const widths = cols.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n') + '\n';
}

/** Per method, the mean over the evaluated instruments of the best rows (the paper's table averages over instruments). */
export function instrumentMeans(best: readonly BestRow[]): EvalRow[] {
  const inst = best.filter((r) => ['drums', 'bass', 'piano', 'guitar'].includes(r.feature));
  const methods = [...new Set(inst.map((r) => r.method))];
  const avg = (rs: BestRow[], k: keyof EvalRow): number => {
    const xs = rs.map((r) => r[k] as number).filter((x) => typeof x === 'number' && Number.isFinite(x));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
  };
  return methods.map((method) => {
    const rs = inst.filter((r) => r.method === method);
    return {
      feature: `mean of ${new Set(rs.map((r) => r.feature)).size} instruments`,
      method,
      alpha: 0,
      strength: 1,
      n: rs.reduce((a, r) => a + r.n, 0),
      success: avg(rs, 'success'),
      lift: avg(rs, 'lift'),
      amount: avg(rs, 'amount'),
      in_key: avg(rs, 'in_key'),
      bass_on_chords: avg(rs, 'bass_on_chords'),
      drums_on_grid: avg(rs, 'drums_on_grid'),
      nll: avg(rs, 'nll'),
      frechet: avg(rs, 'frechet'),
      collateral: avg(rs, 'collateral'),
      applied: avg(rs, 'applied'),
      ms_per_step: avg(rs, 'ms_per_step'),
    };
  });
}

export interface ProbeStats {
  best_acc: number;
  best_acc_after_first_layer: number;
  mean_acc: number;
}

const flag = (r: EvalRow): string => ('within_tolerance' in r && !(r as BestRow).within_tolerance ? ' *' : '');

export function markdownReport(rows: readonly EvalRow[], probes: Record<string, ProbeStats>, command: string): string {
  const best = bestRows(rows);
  const means = instrumentMeans(best);
  let s = `# smitin eval\n\nMade by \`${command}\`. Metric definitions: docs/eval.md.\n\n`;
  s += `Methods: \`topk8\` / \`topk16\` are ITI's top-K; the paper's K = 16 and 48 (of MusicGen-large's 48 x 32 heads) map to K = 8 and 16 of tinyband's 32 heads (4 layers x 8). \`smitin\` is SMITIN as the paper has it: soft weighting with self-monitoring (same-pass monitor), the shift on the conditional CFG half, layer 0 left out. \`product\` is what render and live play: that, plus the model's steering.json (per-feature layers and alphas, the hold monitor). \`random\`: random unit directions on the same heads with the same sigma and weights as \`smitin\`, monitor off (the control); \`random-topk16\`: the same on ITI's top-16 heads; \`random-monitor\`: everything as \`smitin\`, monitor included, but the directions. \`reference\`: the composer's own bars 3-6 after the prompt.\n\n`;
  s += `## Probes\n\n| feature | best acc | best acc after layer 0 | mean acc |\n|---|---|---|---|\n`;
  for (const [name, p] of Object.entries(probes)) s += `| ${name} | ${f(p.best_acc)} | ${f(p.best_acc_after_first_layer)} | ${f(p.mean_acc)} |\n`;
  if (means.length) s += `\n## Mean over instruments (best alpha per instrument: highest success with in_key within ${IN_KEY_TOLERANCE} of none)\n\n` + markdown(COLUMNS, means);
  s += `\n## Best alpha per feature and method\n\nThe alpha with the highest success whose in_key stays within ${IN_KEY_TOLERANCE} of \`none\`; \`*\`: no alpha did, the highest success is shown.\n\n` + markdown(COLUMNS, best, flag);
  s += `\n## Full sweep\n\n` + markdown(COLUMNS, rows.filter((r) => !isRemoval(r)));
  const removal = rows.filter(isRemoval);
  if (removal.length) s += `\n## Removal (strength -1 on prompts with the instrument throughout)\n\nshare: the instrument's frame share in the continuation; share_drop: 1 - share / share of \`none-remove\` (goal >= 0.5 with in_key within ${IN_KEY_TOLERANCE}).\n\n` + markdown(REMOVAL_COLUMNS, removal);
  return s;
}

export function textReport(rows: readonly EvalRow[], probes: Record<string, ProbeStats>): string {
  const best = bestRows(rows);
  let s = 'probes: ' + Object.entries(probes).map(([n, p]) => `${n} best ${f(p.best_acc)} / after layer 0 ${f(p.best_acc_after_first_layer)} / mean ${f(p.mean_acc)}`).join('; ') + '\n\n';
  const means = instrumentMeans(best);
  if (means.length) s += `mean over instruments, best alpha each (in_key within ${IN_KEY_TOLERANCE} of none):\n` + plain(COLUMNS, means) + '\n';
  s += `best alpha per feature and method (* = no alpha kept in_key within ${IN_KEY_TOLERANCE}):\n` + plain(COLUMNS, best, flag) + '\n';
  s += 'full sweep:\n' + plain(COLUMNS, rows.filter((r) => !isRemoval(r)));
  const removal = rows.filter(isRemoval);
  if (removal.length) s += '\nremoval (strength -1):\n' + plain(REMOVAL_COLUMNS, removal);
  return s;
}

const PALETTE: Record<string, string> = {
  none: '#000000',
  text: '#8c564b',
  reference: '#7f7f7f',
  // the controls in olive shades, apart from the methods they control
  random: '#bcbd22',
  'random-topk16': '#7f7f00',
  'random-monitor': '#dbdb8d',
  topk8: '#1f77b4',
  topk16: '#17becf',
  smitin: '#d62728',
  product: '#2ca02c',
};
const EXTRA = ['#9467bd', '#e377c2', '#2ca02c', '#ff7f0e', '#aec7e8', '#98df8a', '#c5b0d5'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Success against in-key ratio (left) and against NLL (right), each point
 * a (method, alpha) averaged over the evaluated features, the points of a
 * method's alpha sweep joined in alpha order.
 */
export function tradeoffSvg(rows: readonly EvalRow[], title: string): string {
  const add = rows.filter((r) => !isRemoval(r));
  const features = new Set(add.map((r) => r.feature)).size;
  const keys = [...new Set(add.map((r) => `${r.method}@${r.alpha}`))];
  const pts = keys.map((key) => {
    const rs = add.filter((r) => `${r.method}@${r.alpha}` === key);
    const m = (g: (r: EvalRow) => number) => {
      const xs = rs.map(g).filter(Number.isFinite);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
    };
    return { method: rs[0].method, alpha: rs[0].alpha, success: m((r) => r.success), inKey: m((r) => r.in_key), nll: m((r) => r.nll) };
  });
  const methods = [...new Set(pts.map((p) => p.method))];
  let extra = 0;
  const colour = new Map(methods.map((m) => [m, PALETTE[m] ?? EXTRA[extra++ % EXTRA.length]]));
  const W = 460;
  const H = 360;
  const pad = { l: 56, r: 16, t: 40, b: 48 };
  const legendH = 18 * Math.ceil(methods.length / 4) + 10;
  const width = 2 * W;
  const height = H + legendH + 30;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n`;
  svg += `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)} (mean over ${features} feature${features === 1 ? '' : 's'})</text>\n`;
  const panel = (ox: number, xName: string, get: (p: (typeof pts)[number]) => number) => {
    const xs = pts.map(get).filter(Number.isFinite);
    let x0 = Math.min(...xs);
    let x1 = Math.max(...xs);
    if (!(x1 > x0)) {
      x0 -= 0.01;
      x1 += 0.01;
    }
    const margin = (x1 - x0) * 0.05;
    x0 -= margin;
    x1 += margin;
    const px = (x: number) => ox + pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
    const py = (y: number) => pad.t + (1 - y) * (H - pad.t - pad.b);
    let s = `<rect x="${ox + pad.l}" y="${pad.t}" width="${W - pad.l - pad.r}" height="${H - pad.t - pad.b}" fill="none" stroke="#999"/>\n`;
    for (let i = 0; i <= 5; i++) {
      const y = i / 5;
      s += `<line x1="${ox + pad.l - 4}" x2="${ox + W - pad.r}" y1="${py(y)}" y2="${py(y)}" stroke="#eee"/><text x="${ox + pad.l - 6}" y="${py(y) + 4}" text-anchor="end">${y.toFixed(1)}</text>\n`;
      const x = x0 + ((x1 - x0) * i) / 5;
      s += `<text x="${px(x)}" y="${H - pad.b + 16}" text-anchor="middle">${x.toFixed(3)}</text>\n`;
    }
    s += `<text x="${ox + pad.l + (W - pad.l - pad.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(xName)}</text>\n`;
    s += `<text transform="translate(${ox + 16} ${pad.t + (H - pad.t - pad.b) / 2}) rotate(-90)" text-anchor="middle">success</text>\n`;
    for (const m of methods) {
      const mp = pts.filter((p) => p.method === m && Number.isFinite(get(p)) && Number.isFinite(p.success)).sort((a, b) => a.alpha - b.alpha);
      const c = colour.get(m)!;
      if (mp.length > 1) s += `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${mp.map((p) => `${px(get(p)).toFixed(1)},${py(p.success).toFixed(1)}`).join(' ')}"/>\n`;
      for (const p of mp) {
        s += `<circle cx="${px(get(p)).toFixed(1)}" cy="${py(p.success).toFixed(1)}" r="4" fill="${c}"><title>${esc(`${m} alpha ${p.alpha}: success ${p.success.toFixed(2)}, in_key ${p.inKey.toFixed(3)}, nll ${p.nll.toFixed(3)}`)}</title></circle>\n`;
        if (p.alpha) s += `<text x="${(px(get(p)) + 6).toFixed(1)}" y="${(py(p.success) - 5).toFixed(1)}" font-size="9" fill="${c}">${p.alpha}</text>\n`;
      }
    }
    return s;
  };
  svg += panel(0, 'in-key ratio (higher is better)', (p) => p.inKey);
  svg += panel(W, 'NLL under the unsteered model, nats/token (lower is better)', (p) => p.nll);
  methods.forEach((m, i) => {
    const x = 20 + (i % 4) * (width / 4);
    const y = H + 14 + 18 * Math.floor(i / 4);
    svg += `<circle cx="${x}" cy="${y - 4}" r="5" fill="${colour.get(m)}"/><text x="${x + 10}" y="${y}">${esc(m)}</text>\n`;
  });
  svg += `<text x="${width / 2}" y="${height - 6}" text-anchor="middle" font-size="10" fill="#555">points: one per method and alpha (labelled), joined in alpha order</text>\n`;
  return svg + '</svg>\n';
}
