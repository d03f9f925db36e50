/**
 * The guitar: Karplus-Strong plucked strings.
 *
 * A delay line one period long is filled with a burst of filtered noise (the
 * pluck) and fed back through a loop filter: a two-tap lowpass (strings lose
 * their highs first) convolved with a second-order Lagrange fractional delay.
 * The integer delay line can only hold whole samples, so the interpolator
 * makes up the fractional rest of the period (without it high notes would be
 * tens of cents flat). Being a 4-tap FIR rather than an allpass, the loop has
 * no sample-to-sample recursion outside the delay line, which keeps it fast.
 *
 * Chords are strummed: each string starts a few ms after the previous one,
 * low to high on a down-stroke and back on an up-stroke.
 */

import { midiToHz } from './pitch.js';
import { Biquad } from './biquad.js';
import { Envelope, EnvStage } from './envelope.js';
import { NOISE_SCALE, noiseSeed } from './noise.js';
import { Stream } from './piano.js';

const ATTACK_S = 0.0008;
/**
 * The loop low-pass is x[n] (1 - s) + x[n-1] s, which delays by s samples.
 * Karplus and Strong's average (s = 1/2) is right at 48 kHz; at the half
 * rate this guitar runs at (see buses.ts) it would damp the highs twice as
 * fast per second, so the taps are lopsided to keep a full-bodied string.
 */
const LOWPASS_DELAY = 0.15;
/**
 * A melody is one string against a strum of four to six, and a high string
 * rings shorter: lift it to sit on top of the comp.
 */
const LEAD_GAIN = 2.3;
/** Below about -100 dB the string is silent for our purposes. */
const FLOOR = 1e-5;

class GuitarString {
  readonly env = new Envelope();
  stream: Stream = Stream.None;
  private readonly buf: Float64Array;
  private readonly excitation: Float64Array;
  private readonly body: Biquad[];
  private readonly mask: number;
  private w = 0;
  private length = 1;
  /** Loop filter taps, already scaled by the per-period loss. */
  private h0 = 0;
  private h1 = 0;
  private h2 = 0;
  private h3 = 0;
  /** The three previous delay-line reads (the FIR's memory). */
  private x1 = 0;
  private x2 = 0;
  private x3 = 0;
  private delayLeft = 0;
  private gain = 0;
  /** Per-sample decay of the fundamental, to know when the string has died. */
  private perSample = 1;
  private age = 0;

  constructor(private readonly sampleRate: number) {
    // Long enough for the lowest string (E2, ~82 Hz) at this sample rate.
    let size = 1;
    while (size < sampleRate / 70 + 4) size <<= 1;
    this.buf = new Float64Array(size);
    this.excitation = new Float64Array(size);
    this.mask = size - 1;
    this.body = [new Biquad().setPeaking(200, 1.1, 4, sampleRate), new Biquad().setLowpass(5000, 0.6, sampleRate)];
  }

  get active(): boolean {
    return this.env.active;
  }

  start(pitch: number, velocity: number, stream: Stream, delay: number, seed: number): void {
    const fs = this.sampleRate;
    const f0 = midiToHz(pitch);
    const period = fs / f0;
    // period = integer delay + LOWPASS_DELAY + d (Lagrange), with d kept in
    // [0.5, 1.5): there the interpolator is accurate and its gain <= 1.
    const length = Math.min(this.mask - 4, Math.floor(period - LOWPASS_DELAY - 0.5));
    const d = period - LOWPASS_DELAY - length;
    this.length = length;
    const t60 = Math.min(5, Math.max(0.9, 4.5 * Math.pow(110 / f0, 0.7)));
    const loss = Math.pow(10, (-3 * period) / (t60 * fs));
    const l0 = ((d - 1) * (d - 2)) / 2;
    const l1 = -d * (d - 2);
    const l2 = (d * (d - 1)) / 2;
    const a = 1 - LOWPASS_DELAY;
    const b = LOWPASS_DELAY;
    this.h0 = a * l0 * loss;
    this.h1 = (a * l1 + b * l0) * loss;
    this.h2 = (a * l2 + b * l1) * loss;
    this.h3 = b * l2 * loss;
    this.perSample = Math.pow(10, -3 / (t60 * fs));
    this.age = 0;
    this.gain = (0.45 + 0.55 * velocity) * (stream === Stream.Melody ? LEAD_GAIN : 1);
    this.stream = stream;
    this.delayLeft = Math.max(0, Math.round(delay));

    // The pluck: noise, low-passed (softer for quieter plucks), coloured by
    // the guitar body (a warm bump near 200 Hz, a soft top) and with its DC
    // removed so the string does not thump, written as the last period.
    // Colouring the pluck rather than the output costs nothing per sample:
    // the string keeps the spectrum it was plucked with, only decaying.
    const exc = this.excitation;
    // The loop reads length..length+3 samples back: fill all of them.
    const fill = length + 3;
    let s = noiseSeed(seed);
    const bright = 0.5 + 0.4 * velocity;
    let lp = 0;
    for (let i = 0; i < fill; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      lp += bright * (s * NOISE_SCALE - lp);
      exc[i] = lp;
    }
    for (const f of this.body) {
      f.reset();
      f.process(exc, fill);
    }
    let mean = 0;
    for (let i = 0; i < fill; i++) mean += exc[i];
    mean /= fill;
    let peak = 1e-9;
    for (let i = 0; i < fill; i++) peak = Math.max(peak, Math.abs(exc[i] - mean));
    const scale = 1 / peak;
    const mask = this.mask;
    const start = (this.w - fill) & mask;
    for (let i = 0; i < fill; i++) this.buf[(start + i) & mask] = (exc[i] - mean) * scale;
    this.x1 = this.buf[(this.w - length - 1) & mask];
    this.x2 = this.buf[(this.w - length - 2) & mask];
    this.x3 = this.buf[(this.w - length - 3) & mask];
    this.env.stop();
    this.env.trigger({ delay: this.delayLeft, attack: ATTACK_S * fs, peak: 1, decayCoef: 1, sustain: 1 });
  }

  damp(seconds: number): void {
    this.env.release(seconds * this.sampleRate);
  }

  cull(): void {
    if (this.env.active && this.env.stage !== EnvStage.Delay && Math.pow(this.perSample, this.age) < FLOOR) this.env.stop();
  }

  render(bus: Float64Array, envBuf: Float64Array, n: number): void {
    const steady = this.env.steadyLevel();
    if (steady < 0) this.env.render(envBuf, n);
    const start = Math.min(n, this.delayLeft);
    this.delayLeft -= start;
    if (start === n) return;
    const buf = this.buf;
    const mask = this.mask;
    const length = this.length;
    const h0 = this.h0;
    const h1 = this.h1;
    const h2 = this.h2;
    const h3 = this.h3;
    const g = this.gain;
    let w = this.w;
    let x1 = this.x1;
    let x2 = this.x2;
    let x3 = this.x3;
    if (steady >= 0) {
      const gs = g * steady;
      for (let i = start; i < n; i++) {
        const x0 = buf[(w - length) & mask];
        const y = h0 * x0 + h1 * x1 + h2 * x2 + h3 * x3;
        x3 = x2;
        x2 = x1;
        x1 = x0;
        buf[w] = y;
        w = (w + 1) & mask;
        bus[i] += y * gs;
      }
    } else {
      for (let i = start; i < n; i++) {
        const x0 = buf[(w - length) & mask];
        const y = h0 * x0 + h1 * x1 + h2 * x2 + h3 * x3;
        x3 = x2;
        x2 = x1;
        x1 = x0;
        buf[w] = y;
        w = (w + 1) & mask;
        bus[i] += y * envBuf[i] * g;
      }
    }
    this.w = w;
    this.x1 = x1;
    this.x2 = x2;
    this.x3 = x3;
    this.age += n - start;
  }
}

export class Guitar {
  private readonly strings: GuitarString[] = [];
  private next = 0;

  constructor(private readonly sampleRate: number) {
    for (let i = 0; i < 16; i++) this.strings.push(new GuitarString(sampleRate));
  }

  /**
   * Plays `pitches` (low to high) for `stream`. `strumSeconds` is the gap
   * between strings; `down` strums low to high, otherwise high to low.
   * `jitter` (0..1 values, one per string) varies the gaps and levels a little.
   */
  play(pitches: readonly number[], velocity: number, stream: Stream, strumSeconds: number, down: boolean, jitter: readonly number[], seed: number): void {
    const n = pitches.length;
    let t = 0;
    for (let k = 0; k < n; k++) {
      const i = down ? k : n - 1 - k;
      const j = jitter[k % jitter.length];
      const s = this.freeString();
      // On a down-stroke the pick digs into the low strings a bit more.
      const tilt = down ? 1 - (0.12 * i) / Math.max(1, n - 1) : 0.85 + (0.1 * i) / Math.max(1, n - 1);
      s.start(pitches[i], Math.min(1, velocity * tilt * (0.93 + 0.14 * j)), stream, t * this.sampleRate, (seed + k * 0x9e3779b9) | 0);
      t += strumSeconds * (0.75 + 0.5 * j);
    }
  }

  damp(stream: Stream, seconds: number): void {
    for (const s of this.strings) if (s.active && s.stream === stream) s.damp(seconds);
  }

  cull(): void {
    for (const s of this.strings) s.cull();
  }

  get active(): boolean {
    return this.strings.some((s) => s.active);
  }

  render(bus: Float64Array, envBuf: Float64Array, n: number): void {
    for (const s of this.strings) if (s.active) s.render(bus, envBuf, n);
  }

  reset(): void {
    for (const s of this.strings) s.env.stop();
    this.next = 0;
  }

  private freeString(): GuitarString {
    const free = this.strings.find((s) => !s.active);
    if (free !== undefined) return free;
    let best: GuitarString | null = null;
    for (const s of this.strings) if (s.env.stage === EnvStage.Release && (best === null || s.env.level < best.env.level)) best = s;
    if (best !== null) return best;
    const s = this.strings[this.next];
    this.next = (this.next + 1) % this.strings.length;
    return s;
  }
}
