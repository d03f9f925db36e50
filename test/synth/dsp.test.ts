import { describe, expect, it } from 'vitest';
import { Biquad } from '../../src/model/codec/synth/biquad.js';
import { Envelope } from '../../src/model/codec/synth/envelope.js';
import { renderTokens } from '../../src/model/codec/synth/index.js';
import { densePattern } from '../../src/model/codec/synth/demo-pattern.js';
import { guitarVoicing, pianoVoicing } from '../../src/model/codec/synth/voicing.js';
import { CHORD_INTERVALS, CHORD_QUALITIES } from '../../src/model/tinyband/layout.js';
import { detectPitch, melodyNote, midiToHz, mono, peak, semitones } from './helpers.js';

const fs = 48000;

/** Steady-state gain of a biquad on a sine, measured by running it. */
function measuredGain(make: () => Biquad, freq: number): number {
  const f = make();
  const n = 48000;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin((2 * Math.PI * freq * i) / fs);
  f.process(x, n);
  // RMS, not peak: at 12 kHz four samples a cycle may all miss the crest.
  let e = 0;
  for (let i = n / 2; i < n; i++) e += x[i] * x[i];
  return Math.sqrt((2 * e) / (n / 2));
}

describe('RBJ biquads', () => {
  it('a high-pass at 7 kHz: -3 dB at the corner, 12 dB/octave below, and the code filters as designed', () => {
    const hp = (): Biquad => new Biquad().setHighpass(7000, Math.SQRT1_2, fs);
    expect(hp().magnitudeAt(7000, fs)).toBeCloseTo(Math.SQRT1_2, 3);
    expect(hp().magnitudeAt(1750, fs)).toBeLessThan(0.07);
    expect(hp().magnitudeAt(20000, fs)).toBeGreaterThan(0.97);
    for (const f of [500, 3000, 7000, 12000]) expect(measuredGain(hp, f)).toBeCloseTo(hp().magnitudeAt(f, fs), 2);
  });

  it('low-pass, band-pass and peaking behave', () => {
    expect(new Biquad().setLowpass(1000, Math.SQRT1_2, fs).magnitudeAt(100, fs)).toBeCloseTo(1, 2);
    expect(new Biquad().setLowpass(1000, Math.SQRT1_2, fs).magnitudeAt(8000, fs)).toBeLessThan(0.02);
    expect(new Biquad().setBandpass(1250, 1.4, fs).magnitudeAt(1250, fs)).toBeCloseTo(1, 3);
    expect(new Biquad().setPeaking(200, 1, 6, fs).magnitudeAt(200, fs)).toBeCloseTo(Math.pow(10, 6 / 20), 3);
  });
});

describe('envelope', () => {
  it('ramps in and out linearly, with no step', () => {
    const env = new Envelope();
    env.trigger({ delay: 3, attack: 10, peak: 1, decayCoef: 1, sustain: 1 });
    const out = new Float64Array(40);
    env.render(out, 20);
    expect(Array.from(out.slice(0, 3))).toEqual([0, 0, 0]);
    expect(out[3]).toBeCloseTo(0.1, 12);
    expect(out[12]).toBeCloseTo(1, 12);
    env.release(8);
    env.render(out, 10);
    for (let i = 1; i < 8; i++) expect(out[i - 1] - out[i]).toBeCloseTo(1 / 8, 12);
    expect(out[7]).toBe(0);
    expect(env.active).toBe(false);
  });
});

describe('voicing', () => {
  it('uses every chord tone, in a sensible register', () => {
    for (const quality of CHORD_QUALITIES) {
      for (let root = 0; root < 12; root++) {
        const want = new Set(CHORD_INTERVALS[quality].map((i) => (root + i) % 12));
        const piano = pianoVoicing(root, quality);
        expect(new Set(piano.map((p) => p % 12))).toEqual(want);
        expect(Math.min(...piano)).toBeGreaterThanOrEqual(53);
        expect(Math.max(...piano)).toBeLessThan(65);
        const guitar = guitarVoicing(root, quality);
        expect(guitar[0] % 12).toBe(root);
        expect(new Set(guitar.map((p) => p % 12))).toEqual(want);
        expect(guitar[0]).toBeGreaterThanOrEqual(40);
        expect(Math.max(...guitar)).toBeLessThan(70);
      }
    }
  });
});

describe('other sample rates', () => {
  it('44.1 kHz renders the right length, in tune, without clipping', () => {
    const sampleRate = 44100;
    const t = densePattern(1);
    const r = renderTokens(t, { tempo: 120, sampleRate });
    expect(r.left.length).toBe(Math.round((16 * sampleRate * 60) / (120 * 4)));
    expect(peak(r)).toBeLessThanOrEqual(1);
    const note = mono(renderTokens(melodyNote('guitar', 69, 12), { tempo: 120, sampleRate }));
    // detectPitch assumes 48 kHz: scale the answer back.
    const f = (detectPitch(note, (0.12 * sampleRate) / fs, 8192) as number) * (sampleRate / fs);
    expect(semitones(f, midiToHz(69))).toBeLessThan(0.25);
  });
});
