/** Shared helpers of the synthesizer tests: token builders and signal measurements. */

import FFT from 'fft.js';
import { YIN } from 'pitchfinder';
import { FRAMES_PER_BAR, SAMPLE_RATE, samplesPerFrame } from '../../src/constants.js';
import {
  type ChordInstrument,
  type DrumVoice,
  encodeBass,
  encodeDrums,
  encodeMelody,
  HOLD,
  NUM_CODEBOOKS,
} from '../../src/model/tinyband/layout.js';
import { rms } from '../helpers/arrays.js';

/** Codebook-major tokens, all silent (no hit, rest, silence, rest). */
export function silentTokens(frames: number): Uint16Array[] {
  return Array.from({ length: NUM_CODEBOOKS }, () => new Uint16Array(frames));
}

/** One drum voice hit every `every` frames. */
export function drumTokens(voice: DrumVoice, frames: number, every: number): Uint16Array[] {
  const t = silentTokens(frames);
  for (let f = 0; f < frames; f += every) t[0][f] = encodeDrums(new Set([voice]));
  return t;
}

/** One bass note at frame 0, held for the rest. */
export function bassNote(pitch: number, frames: number): Uint16Array[] {
  const t = silentTokens(frames);
  t[1].fill(HOLD);
  t[1][0] = encodeBass({ kind: 'note', pitch });
  return t;
}

/** One melody note at frame 0, held for the rest. */
export function melodyNote(instrument: ChordInstrument, pitch: number, frames: number): Uint16Array[] {
  const t = silentTokens(frames);
  t[3].fill(HOLD);
  t[3][0] = encodeMelody({ kind: 'note', instrument, pitch });
  return t;
}

/** Mono sum of a stereo render. */
export function mono(r: { left: Float32Array; right: Float32Array }): Float32Array {
  const out = new Float32Array(r.left.length);
  for (let i = 0; i < out.length; i++) out[i] = 0.5 * (r.left[i] + r.right[i]);
  return out;
}

export { rms };

export function peak(r: { left: Float32Array; right: Float32Array }): number {
  let p = 0;
  for (let i = 0; i < r.left.length; i++) p = Math.max(p, Math.abs(r.left[i]), Math.abs(r.right[i]));
  return p;
}

/**
 * Power spectrum summed over Hann-windowed frames (Welch without the
 * averaging): bin k covers k * sampleRate / size Hz.
 */
export function powerSpectrum(x: Float32Array, size = 4096): Float64Array {
  const fft = new FFT(size);
  const input = new Array<number>(size).fill(0);
  const out = fft.createComplexArray() as number[];
  const power = new Float64Array(size / 2 + 1);
  const window = Array.from({ length: size }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size));
  for (let start = 0; start + size <= x.length; start += size / 2) {
    for (let i = 0; i < size; i++) input[i] = x[start + i] * window[i];
    fft.realTransform(out, input);
    for (let k = 0; k <= size / 2; k++) power[k] += out[2 * k] ** 2 + out[2 * k + 1] ** 2;
  }
  return power;
}

/** Share of the spectrum's energy between lo and hi Hz. */
export function energyShare(x: Float32Array, lo: number, hi: number, sampleRate = SAMPLE_RATE): number {
  const p = powerSpectrum(x);
  const size = (p.length - 1) * 2;
  let inBand = 0;
  let total = 0;
  for (let k = 0; k < p.length; k++) {
    const f = (k * sampleRate) / size;
    total += p[k];
    if (f >= lo && f < hi) inBand += p[k];
  }
  return inBand / total;
}

/** Median over 8192-sample windows of the share of energy above 5 kHz: one long crash cannot carry it, steady hats do (drums in the audio). */
export function medianHighShare(x: Float32Array, size = 8192): number {
  const shares: number[] = [];
  for (let start = 0; start + size <= x.length; start += size) shares.push(energyShare(x.subarray(start, start + size), 5000, 24000) || 0);
  shares.sort((a, b) => a - b);
  return shares[Math.floor(shares.length / 2)];
}

/** Energy above `hz`, summed over the whole signal. */
export function energyAbove(x: Float32Array, hz: number, sampleRate = SAMPLE_RATE): number {
  const p = powerSpectrum(x);
  const size = (p.length - 1) * 2;
  let e = 0;
  for (let k = 0; k < p.length; k++) if ((k * sampleRate) / size >= hz) e += p[k];
  return e;
}

/**
 * Fundamental (Hz) by YIN over `length` samples starting `fromSeconds` in.
 * pitchfinder's YIN analyses half the buffer it is given (so `length` must
 * cover four periods of the lowest pitch) and seeds its normalization with a
 * constant 1, which assumes signals near full scale: the window is scaled to
 * a large RMS first so that constant cannot matter.
 */
export function detectPitch(x: Float32Array, fromSeconds: number, length = 4096): number | null {
  const start = Math.round(fromSeconds * SAMPLE_RATE);
  const window = x.slice(start, start + length);
  const scale = 30 / Math.max(1e-12, rms(window));
  for (let i = 0; i < window.length; i++) window[i] *= scale;
  const detect = YIN({ sampleRate: SAMPLE_RATE, threshold: 0.15 });
  return detect(window);
}

export function midiToHz(midi: number): number {
  return 440 * Math.pow(2, (midi - 69) / 12);
}

/** Distance in semitones between two frequencies. */
export function semitones(a: number, b: number): number {
  return Math.abs(12 * Math.log2(a / b));
}

/** First sample of frame i at a constant tempo, as the contract defines it. */
export function frameStart(i: number, bpm: number): number {
  return Math.round(i * samplesPerFrame(bpm));
}

export const BAR = FRAMES_PER_BAR;
