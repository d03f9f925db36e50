import { describe, expect, it } from 'vitest';
import { densePattern } from '../../src/model/codec/synth/demo-pattern.js';
import { BandSynth, renderStems, renderTokens, STEM_CHANNELS, type BandMix } from '../../src/model/codec/synth/index.js';
import { INSTRUMENTS, removeInstrument, type Instrument } from '../../src/model/tinyband/layout.js';
import { energyAbove, mono, rms } from './helpers.js';

const tempo = 120;
const tokens = densePattern(8);
const all = (gain: number): BandMix => Object.fromEntries(INSTRUMENTS.map((i) => [i, { gain }]));
/** Quiet enough that the limiter never acts; loud enough that it acts all the time. */
const quiet = all(0.3);
const loud = all(3);

function only(keep: Instrument): Uint16Array[] {
  let t: readonly ArrayLike<number>[] = tokens;
  for (const other of INSTRUMENTS) if (other !== keep) t = removeInstrument(t, other);
  return t as Uint16Array[];
}

function worstDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** The largest |mix - sum of the stems| over both channels. */
function sumError(ch: Float32Array[]): number {
  let worst = 0;
  for (let side = 0; side < 2; side++) {
    for (let i = 0; i < ch[0].length; i++) {
      let sum = 0;
      for (let k = 0; k < INSTRUMENTS.length; k++) sum += ch[2 + 2 * k + side][i];
      worst = Math.max(worst, Math.abs(ch[side][i] - sum));
    }
  }
  return worst;
}

const pair = (ch: Float32Array[], k: number) => ({ left: ch[2 + 2 * k], right: ch[3 + 2 * k] });

describe('stems: each instrument on its own pair', () => {
  it.each(INSTRUMENTS.map((inst, k) => [inst, k] as const))('%s: its pair is the instrument rendered alone, and only it', (instrument, k) => {
    const ch = renderStems(tokens, { tempo, mix: quiet });
    const alone = renderTokens(only(instrument), { tempo, mix: quiet });
    expect(rms(mono(alone))).toBeGreaterThan(0.005);
    // float32 rounding of the two renders, nothing more
    expect(worstDiff(ch[2 + 2 * k], alone.left)).toBeLessThan(1e-6);
    expect(worstDiff(ch[3 + 2 * k], alone.right)).toBeLessThan(1e-6);
  });

  it('a stem holds its instrument\'s spectrum: the highs (hats, cymbals) in drums, the bass stem mostly below 200 Hz', () => {
    const ch = renderStems(tokens, { tempo });
    const high = INSTRUMENTS.map((_, k) => energyAbove(mono(pair(ch, k)), 8000) / energyAbove(mono(pair(ch, k)), 0));
    // the drum stem is the bright one (hats, cymbals); no tonal stem has a tenth of its share above 8 kHz
    for (let k = 1; k < INSTRUMENTS.length; k++) expect(high[k]).toBeLessThan(high[0] / 10);
    const bassLow = (() => {
      const x = mono(pair(ch, 1));
      return (energyAbove(x, 0) - energyAbove(x, 200)) / energyAbove(x, 0);
    })();
    expect(bassLow).toBeGreaterThan(0.5);
  });

  it.each([
    ['the limiter idle', quiet],
    ['the default mix', undefined],
    ['the limiter acting all the time', loud],
  ] as const)('the stems sum to the mix, and the mix is what a mix render plays (%s)', (_, mix) => {
    const ch = renderStems(tokens, { tempo, mix });
    const plain = renderTokens(tokens, { tempo, mix });
    expect(sumError(ch)).toBeLessThan(2e-6);
    expect(worstDiff(ch[0], plain.left)).toBeLessThan(1e-6);
    expect(worstDiff(ch[1], plain.right)).toBeLessThan(1e-6);
    for (let k = 0; k < INSTRUMENTS.length; k++) expect(rms(mono(pair(ch, k))), INSTRUMENTS[k]).toBeGreaterThan(0.005);
  });

  it('with the limiter acting, a stem ducks with the band: it is the solo render times the band\'s gain, never louder', () => {
    const ch = renderStems(tokens, { tempo, mix: loud });
    const alone = renderTokens(only('bass'), { tempo, mix: loud });
    // the solo bass barely touches the limiter; in the band it is turned down with everything else
    expect(rms(ch[4])).toBeLessThan(rms(alone.left) * 0.95);
    expect(rms(ch[4])).toBeGreaterThan(rms(alone.left) * 0.3);
  });

  it('streams in any block size, equal to the whole render sample for sample', () => {
    const whole = renderStems(tokens, { tempo });
    const synth = new BandSynth({ tempo, stems: true });
    for (let t = 0; t < tokens[0].length; t++) synth.pushFrame([tokens[0][t], tokens[1][t], tokens[2][t], tokens[3][t]]);
    const n = whole[0].length;
    let at = 0;
    let size = 37;
    while (at < n) {
      const m = Math.min(size, n - at);
      const block = Array.from({ length: STEM_CHANNELS }, () => new Float32Array(m));
      expect(synth.processStems(block)).toBe(m);
      for (let c = 0; c < STEM_CHANNELS; c++) expect(worstDiff(block[c], whole[c].subarray(at, at + m))).toBe(0);
      at += m;
      size = (size * 7 + 13) % 1500 + 1;
    }
  });

  it('refuses a mix-mode synth and a wrong channel count', () => {
    const plain = new BandSynth({ tempo });
    plain.pushFrame([0, 0, 0, 0]);
    expect(() => plain.processStems(Array.from({ length: STEM_CHANNELS }, () => new Float32Array(8)))).toThrow(/made with stems/);
    const stems = new BandSynth({ tempo, stems: true });
    expect(() => stems.processStems([new Float32Array(8), new Float32Array(8)])).toThrow(/needs 10 channels/);
  });
});
