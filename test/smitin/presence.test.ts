import { describe, expect, it } from 'vitest';
import { FRAMES_PER_BAR } from '../../src/constants.js';
import { cellVerdict, crosstalkOf, flipRates, interpolateAt, newSilences, pairedSe, presence, presenceChange, spearman, worstCell } from '../../src/smitin/eval/presence.js';
import { encodeBass, encodeDrums, HOLD, REST } from '../../src/model/tinyband/layout.js';

/** Tokens of `frames` frames: drums hit on the frames `drums` marks, bass plays a note on the frames `bass` marks. */
function band(drums: (t: number) => boolean, bass: (t: number) => boolean, frames = 2 * FRAMES_PER_BAR): Uint16Array[] {
  const kick = encodeDrums(new Set(['kick']));
  return [
    Uint16Array.from({ length: frames }, (_, t) => (drums(t) ? kick : encodeDrums(new Set()))),
    Uint16Array.from({ length: frames }, (_, t) => (bass(t) ? encodeBass({ kind: 'note', pitch: 40 }) : encodeBass({ kind: 'rest' }))),
    new Uint16Array(frames).fill(REST),
    new Uint16Array(frames).fill(REST),
  ];
}

describe('presence and crosstalk', () => {
  it('frame share and present rate per instrument; the change against the twins; crosstalk leaves out the knob', () => {
    const none = [band(() => true, () => true), band(() => false, () => true)];
    const steered = [band(() => true, (t) => t % 4 === 0), band((t) => t % 2 === 0, () => true)];
    const p = presence(none);
    expect(p.share.drums).toBeCloseTo(0.5);
    expect(p.present.drums).toBeCloseTo(0.5);
    expect(p.share.piano).toBe(0);
    const change = presenceChange(steered, none);
    expect(change.drums.share).toBeCloseTo(0.25);
    expect(change.drums.present).toBeCloseTo(0.5);
    expect(change.bass.share).toBeCloseTo(-0.375);
    // the bass held in a quarter of the frames is still present (>= 0.25)
    expect(change.bass.present).toBe(0);
    // item by item: the drumless twin gained the drums, the one with drums kept them
    expect(change.drums.flips).toEqual({ gained: 1, lacking: 1, lost: 0, having: 1 });
    expect(change.bass.flips).toEqual({ gained: 0, lacking: 0, lost: 0, having: 2 });
    expect(presenceChange(none, steered).drums.flips).toEqual({ gained: 0, lacking: 0, lost: 1, having: 2 });
    // song by song: the mean hides a knob that brings an instrument into one song and takes it out of another
    expect(flipRates(change.drums)).toEqual({ into: 1, outOf: 0, moved: 0.5 });
    const swap = presenceChange([band(() => true, () => true), band(() => false, () => true)], [band(() => false, () => true), band(() => true, () => true)]);
    expect(swap.drums.present).toBe(0);
    expect(flipRates(swap.drums)).toEqual({ into: 1, outOf: 1, moved: 1 });
    expect(flipRates(change.bass)?.into).toBeNaN();
    expect(flipRates({ share: 0, present: 0 })).toBeUndefined();
    const cross = crosstalkOf(change, 'drums');
    expect(Object.keys(cross)).toEqual(['bass', 'piano', 'guitar']);
    expect(worstCell(cross)).toBeCloseTo(0.375);
  });

  it('a new silent bar is one the steered item has and its twin does not', () => {
    const twin = band((t) => t >= FRAMES_PER_BAR, () => false);
    expect(newSilences([band(() => false, () => false)], [twin]).items).toBe(1);
    expect(newSilences([twin], [twin]).items).toBe(0);
    expect(newSilences([band(() => true, () => false)], [twin]).items).toBe(0);
    // holds keep a note sounding: a bar held from the bar before is not silent
    const held = band(() => false, (t) => t === 0);
    held[1].fill(HOLD, 1);
    expect(newSilences([held], [band(() => true, () => true)]).items).toBe(0);
  });

  it('a new silent bar where the twin played the removed instrument alone is told apart from one where another instrument went', () => {
    const silent = band(() => false, () => false);
    // the twin: drums alone in bar 1, drums and bass in bar 2
    const drumsAlone = band(() => true, (t) => t >= FRAMES_PER_BAR);
    const both = newSilences([silent], [drumsAlone], 'drums');
    expect(both).toEqual({ items: 1, onlyRemoved: 0 }); // bar 2 lost the bass too
    const onlyDrums = newSilences([band(() => false, (t) => t >= FRAMES_PER_BAR)], [drumsAlone], 'drums');
    expect(onlyDrums).toEqual({ items: 1, onlyRemoved: 1 });
    expect(newSilences([silent], [drumsAlone], 'bass')).toEqual({ items: 1, onlyRemoved: 0 });
  });

  it('paired standard errors: zero when every item moves alike, and a cell is noise only within two of them', () => {
    expect(pairedSe([0.1, 0.1, 0.1])).toBeCloseTo(0, 12);
    expect(pairedSe([1, -1, 1, -1])).toBeCloseTo(Math.sqrt(4 / 3 / 4));
    expect(pairedSe([1])).toBeNaN();
    const none = [band(() => true, () => true), band(() => false, () => true)];
    const change = presenceChange(none, none);
    expect(change.drums.se).toEqual({ share: 0, present: 0 });
    expect(cellVerdict({ share: 0.05, present: 0.08 }, 0.1)).toBe('within');
    expect(cellVerdict({ share: 0.05, present: 0.15, se: { share: 0.01, present: 0.04 } }, 0.1)).toBe('noise');
    expect(cellVerdict({ share: 0.05, present: 0.25, se: { share: 0.01, present: 0.04 } }, 0.1)).toBe('over');
    expect(cellVerdict({ share: -0.2, present: 0 }, 0.1)).toBe('over');
  });

  it("Spearman's rho: 1 for any increasing relation, -1 reversed, ties share a rank", () => {
    expect(spearman([1, 2, 3, 4], [0.1, 0.5, 0.51, 9])).toBeCloseTo(1);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1);
    expect(spearman([1, 2, 3, 4], [1, 1, 2, 2])).toBeCloseTo(0.894, 3);
    expect(() => spearman([1], [1])).toThrow(/two lists of equal length/);
  });

  it('interpolates along a polyline sorted by x, clamped at its ends', () => {
    const pts = [{ x: 2, y: 1 }, { x: 1, y: 0 }, { x: 3, y: 3 }];
    expect(interpolateAt(pts, 1.5)).toBeCloseTo(0.5);
    expect(interpolateAt(pts, 2.5)).toBeCloseTo(2);
    expect(interpolateAt(pts, 0)).toBe(0);
    expect(interpolateAt(pts, 9)).toBe(3);
    expect(interpolateAt([], 1)).toBeNaN();
  });
});
