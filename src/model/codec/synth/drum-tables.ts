/**
 * Pre-filtered noise and "metal" loops for the drum kit.
 *
 * Cymbal and snare sources are stationary signals (noise, detuned square
 * waves) through fixed filters; only their envelopes change from hit to hit.
 * Rendering them once per sample rate into a loop, and reading the loop under
 * each hit's envelope, turns some fifty operations per sample per cymbal into
 * one read and a multiply. The loops are filtered in steady state (the filter
 * runs over the periodic input twice and keeps the second pass), so the wrap
 * point is seamless, and they are long (0.5-2 s) so no repetition is heard
 * under a decaying envelope. Shared, read-only, and built from a fixed seed:
 * every synth at a rate hears the same kit.
 */

import { Biquad } from './biquad.js';
import { NOISE_SCALE, noiseSeed } from './noise.js';

export interface DrumTables {
  /** Closed and open hi-hat: metal + noise above ~7 kHz. */
  readonly hats: Float32Array;
  /** Ride and crash: brighter metal + noise above ~3.8 kHz, gently rolled off at the top. */
  readonly cymbals: Float32Array;
  /** Snare wires: wide band of noise around 3.8 kHz. */
  readonly snare: Float32Array;
  /** Hand clap: noise band around 1.25 kHz. */
  readonly clap: Float32Array;
  /** The whole kick at full velocity: swept sine plus beater click, ending in silence. */
  readonly kick: Float32Array;
}

/** The six square-wave "metal" oscillators of the classic analog hi-hat, Hz. */
const METAL_808 = [205.3, 304.4, 369.6, 522.7, 540, 800];

const cache = new Map<number, DrumTables>();

export function drumTables(sampleRate: number): DrumTables {
  let t = cache.get(sampleRate);
  if (t === undefined) {
    t = build(sampleRate);
    cache.set(sampleRate, t);
  }
  return t;
}

function build(fs: number): DrumTables {
  const len = (seconds: number): number => Math.round(seconds * fs);
  return {
    hats: loop(source(len(0.75), 1.6, 0.45, 0x4a7c15, fs), [hp(7000, fs), hp(7000, fs)]),
    cymbals: loop(source(len(2), 2.1, 0.4, 0x2c1b3e, fs), [hp(3800, fs), hp(3800, fs), new Biquad().setLowpass(12000, 0.707, fs)]),
    snare: loop(source(len(0.5), 1, 1, 0x5a4e, fs), [new Biquad().setBandpass(3800, 0.45, fs)]),
    clap: loop(source(len(0.5), 1, 1, 0xc1a9, fs), [new Biquad().setBandpass(1250, 1.4, fs)]),
    kick: kick(fs),
  };
}

/**
 * An analog-style kick: a sine swept from ~150 Hz down to ~48 Hz (the punch,
 * then the boom) under a 0.6 ms attack ramp and a 0.2 s decay, faded to
 * exactly zero between 0.6 and 1 s, plus 2 ms of low-passed noise for the
 * beater. Every kick has the same shape, so it is computed once.
 */
function kick(fs: number): Float32Array {
  const n = Math.round(fs);
  const out = new Float32Array(n);
  const attack = Math.max(1, Math.round(0.0006 * fs));
  const fadeFrom = Math.round(0.6 * fs);
  const click = new Float64Array(Math.round(0.02 * fs));
  let s = noiseSeed(0xb3a7);
  for (let i = 0; i < click.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    click[i] = s * NOISE_SCALE * Math.exp(-i / (0.0015 * fs));
  }
  new Biquad().setLowpass(1200, 0.5, fs).process(click, click.length);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / fs;
    phase += (48 + 102 * Math.exp(-t / 0.032)) / fs;
    let amp = Math.exp(-t / 0.2) * Math.min(1, (i + 1) / attack);
    if (i >= fadeFrom) amp *= 0.5 + 0.5 * Math.cos((Math.PI * (i - fadeFrom)) / (n - fadeFrom));
    const c = i < click.length ? 0.2 * click[i] : 0;
    out[i] = Math.sin(2 * Math.PI * phase) * amp + c;
  }
  return out;
}

function hp(freq: number, fs: number): Biquad {
  return new Biquad().setHighpass(freq, 0.707, fs);
}

/** `noise` share of white noise, the rest six detuned squares scaled by `metalScale`. */
function source(length: number, metalScale: number, noise: number, seed: number, fs: number): Float64Array {
  const out = new Float64Array(length);
  const incs = METAL_808.map((f) => (f * metalScale) / fs);
  const phases = METAL_808.map(() => 0);
  let s = noiseSeed(seed);
  for (let i = 0; i < length; i++) {
    let metal = 0;
    for (let k = 0; k < 6; k++) {
      phases[k] += incs[k];
      if (phases[k] >= 1) phases[k] -= 1;
      metal += phases[k] < 0.5 ? 1 : -1;
    }
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((1 - noise) * metal) / 6 + noise * s * NOISE_SCALE;
  }
  return out;
}

/** Filters a periodic signal in steady state and normalizes it to unit RMS. */
function loop(input: Float64Array, filters: Biquad[]): Float32Array {
  const n = input.length;
  const work = new Float64Array(n);
  for (let pass = 0; pass < 2; pass++) {
    work.set(input);
    for (const f of filters) f.process(work, n);
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += work[i] * work[i];
  const scale = 1 / Math.sqrt(sum / n || 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = work[i] * scale;
  return out;
}
