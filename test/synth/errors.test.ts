import { describe, expect, it } from 'vitest';
import { BandSynth, renderTokens } from '../../src/model/codec/synth/index.js';
import { HARMONY_VOCAB, PAD_ID, VOCAB_SIZE } from '../../src/model/tinyband/layout.js';
import { densePattern } from '../../src/model/codec/synth/demo-pattern.js';
import { peak, silentTokens } from './helpers.js';

describe('tempo outside 60..200 BPM', () => {
  it.each([30, 300, 59.9, 200.1, Number.NaN, Number.POSITIVE_INFINITY])('%s throws a RangeError naming tempo and range', (bpm) => {
    const check = (fn: () => unknown): void => {
      expect(fn).toThrow(RangeError);
      expect(fn).toThrow(/tempo/);
      expect(fn).toThrow(/\[60, 200\]/);
      expect(fn).toThrow(new RegExp(String(bpm)));
    };
    check(() => new BandSynth({ tempo: bpm }));
    check(() => renderTokens(silentTokens(4), { tempo: bpm }));
    const synth = new BandSynth({ tempo: 120 });
    check(() => synth.setTempo(bpm));
    expect(synth.tempo).toBe(120);
  });

  it('60 and 200 themselves are fine', () => {
    expect(() => renderTokens(silentTokens(4), { tempo: 60 })).not.toThrow();
    expect(() => renderTokens(silentTokens(4), { tempo: 200 })).not.toThrow();
  });
});

describe('pad and out-of-range tokens are silence', () => {
  const junk = [PAD_ID, VOCAB_SIZE + 7, 65535, -1, -300, 1.5, 2.5, Number.NaN, Number.POSITIVE_INFINITY];

  it.each(junk)('%s in every codebook renders exact silence without throwing', (id) => {
    const t = Array.from({ length: 4 }, () => new Float64Array(32).fill(id));
    const r = renderTokens(t, { tempo: 120 });
    expect(r.left.length).toBeGreaterThan(0);
    expect(peak(r)).toBe(0);
  });

  it('a pad in a playing stream acts as a rest: the harmony stops', () => {
    const t = densePattern(2).map((row) => Float64Array.from(row));
    // After frame 8 every stream is padded (the delay pattern's tail).
    for (const row of t) row.fill(PAD_ID, 8);
    const r = renderTokens(t, { tempo: 120 });
    const tail = r.left.subarray(r.left.length - 4800);
    let p = 0;
    for (const x of tail) p = Math.max(p, Math.abs(x));
    expect(p).toBeLessThan(0.01);
    expect(peak(r)).toBeGreaterThan(0.05);
  });

  it('ids just past a codebook (e.g. HARMONY_VOCAB in the harmony stream) are silence too', () => {
    const t = silentTokens(16).map((row) => Float64Array.from(row));
    t[2].fill(HARMONY_VOCAB);
    t[1].fill(40);
    t[3].fill(200);
    t[0].fill(128);
    expect(peak(renderTokens(t, { tempo: 120 }))).toBe(0);
  });

  it('pushFrame accepts junk without throwing', () => {
    const synth = new BandSynth({ tempo: 120 });
    synth.pushFrame([PAD_ID, -1, Number.NaN, 1e9]);
    const l = new Float32Array(10000);
    const n = synth.process(l, new Float32Array(10000));
    expect(n).toBe(6000);
    expect(l.every((x) => x === 0)).toBe(true);
  });
});

describe('other misuse is reported, not ignored', () => {
  it('left and right of different lengths', () => {
    const synth = new BandSynth({ tempo: 120 });
    expect(() => synth.process(new Float32Array(4), new Float32Array(5))).toThrow(RangeError);
  });

  it('tokens with the wrong number of codebooks or ragged rows', () => {
    expect(() => renderTokens([new Uint16Array(4)], { tempo: 120 })).toThrow(RangeError);
    const ragged = silentTokens(4);
    ragged[3] = new Uint16Array(3);
    expect(() => renderTokens(ragged, { tempo: 120 })).toThrow(RangeError);
  });

  it('bad mix settings', () => {
    expect(() => new BandSynth({ tempo: 120, mix: { piano: { pan: 2 } } })).toThrow(/pan/);
    expect(() => new BandSynth({ tempo: 120, mix: { bass: { gain: -1 } } })).toThrow(/gain/);
    expect(() => new BandSynth({ tempo: 120, sampleRate: 1000 })).toThrow(/sampleRate/);
  });
});
