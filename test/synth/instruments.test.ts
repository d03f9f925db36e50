import { describe, expect, it } from 'vitest';
import { renderTokens } from '../../src/model/codec/synth/index.js';
import {
  BASS_LOW,
  BASS_PITCHES,
  DRUM_VOICES,
  encodeHarmony,
  encodeMelody,
  HOLD,
  MELODY_LOW,
  MELODY_PITCHES,
} from '../../src/model/tinyband/layout.js';
import { REST } from '../../src/model/tinyband/layout.js';
import {
  bassNote,
  detectPitch,
  frameStart,
  drumTokens,
  energyShare,
  melodyNote,
  midiToHz,
  mono,
  rms,
  semitones,
  silentTokens,
} from './helpers.js';

const tempo = 120;
/** -50 dBFS: far above the floor of a silent render (exactly 0) and far below any real part. */
const AUDIBLE = 0.003;

describe('each instrument alone makes sound', () => {
  it.each(DRUM_VOICES)('drum voice %s', (voice) => {
    const r = renderTokens(drumTokens(voice, 32, 4), { tempo });
    expect(rms(mono(r))).toBeGreaterThan(AUDIBLE);
  });

  it('bass', () => {
    expect(rms(mono(renderTokens(bassNote(40, 32), { tempo })))).toBeGreaterThan(AUDIBLE);
  });

  it.each(['piano', 'guitar'] as const)('%s via harmony and melody tokens', (instrument) => {
    const t = silentTokens(32);
    t[2].fill(HOLD);
    t[3].fill(HOLD);
    t[2][0] = encodeHarmony({ kind: 'strike', instrument, root: 0, quality: 'maj' });
    t[2][16] = encodeHarmony({ kind: 'strike', instrument, root: 7, quality: 'dom7' });
    t[3][4] = encodeMelody({ kind: 'note', instrument, pitch: 72 });
    expect(rms(mono(renderTokens(t, { tempo })))).toBeGreaterThan(AUDIBLE);
    // Chord only and melody only, too: neither stream depends on the other.
    const chordOnly = t.map((row) => row.slice());
    chordOnly[3].fill(0);
    expect(rms(mono(renderTokens(chordOnly, { tempo })))).toBeGreaterThan(AUDIBLE);
    const melodyOnly = t.map((row) => row.slice());
    melodyOnly[2].fill(0);
    expect(rms(mono(renderTokens(melodyOnly, { tempo })))).toBeGreaterThan(AUDIBLE);
  });
});

describe('drum spectra', () => {
  it('kick: at least 70 % of its energy below 150 Hz', () => {
    const share = energyShare(mono(renderTokens(drumTokens('kick', 32, 8), { tempo })), 0, 150);
    expect(share).toBeGreaterThanOrEqual(0.7);
  });

  it('closed hat: at least 70 % of its energy above 5 kHz', () => {
    const share = energyShare(mono(renderTokens(drumTokens('closedHat', 32, 2), { tempo })), 5000, 24000);
    expect(share).toBeGreaterThanOrEqual(0.7);
  });

  it('open hat and cymbals are bright too, snare and clap sit in the middle', () => {
    for (const v of ['openHat', 'ride', 'crash'] as const) {
      expect(energyShare(mono(renderTokens(drumTokens(v, 32, 8), { tempo })), 3000, 24000)).toBeGreaterThan(0.7);
    }
    for (const v of ['snare', 'clap'] as const) {
      const x = mono(renderTokens(drumTokens(v, 32, 8), { tempo }));
      expect(energyShare(x, 150, 8000)).toBeGreaterThan(0.6);
    }
  });
});

describe('pitch: within one semitone of the token, across each range', () => {
  const check = (tokens: Uint16Array[], pitch: number): void => {
    const x = mono(renderTokens(tokens, { tempo }));
    // Past the attack transient, while the note still rings.
    const f = detectPitch(x, 0.12, 8192);
    expect(f, `no pitch found for MIDI ${pitch}`).not.toBeNull();
    expect(semitones(f as number, midiToHz(pitch)), `MIDI ${pitch}: heard ${f} Hz`).toBeLessThan(1);
  };

  it.each([BASS_LOW, 36, 43, 50, BASS_LOW + BASS_PITCHES - 1])('bass MIDI %i', (pitch) => {
    check(bassNote(pitch, 12), pitch);
  });

  it.each([MELODY_LOW, 62, 69, 76, 81, MELODY_LOW + MELODY_PITCHES - 1])('piano melody MIDI %i', (pitch) => {
    check(melodyNote('piano', pitch, 12), pitch);
  });

  it.each([MELODY_LOW, 62, 69, 76, 81, MELODY_LOW + MELODY_PITCHES - 1])('guitar melody MIDI %i', (pitch) => {
    check(melodyNote('guitar', pitch, 12), pitch);
  });
});

describe('no clicks: every note starts and stops on a ramp', () => {
  const maxAbs = (x: Float32Array, from: number, to: number): number => {
    let p = 0;
    for (let i = from; i < to; i++) p = Math.max(p, Math.abs(x[i]));
    return p;
  };
  const ms = (m: number): number => Math.round(m * 48);

  it.each([
    ['bass', (f: number) => bassNote(40, f), 1],
    ['piano', (f: number) => melodyNote('piano', 64, f), 3],
    ['guitar', (f: number) => melodyNote('guitar', 64, f), 3],
  ] as const)('%s', (_name, make, cb) => {
    // Note on at frame 2, rest at frame 6 (120 BPM: 125 ms a frame).
    const t = make(12);
    t[cb].fill(0, 0, 2);
    t[cb][2] = make(1)[cb][0];
    t[cb][6] = REST;
    t[cb].fill(REST, 7);
    t[cb].fill(1, 3, 6);
    const x = mono(renderTokens(t, { tempo }));
    const on = frameStart(2, tempo);
    const off = frameStart(6, tempo);
    expect(maxAbs(x, 0, on)).toBe(0);
    // The first fifth of a millisecond is well below the note's level a few ms later.
    expect(maxAbs(x, on, on + ms(0.2))).toBeLessThan(0.5 * maxAbs(x, on + ms(3), on + ms(20)));
    // A rest does not cut: the first millisecond after it still sounds...
    const before = maxAbs(x, off - ms(10), off);
    expect(maxAbs(x, off, off + ms(1))).toBeGreaterThan(0.3 * before);
    // ...and within 150 ms it is damped: well below the same note held on
    // (what is left is the room's tail, about 15 dB down).
    const held = t.map((row) => row.slice());
    held[cb].fill(1, 6);
    const y = mono(renderTokens(held, { tempo }));
    expect(maxAbs(x, off + ms(150), off + ms(200))).toBeLessThan(0.3 * maxAbs(y, off + ms(150), off + ms(200)));
  });
});
