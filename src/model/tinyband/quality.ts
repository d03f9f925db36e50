/**
 * Musical quality of tinyband token sequences, composed or generated, read
 * from the tokens alone (a generated piece has no known key or chords):
 *   - in key: share of bass and melody note-ons inside the best-fitting key;
 *   - on grid: share of drum hits at steps where the prompted style's grooves
 *     and fills ever hit with that voice;
 *   - persistence: an instrument heard in a 4-bar block is heard in most of
 *     that block's bars;
 *   - presence: which instruments are heard at all;
 *   - style: the nearest style centroid of the drum pattern, to tell whether a
 *     text tag changed the style.
 */
import { FRAMES_PER_BAR } from '../../constants.js';
import { decodeBass, decodeDrums, decodeHarmony, decodeMelody, DRUM_VOICES, INSTRUMENTS, soundingInstruments } from './layout.js';
import { STYLES, STYLE_NAMES, type StyleName } from './styles.js';
import { SCALE_STEPS, type Key, type Mode, pitchClass } from './theory.js';

/** Codebook-major tokens of one piece: tokens[k][t]. */
export type PieceTokens = readonly ArrayLike<number>[];

const BLOCK_BARS = 4;

/** The key whose scale holds the most of the piece's pitched note-ons, and that share. */
export function bestKey(tokens: PieceTokens): { key: Key; inKey: number; notes: number } {
  const histogram = new Array(12).fill(0);
  let notes = 0;
  for (let t = 0; t < tokens[0].length; t++) {
    const bass = decodeBass(tokens[1][t]);
    const melody = decodeMelody(tokens[3][t]);
    for (const e of [bass, melody]) {
      if (e.kind === 'note') {
        histogram[pitchClass(e.pitch)]++;
        notes++;
      }
    }
  }
  let best: { key: Key; inKey: number; notes: number } = { key: { tonic: 0, mode: 'major' }, inKey: notes === 0 ? NaN : 0, notes };
  for (const mode of ['major', 'minor'] as Mode[]) {
    for (let tonic = 0; tonic < 12; tonic++) {
      const hits = SCALE_STEPS[mode].reduce((a, s) => a + histogram[(tonic + s) % 12], 0);
      if (notes > 0 && hits / notes > best.inKey) best = { key: { tonic, mode }, inKey: hits / notes, notes };
    }
  }
  return best;
}

/** Per voice, the 16th steps where a style's grooves or fill ever hit (crashes open sections on step 0). */
export function styleGrid(style: StyleName): Map<string, Set<number>> {
  const grid = new Map<string, Set<number>>(DRUM_VOICES.map((v) => [v, new Set<number>()]));
  const s = STYLES[style];
  for (const pattern of [...s.grooves, s.fill]) {
    for (const [voice, line] of Object.entries(pattern)) {
      for (let i = 0; i < line.length; i++) if (line[i] === 'x') grid.get(voice)!.add(i);
    }
  }
  grid.get('crash')!.add(0);
  return grid;
}

export function drumsOnGrid(tokens: PieceTokens, style: StyleName): { onGrid: number; hits: number } {
  const grid = styleGrid(style);
  let hits = 0;
  let on = 0;
  for (let t = 0; t < tokens[0].length; t++) {
    for (const voice of decodeDrums(tokens[0][t])) {
      hits++;
      if (grid.get(voice)!.has(t % FRAMES_PER_BAR)) on++;
    }
  }
  return { onGrid: hits === 0 ? NaN : on / hits, hits };
}

/** Bars (per instrument) in which the instrument is heard at all. */
export function barsHeard(tokens: PieceTokens): boolean[][] {
  const sounding = soundingInstruments(tokens);
  const bars = Math.floor(tokens[0].length / FRAMES_PER_BAR);
  return sounding.map((row) =>
    Array.from({ length: bars }, (_, b) => row.subarray(b * FRAMES_PER_BAR, (b + 1) * FRAMES_PER_BAR).some((x) => x === 1)),
  );
}

/** Mean over (4-bar block, instrument heard in it) of the share of the block's bars it is heard in. */
export function persistence(tokens: PieceTokens): number {
  const heard = barsHeard(tokens);
  let sum = 0;
  let n = 0;
  for (const bars of heard) {
    for (let b = 0; b + BLOCK_BARS <= bars.length; b += BLOCK_BARS) {
      const inBlock = bars.slice(b, b + BLOCK_BARS).filter(Boolean).length;
      if (inBlock === 0) continue;
      sum += inBlock / BLOCK_BARS;
      n++;
    }
  }
  return n === 0 ? NaN : sum / n;
}

/** Drum fingerprint: for each voice and 16th step, hits per bar; the style classifier's feature. */
export function drumFeatures(tokens: PieceTokens): Float64Array {
  const f = new Float64Array(DRUM_VOICES.length * FRAMES_PER_BAR);
  const bars = Math.max(1, tokens[0].length / FRAMES_PER_BAR);
  for (let t = 0; t < tokens[0].length; t++) {
    const hits = decodeDrums(tokens[0][t]);
    DRUM_VOICES.forEach((v, i) => {
      if (hits.has(v)) f[i * FRAMES_PER_BAR + (t % FRAMES_PER_BAR)] += 1 / bars;
    });
  }
  return f;
}

export class StyleClassifier {
  private constructor(private readonly centroids: Map<StyleName, Float64Array>) {}

  /** Centroids of the drum fingerprints of reference pieces (bars without drums are left out). */
  static fit(pieces: { tokens: PieceTokens; style: StyleName }[]): StyleClassifier {
    const sums = new Map<StyleName, { f: Float64Array; n: number }>();
    for (const p of pieces) {
      if (!hasDrums(p.tokens)) continue;
      const f = drumFeatures(onlyDrumBars(p.tokens));
      const s = sums.get(p.style) ?? { f: new Float64Array(f.length), n: 0 };
      f.forEach((x, i) => (s.f[i] += x));
      s.n++;
      sums.set(p.style, s);
    }
    return new StyleClassifier(new Map([...sums].map(([k, s]) => [k, s.f.map((x) => x / s.n)])));
  }

  /** The nearest style, or null for a piece without drums. */
  predict(tokens: PieceTokens): StyleName | null {
    if (!hasDrums(tokens)) return null;
    const f = drumFeatures(onlyDrumBars(tokens));
    let best: StyleName | null = null;
    let bestD = Infinity;
    for (const [style, c] of this.centroids) {
      let d = 0;
      for (let i = 0; i < f.length; i++) d += (f[i] - c[i]) ** 2;
      if (d < bestD) [best, bestD] = [style, d];
    }
    return best;
  }
}

function hasDrums(tokens: PieceTokens): boolean {
  for (let t = 0; t < tokens[0].length; t++) if (tokens[0][t] !== 0 && decodeDrums(tokens[0][t]).size > 0) return true;
  return false;
}

/** The drum row restricted to bars with drum hits, so a drumless intro does not dilute the fingerprint. */
function onlyDrumBars(tokens: PieceTokens): PieceTokens {
  const kept: number[] = [];
  for (let b = 0; b * FRAMES_PER_BAR < tokens[0].length; b++) {
    const bar = Array.from({ length: FRAMES_PER_BAR }, (_, i) => tokens[0][b * FRAMES_PER_BAR + i] ?? 0);
    if (bar.some((x) => decodeDrums(x).size > 0)) kept.push(...bar);
  }
  return [kept];
}

export interface QualityReport {
  pieces: number;
  /** Share of bass + melody note-ons in each piece's best-fitting key, pooled. */
  inKey: number;
  /** Share of drum hits on the prompted style's grid (pieces with a known style). */
  drumsOnGrid: number;
  persistence: number;
  /** Share of pieces in which each instrument is heard. */
  presence: Record<string, number>;
  /** Share of bars in which each instrument is heard. */
  barShare: Record<string, number>;
  /** Share of pieces with drums whose drum pattern is nearest to the prompted style's. */
  styleMatch: number;
  /** Strikes per piece by harmony instrument, to see both piano and guitar used. */
  harmonyStrikes: Record<string, number>;
}

export function qualityReport(
  pieces: { tokens: PieceTokens; style?: StyleName }[],
  classifier?: StyleClassifier,
): QualityReport {
  let inKeyNotes = 0;
  let notes = 0;
  let gridHits = 0;
  let hits = 0;
  let persist = 0;
  let persistN = 0;
  let styleOk = 0;
  let styleN = 0;
  const presence = Object.fromEntries(INSTRUMENTS.map((i) => [i, 0]));
  const barShare = Object.fromEntries(INSTRUMENTS.map((i) => [i, 0]));
  const strikes: Record<string, number> = { piano: 0, guitar: 0 };
  for (const p of pieces) {
    const k = bestKey(p.tokens);
    inKeyNotes += k.notes * (Number.isNaN(k.inKey) ? 0 : k.inKey);
    notes += k.notes;
    if (p.style) {
      const g = drumsOnGrid(p.tokens, p.style);
      gridHits += g.hits * (Number.isNaN(g.onGrid) ? 0 : g.onGrid);
      hits += g.hits;
      const predicted = classifier?.predict(p.tokens);
      if (predicted) {
        styleN++;
        if (predicted === p.style) styleOk++;
      }
    }
    const ps = persistence(p.tokens);
    if (!Number.isNaN(ps)) {
      persist += ps;
      persistN++;
    }
    barsHeard(p.tokens).forEach((bars, i) => {
      if (bars.some(Boolean)) presence[INSTRUMENTS[i]] += 1 / pieces.length;
      barShare[INSTRUMENTS[i]] += bars.filter(Boolean).length / bars.length / pieces.length;
    });
    for (let t = 0; t < p.tokens[2].length; t++) {
      const e = decodeHarmony(p.tokens[2][t]);
      if (e.kind === 'strike') strikes[e.instrument] += 1 / pieces.length;
    }
  }
  return {
    pieces: pieces.length,
    inKey: notes ? inKeyNotes / notes : NaN,
    drumsOnGrid: hits ? gridHits / hits : NaN,
    persistence: persistN ? persist / persistN : NaN,
    presence,
    barShare,
    styleMatch: styleN ? styleOk / styleN : NaN,
    harmonyStrikes: strikes,
  };
}

export function isKnownStyle(name: string | undefined): name is StyleName {
  return name !== undefined && (STYLE_NAMES as readonly string[]).includes(name);
}
