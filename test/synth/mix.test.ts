import { describe, expect, it } from 'vitest';
import { densePattern } from '../../src/model/codec/synth/demo-pattern.js';
import { renderTokens } from '../../src/model/codec/synth/index.js';
import {
  CHORD_INSTRUMENTS,
  CHORD_QUALITIES,
  DRUM_VOCAB,
  encodeBass,
  encodeHarmony,
  encodeMelody,
  INSTRUMENTS,
  type Instrument,
  removeInstrument,
} from '../../src/model/tinyband/layout.js';
import { energyAbove, mono, peak, rms, silentTokens } from './helpers.js';

const tempo = 120;
const tokens = densePattern(8);

/** Only `keep`: every other instrument removed through layout.removeInstrument. */
function only(keep: Instrument): Uint16Array[] {
  let t: readonly ArrayLike<number>[] = tokens;
  for (const other of INSTRUMENTS) if (other !== keep) t = removeInstrument(t, other);
  return t as Uint16Array[];
}

describe('removing an instrument removes exactly its sound', () => {
  // Quiet enough that the limiter never acts: the mix is then a plain sum,
  // and full - (full without X) must be X's stem, sample for sample.
  const quiet = { drums: { gain: 0.3 }, bass: { gain: 0.3 }, piano: { gain: 0.3 }, guitar: { gain: 0.3 } };

  it.each(INSTRUMENTS)('%s', (instrument) => {
    const full = renderTokens(tokens, { tempo, mix: quiet });
    const without = renderTokens(removeInstrument(tokens, instrument), { tempo, mix: quiet });
    const stem = renderTokens(only(instrument), { tempo, mix: quiet });
    expect(peak(full)).toBeLessThan(0.9);
    expect(rms(mono(stem))).toBeGreaterThan(0.005);
    let worst = 0;
    for (const ch of ['left', 'right'] as const) {
      for (let i = 0; i < full[ch].length; i++) {
        worst = Math.max(worst, Math.abs(full[ch][i] - without[ch][i] - stem[ch][i]));
      }
    }
    // Float32 rounding of three signals, nothing more.
    expect(worst).toBeLessThan(1e-5);
  });

  it('the band without drums has far less energy above 5 kHz (the hats and cymbals are gone)', () => {
    const full = energyAbove(mono(renderTokens(tokens, { tempo })), 5000);
    const without = energyAbove(mono(renderTokens(removeInstrument(tokens, 'drums'), { tempo })), 5000);
    expect(without).toBeLessThan(full * 0.1);
  });

  it('the band without bass has far less energy below 100 Hz than with it, drums removed in both', () => {
    const noDrums = removeInstrument(tokens, 'drums');
    const low = (t: readonly ArrayLike<number>[]): number => {
      const x = mono(renderTokens(t, { tempo }));
      return energyAbove(x, 0) - energyAbove(x, 100);
    };
    expect(low(removeInstrument(noDrums, 'bass'))).toBeLessThan(low(noDrums) * 0.1);
  });
});

describe('the master never clips', () => {
  /** Everything at once on every 16th: all drums, bass notes, chord strikes and melody notes. */
  function wall(frames: number): Uint16Array[] {
    const t = silentTokens(frames);
    for (let f = 0; f < frames; f++) {
      t[0][f] = DRUM_VOCAB - 1;
      t[1][f] = encodeBass({ kind: 'note', pitch: 28 + ((f * 7) % 32) });
      t[2][f] = encodeHarmony({
        kind: 'strike',
        instrument: CHORD_INSTRUMENTS[f % 2],
        root: (f * 5) % 12,
        quality: CHORD_QUALITIES[f % CHORD_QUALITIES.length],
      });
      t[3][f] = encodeMelody({ kind: 'note', instrument: CHORD_INSTRUMENTS[(f >> 1) % 2], pitch: 55 + ((f * 11) % 32) });
    }
    return t;
  }

  it.each([60, 97, 120, 163, 200])('peak <= 1 for a dense loud pattern at %i BPM', (bpm) => {
    const loud = { drums: { gain: 4 }, bass: { gain: 4 }, piano: { gain: 4 }, guitar: { gain: 4 } };
    for (const mix of [undefined, loud]) {
      const r = renderTokens(wall(48), { tempo: bpm, mix });
      expect(peak(r)).toBeLessThanOrEqual(1);
      expect(r.left.every(Number.isFinite) && r.right.every(Number.isFinite)).toBe(true);
      expect(rms(mono(r))).toBeGreaterThan(0.05);
    }
  });

  it('the realistic dense pattern keeps headroom: the limiter only shaves peaks', () => {
    const r = renderTokens(tokens, { tempo });
    let hot = 0;
    for (let i = 0; i < r.left.length; i++) if (Math.abs(r.left[i]) > 0.93 || Math.abs(r.right[i]) > 0.93) hot++;
    expect(hot / r.left.length).toBeLessThan(0.001);
  });
});
