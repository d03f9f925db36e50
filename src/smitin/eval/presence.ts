/**
 * What a listener hears of each instrument, and how a knob changed it: the
 * instrument's frame share and whether it is "present" (in at least a
 * quarter of the frames: the success test), per item, compared with the
 * unsteered twin of the same item. Crosstalk is that change for the
 * instruments a knob does not name; the goal bounds every cell, so nothing
 * here averages over instruments.
 */
import { FRAMES_PER_BAR } from '../../constants.js';
import { INSTRUMENTS, soundingInstruments } from '../../model/tinyband/layout.js';
import { INSTRUMENT_SUCCESS_SHARE } from '../tinyband-features.js';

export type InstrumentValues = Record<string, number>;

export interface PresenceChange {
  /** Mean change of the instrument's frame share. */
  share: number;
  /** Change of the share of items in which it is present. */
  present: number;
  /**
   * Standard errors of the two, paired over items (the steered item against
   * its own twin): any changed sampling path changes which instruments
   * play, so a cell of 100 items moves by about this much with no knob at all.
   */
  se?: { share: number; present: number };
  /** Items by the twin's presence, and how many of them the change flipped: gained of those lacking it, lost of those having it. */
  flips?: { gained: number; lacking: number; lost: number; having: number };
}

/** Per instrument: its frame share in the tokens. */
export function instrumentShares(tokens: readonly ArrayLike<number>[]): number[] {
  return soundingInstruments(tokens).map((r) => r.reduce((a, b) => a + b, 0) / Math.max(1, r.length));
}

/** The mean of the finite values (NaN when there are none): every eval average skips items a metric does not apply to. */
export function finiteMean(xs: readonly number[]): number {
  const ok = xs.filter(Number.isFinite);
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
}

/** Per instrument: mean share and present rate over items. */
export function presence(items: readonly (readonly ArrayLike<number>[])[]): { share: InstrumentValues; present: InstrumentValues } {
  return presenceOfShares(items.map(instrumentShares));
}

/** As presence, from each item's instrument shares. */
export function presenceOfShares(shares: readonly number[][]): { share: InstrumentValues; present: InstrumentValues } {
  const share: InstrumentValues = {};
  const present: InstrumentValues = {};
  INSTRUMENTS.forEach((inst, i) => {
    share[inst] = finiteMean(shares.map((s) => s[i]));
    present[inst] = finiteMean(shares.map((s) => (s[i] >= INSTRUMENT_SUCCESS_SHARE ? 1 : 0)));
  });
  return { share, present };
}

/** Per instrument: the change from `none` to `steered` (the same items in the same order). */
export function presenceChange(steered: readonly (readonly ArrayLike<number>[])[], none: readonly (readonly ArrayLike<number>[])[]): Record<string, PresenceChange> {
  return changeOfShares(steered.map(instrumentShares), none.map(instrumentShares));
}

/**
 * As presenceChange, from each item's per-instrument shares (INSTRUMENTS
 * order): of frames in the tokens, or of windows heard in the rendered audio.
 */
export function changeOfShares(sa: readonly number[][], sb: readonly number[][]): Record<string, PresenceChange> {
  const a = presenceOfShares(sa);
  const b = presenceOfShares(sb);
  const on = (x: number): number => (x >= INSTRUMENT_SUCCESS_SHARE ? 1 : 0);
  return Object.fromEntries(
    INSTRUMENTS.map((inst, i) => {
      const se = {
        share: pairedSe(sa.map((s, j) => s[i] - sb[j][i])),
        present: pairedSe(sa.map((s, j) => on(s[i]) - on(sb[j][i]))),
      };
      const flips = { gained: 0, lacking: 0, lost: 0, having: 0 };
      sa.forEach((s, j) => {
        if (on(sb[j][i])) {
          flips.having++;
          flips.lost += 1 - on(s[i]);
        } else {
          flips.lacking++;
          flips.gained += on(s[i]);
        }
      });
      return [inst, { share: a.share[inst] - b.share[inst], present: a.present[inst] - b.present[inst], se, flips }];
    }),
  );
}

/**
 * Song by song, what a cell's mean hides: of the items whose twin lacks the
 * instrument, the share the change brought it into; of those whose twin has
 * it, the share it took it out of; and of all items, the share where it
 * came or went. A knob that brings an instrument into some songs and takes
 * it out of others leaves the mean where it was, and a listener hears both.
 */
export function flipRates(c: PresenceChange): { into: number; outOf: number; moved: number } | undefined {
  const fl = c.flips;
  if (!fl) return undefined;
  const n = fl.lacking + fl.having;
  return { into: fl.lacking ? fl.gained / fl.lacking : NaN, outOf: fl.having ? fl.lost / fl.having : NaN, moved: n ? (fl.gained + fl.lost) / n : NaN };
}

/** Standard error of the mean of per-item differences (NaN under two items). */
export function pairedSe(diffs: readonly number[]): number {
  const d = diffs.filter(Number.isFinite);
  if (d.length < 2) return NaN;
  const m = d.reduce((x, y) => x + y, 0) / d.length;
  return Math.sqrt(d.reduce((x, y) => x + (y - m) ** 2, 0) / (d.length - 1) / d.length);
}

/**
 * A cell's verdict against a bound: `over` when its change exceeds the
 * bound by more than two standard errors, `within` when it stays under it,
 * `noise` when it is over but within two standard errors (a re-run with
 * other seeds may land either side).
 */
export function cellVerdict(c: PresenceChange, bound: number): 'within' | 'noise' | 'over' {
  const worst = (x: number, se: number | undefined): 'within' | 'noise' | 'over' => (Math.abs(x) <= bound ? 'within' : Math.abs(x) - 2 * (se ?? 0) > bound ? 'over' : 'noise');
  const v = [worst(c.share, c.se?.share), worst(c.present, c.se?.present)];
  return v.includes('over') ? 'over' : v.includes('noise') ? 'noise' : 'within';
}

/** The changes of every instrument but `knob` (a knob's crosstalk). */
export function crosstalkOf(change: Record<string, PresenceChange>, knob: string): Record<string, PresenceChange> {
  return Object.fromEntries(Object.entries(change).filter(([inst]) => inst !== knob));
}

/** The largest absolute change among the cells (share or present). */
export function worstCell(cells: Record<string, PresenceChange>): number {
  return Math.max(0, ...Object.values(cells).flatMap((c) => [Math.abs(c.share), Math.abs(c.present)]).filter(Number.isFinite));
}

/** Whether some bar of the tokens is wholly silent (no instrument sounds in it). */
function silentBars(tokens: readonly ArrayLike<number>[]): boolean[] {
  const sounding = soundingInstruments(tokens);
  const bars = Math.floor(tokens[0].length / FRAMES_PER_BAR);
  return Array.from({ length: bars }, (_, b) => {
    for (let t = b * FRAMES_PER_BAR; t < (b + 1) * FRAMES_PER_BAR; t++) if (sounding.some((r) => r[t] === 1)) return false;
    return true;
  });
}

/**
 * How many steered items hold a silent bar that their unsteered twin does
 * not have at the same place; `onlyRemoved`: how many of those hold such
 * bars only where the twin played the removed instrument `removed` alone
 * (a knob that takes out the only instrument playing leaves what it asked
 * for: nothing, unless another instrument is made to join).
 */
export function newSilences(steered: readonly (readonly ArrayLike<number>[])[], none: readonly (readonly ArrayLike<number>[])[], removed?: string): { items: number; onlyRemoved: number } {
  const col = removed === undefined ? -1 : INSTRUMENTS.indexOf(removed as (typeof INSTRUMENTS)[number]);
  let items = 0;
  let onlyRemoved = 0;
  steered.forEach((t, i) => {
    const own = silentBars(t);
    const twin = silentBars(none[i]);
    const fresh = own.map((s, b) => s && !twin[b]);
    if (!fresh.some(Boolean)) return;
    items++;
    if (col < 0) return;
    const alone = barsPlayedAlone(none[i], col);
    if (fresh.every((f, b) => !f || alone[b])) onlyRemoved++;
  });
  return { items, onlyRemoved };
}

/** Per bar: whether instrument `col` is the only one that sounds in it. */
function barsPlayedAlone(tokens: readonly ArrayLike<number>[], col: number): boolean[] {
  const sounding = soundingInstruments(tokens);
  const bars = Math.floor(tokens[0].length / FRAMES_PER_BAR);
  return Array.from({ length: bars }, (_, b) => {
    const range = (r: Uint8Array) => r.subarray(b * FRAMES_PER_BAR, (b + 1) * FRAMES_PER_BAR).some((x) => x === 1);
    return sounding.every((r, k) => (k === col ? range(r) : !range(r)));
  });
}

/** Spearman's rank correlation of two equally long lists (ties get their mean rank). */
export function spearman(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length || x.length < 2) throw new RangeError(`spearman needs two lists of equal length >= 2, got: ${x.length} and ${y.length}`);
  const rank = (v: readonly number[]): number[] => {
    const order = v.map((value, i) => ({ value, i })).sort((a, b) => a.value - b.value);
    const r = new Array<number>(v.length);
    for (let i = 0; i < order.length; ) {
      let j = i;
      while (j + 1 < order.length && order[j + 1].value === order[i].value) j++;
      for (let k = i; k <= j; k++) r[order[k].i] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return r;
  };
  const rx = rank(x);
  const ry = rank(y);
  const mx = finiteMean(rx);
  const my = finiteMean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxx && syy ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/**
 * y at x on the polyline through the points (sorted by x), clamped to the
 * ends: a control's lift at the NLL another method spent.
 */
export function interpolateAt(points: readonly { x: number; y: number }[], x: number): number {
  const p = points.filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y)).sort((a, b) => a.x - b.x);
  if (p.length === 0 || !Number.isFinite(x)) return NaN;
  if (x <= p[0].x) return p[0].y;
  for (let i = 1; i < p.length; i++) {
    if (x <= p[i].x) {
      const t = (x - p[i - 1].x) / (p[i].x - p[i - 1].x || 1);
      return p[i - 1].y + t * (p[i].y - p[i - 1].y);
    }
  }
  return p[p.length - 1].y;
}
