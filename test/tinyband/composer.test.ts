import { describe, expect, it } from 'vitest';
import { FRAMES_PER_BAR } from '../../src/constants.js';
import {
  addRatio,
  arrangementChanges,
  bassOnChordTones,
  compose,
  DEFAULT_ARRANGEMENT,
  entryBaseline,
  melodyInKey,
  ratio,
  withoutInstrument,
  type Piece,
} from '../../src/model/tinyband/composer/index.js';
import { decodeDrums, INSTRUMENTS, soundingInstruments } from '../../src/model/tinyband/layout.js';
import { STYLES, STYLE_NAMES } from '../../src/model/tinyband/styles.js';

const pieces: Piece[] = Array.from({ length: 200 }, (_, seed) => compose({ seed }));

describe('composer', () => {
  it('is deterministic: the same seed gives the same piece', () => {
    const a = compose({ seed: 1234, style: 'funk' });
    const b = compose({ seed: 1234, style: 'funk' });
    expect(b).toEqual(a);
    expect(compose({ seed: 1235, style: 'funk' }).tokens).not.toEqual(a.tokens);
  });

  it('puts >= 90 % of bass notes on chord tones', () => {
    const r = pieces.reduce((acc, p) => addRatio(acc, bassOnChordTones(p.tokens[1], p.chords)), { hits: 0, total: 0 });
    expect(r.total).toBeGreaterThan(10_000);
    expect(ratio(r)).toBeGreaterThanOrEqual(0.9);
  });

  it('keeps >= 95 % of melody notes in key', () => {
    const r = pieces.reduce((acc, p) => addRatio(acc, melodyInKey(p.tokens[3], p.key)), { hits: 0, total: 0 });
    expect(r.total).toBeGreaterThan(5_000);
    expect(ratio(r)).toBeGreaterThanOrEqual(0.95);
  });

  it('has an instrument entering or leaving in every piece, also the shortest', () => {
    for (const p of pieces) expect(arrangementChanges(p.sections)).toBeGreaterThan(0);
    for (let seed = 0; seed < 100; seed++) expect(arrangementChanges(compose({ seed, bars: 1 }).sections)).toBeGreaterThan(0);
  });

  it('keeps the unsteered entry baseline moderate (10-30 % within 4 bars)', () => {
    const b = ratio(entryBaseline(pieces));
    expect(b).toBeGreaterThan(0.1);
    expect(b).toBeLessThan(0.3);
  });

  it('writes in every style, every key, both modes, with 1 and 2 chords per bar', () => {
    expect(new Set(pieces.map((p) => p.style))).toEqual(new Set(STYLE_NAMES));
    expect(new Set(pieces.map((p) => p.key.tonic)).size).toBe(12);
    expect(new Set(pieces.map((p) => p.key.mode))).toEqual(new Set(['major', 'minor']));
    const changesPerBar = new Set<number>();
    for (const p of pieces.slice(0, 50))
      for (let bar = 0; bar < p.bars; bar++) {
        const t = bar * FRAMES_PER_BAR;
        changesPerBar.add(p.chords[t + 8] === p.chords[t] || sameChord(p, t, t + 8) ? 1 : 2);
      }
    expect(changesPerBar).toEqual(new Set([1, 2]));
  });

  it('gives styles distinct drum patterns and densities', () => {
    const hitsPerBar = new Map<string, number[]>();
    for (const p of pieces) {
      let hits = 0;
      let bars = 0;
      for (let t = 0; t < p.frames; t++) {
        if (!p.labels[0][t]) continue;
        hits += decodeDrums(p.tokens[0][t]).size;
        if (t % FRAMES_PER_BAR === 0) bars++;
      }
      if (bars > 0) hitsPerBar.set(p.style, [...(hitsPerBar.get(p.style) ?? []), hits / bars]);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const density = Object.fromEntries([...hitsPerBar].map(([s, xs]) => [s, mean(xs)]));
    expect(density.funk).toBeGreaterThan(density.ballad * 1.5);
    expect(density.house).toBeGreaterThan(density.ballad);
    // house is four on the floor; a ballad's kick is not
    const kickSteps = (style: string) => new Set(STYLES[style as 'house'].grooves.map((g) => g.kick).join(''));
    expect(STYLES.house.grooves.every((g) => g.kick === 'x...x...x...x...')).toBe(true);
    expect(STYLES.ballad.grooves.some((g) => g.kick === 'x...x...x...x...')).toBe(false);
    expect(kickSteps('house').size).toBeGreaterThan(0);
  });

  it('labels match what sounds: a labelled section has its instrument, an unlabelled one is silent', () => {
    for (const p of pieces.slice(0, 60)) {
      const sounding = soundingInstruments(p.tokens);
      INSTRUMENTS.forEach((inst, i) => {
        for (const s of p.sections) {
          const from = s.startBar * FRAMES_PER_BAR;
          const to = Math.min(p.frames, (s.startBar + s.bars) * FRAMES_PER_BAR);
          const heard = sounding[i].slice(from, to).reduce((a, x) => a + x, 0);
          if (s.playing[inst]) expect(heard, `${inst} in piece ${p.seed} bar ${s.startBar}`).toBeGreaterThan(0);
          else expect(heard).toBe(0);
          expect(p.labels[i][from]).toBe(s.playing[inst] ? 1 : 0);
        }
      });
    }
  });

  it('cuts 2-bar sections only when asked, and then an instrument can come or go every 2 bars with what sounds following the labels', () => {
    expect(pieces.flatMap((p) => p.sections).some((s) => s.bars === 2)).toBe(false);
    const arrangement = { ...DEFAULT_ARRANGEMENT, shortSectionProbability: 0.3 };
    const short = Array.from({ length: 60 }, (_, seed) => compose({ seed, arrangement }));
    const sections = short.flatMap((p) => p.sections);
    expect(sections.filter((s) => s.bars === 2).length / sections.length).toBeGreaterThan(0.2);
    for (const p of short) {
      expect(p.sections.reduce((bars, s) => bars + s.bars, 0)).toBe(p.bars);
      const sounding = soundingInstruments(p.tokens);
      INSTRUMENTS.forEach((inst, i) => {
        for (const s of p.sections.filter((x) => x.bars === 2)) {
          const from = s.startBar * FRAMES_PER_BAR;
          const heard = sounding[i].slice(from, from + 2 * FRAMES_PER_BAR).reduce((a, x) => a + x, 0);
          expect(heard > 0, `${inst} in piece ${p.seed} bar ${s.startBar}`).toBe(s.playing[inst]);
        }
      });
    }
  });

  it('carries style, mood and energy tags', () => {
    for (const p of pieces.slice(0, 20)) {
      expect(p.tags).toHaveLength(3);
      expect(p.tags[0]).toBe(p.style);
    }
  });

  it('withoutInstrument removes that stem and keeps the rest of the piece', () => {
    const p = pieces.find((x) => x.labels[3].some((l) => l) && x.labels[2].some((l) => l))!;
    const stripped = withoutInstrument(p, 'guitar');
    const before = soundingInstruments(p.tokens);
    const after = soundingInstruments(stripped.tokens);
    expect(after[3].every((x) => x === 0)).toBe(true);
    expect(stripped.labels[3].every((x) => x === 0)).toBe(true);
    expect(Array.from(after[0])).toEqual(Array.from(before[0]));
    expect(Array.from(after[1])).toEqual(Array.from(before[1]));
    expect(Array.from(after[2])).toEqual(Array.from(before[2]));
    expect(stripped.tokens[0]).toEqual(p.tokens[0]);
    expect(p.labels[3].some((x) => x)).toBe(true); // the original is untouched
  });

  it('rejects an unknown style and bad lengths with the value', () => {
    expect(() => compose({ seed: 1, style: 'polka' as never })).toThrow(/style must be one of rock, funk, house, ballad, bossa, got: polka/);
    expect(() => compose({ seed: 1, bars: -3 })).toThrow(/bars must be a positive number, got: -3/);
    expect(() => compose({ seed: 1.5 })).toThrow(/seed must be an integer/);
  });
});

describe('style data', () => {
  it('has whole bars everywhere', () => {
    for (const s of Object.values(STYLES)) {
      const lines = [...s.grooves.flatMap((g) => Object.values(g)), ...Object.values(s.fill), ...s.bass, ...s.comping.piano, ...s.comping.guitar];
      for (const line of lines) expect(line).toHaveLength(FRAMES_PER_BAR);
      for (const cell of s.melodyCells) expect(cell.reduce((a, d) => a + Math.abs(d), 0)).toBe(FRAMES_PER_BAR);
    }
  });
});

function sameChord(p: Piece, a: number, b: number): boolean {
  return p.chords[a].root === p.chords[b].root && p.chords[a].quality === p.chords[b].quality;
}
