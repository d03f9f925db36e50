/** Musical statistics of composed (or generated) pieces: the checks and the baselines. */
import { decodeBass, decodeMelody, INSTRUMENTS } from '../layout.js';
import type { Chord, Key } from '../theory.js';
import { inKey, isChordTone } from '../theory.js';
import type { Piece, Section } from './piece.js';

export interface Ratio {
  hits: number;
  total: number;
}

export function ratio(r: Ratio): number {
  return r.total === 0 ? NaN : r.hits / r.total;
}

export function addRatio(a: Ratio, b: Ratio): Ratio {
  return { hits: a.hits + b.hits, total: a.total + b.total };
}

/** Bass note-ons that are tones of the chord sounding at that frame. */
export function bassOnChordTones(tokens: ArrayLike<number>, chords: readonly Chord[]): Ratio {
  const r = { hits: 0, total: 0 };
  for (let t = 0; t < tokens.length; t++) {
    const e = decodeBass(tokens[t]);
    if (e.kind !== 'note') continue;
    r.total++;
    if (isChordTone(e.pitch, chords[t])) r.hits++;
  }
  return r;
}

/** Melody note-ons inside the key's scale. */
export function melodyInKey(tokens: ArrayLike<number>, key: Key): Ratio {
  const r = { hits: 0, total: 0 };
  for (let t = 0; t < tokens.length; t++) {
    const e = decodeMelody(tokens[t]);
    if (e.kind !== 'note') continue;
    r.total++;
    if (inKey(e.pitch, key)) r.hits++;
  }
  return r;
}

function playingAtBar(sections: readonly Section[], bar: number): Section['playing'] {
  const s = sections.find((x) => bar >= x.startBar && bar < x.startBar + x.bars);
  if (!s) throw new RangeError(`bar ${bar} is outside the arrangement`);
  return s.playing;
}

/**
 * The unsteered baseline: of all (bar, instrument) pairs where the
 * instrument is absent, the share in which it enters within the next
 * `lookahead` bars. Bars without a full lookahead left are not counted.
 */
export function entryBaseline(pieces: readonly Pick<Piece, 'sections' | 'bars'>[], lookahead = 4): Ratio {
  const r = { hits: 0, total: 0 };
  for (const p of pieces) {
    for (let bar = 0; bar + lookahead < p.bars; bar++) {
      const now = playingAtBar(p.sections, bar);
      for (const inst of INSTRUMENTS) {
        if (now[inst]) continue;
        r.total++;
        for (let ahead = 1; ahead <= lookahead; ahead++) {
          if (playingAtBar(p.sections, bar + ahead)[inst]) {
            r.hits++;
            break;
          }
        }
      }
    }
  }
  return r;
}

/** Number of instrument entries plus exits at section boundaries. */
export function arrangementChanges(sections: readonly Section[]): number {
  let n = 0;
  for (let i = 1; i < sections.length; i++) {
    for (const inst of INSTRUMENTS) if (sections[i].playing[inst] !== sections[i - 1].playing[inst]) n++;
  }
  return n;
}

