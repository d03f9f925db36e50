/**
 * The piano: additive synthesis of a struck string.
 *
 * Each partial is an exponentially damped sinusoid computed by the two-term
 * recursion y[n] = 2 r cos(w) y[n-1] - r^2 y[n-2], which costs two multiplies
 * per sample and gives every partial its own decay for free (no Math.sin,
 * no per-partial envelope). Partials are slightly sharp (string stiffness,
 * f_n = n f0 sqrt(1 + B n^2)) and upper ones die faster; a short burst of
 * filtered noise stands for the hammer, and a fast "prompt" component on top
 * of the slow "aftersound" gives the characteristic two-stage decay.
 *
 * A damper (rest, or the next strike in the same stream) ends a note with a
 * short linear release rather than cutting it.
 */

import { midiToHz } from './pitch.js';
import { Envelope, EnvStage, decayPerSample, t60PerSample } from './envelope.js';
import { NOISE_SCALE, noiseSeed } from './noise.js';

/** Lanes of the unrolled partial loop; a voice uses at most this many partials. */
const MAX_PARTIALS = 8;
/** A partial whose amplitude falls below this (about -100 dB) stops being computed. */
const PARTIAL_FLOOR = 1e-5;
const ATTACK_S = 0.0015;
const HAMMER_S = 0.025;
/** A melody is one voice against a chord's three or four: lift it to sit on top of the comp. */
const LEAD_GAIN = 1.45;

/** Which stream started a voice: the harmony damper must not cut the melody. */
export const enum Stream {
  None = 0,
  Harmony = 1,
  Melody = 2,
}

class PianoVoice {
  readonly env = new Envelope();
  stream: Stream = Stream.None;
  private readonly c = new Float64Array(MAX_PARTIALS);
  private readonly r2 = new Float64Array(MAX_PARTIALS);
  private readonly y1 = new Float64Array(MAX_PARTIALS);
  private readonly y2 = new Float64Array(MAX_PARTIALS);
  /** Initial amplitude and per-sample decay of each partial, to know when it has faded. */
  private readonly amp = new Float64Array(MAX_PARTIALS);
  private readonly r = new Float64Array(MAX_PARTIALS);
  private count = 0;
  private age = 0;
  private delayLeft = 0;
  private gain = 0;
  private prompt = 0;
  private readonly promptK: number;
  private hammer = 0;
  private hammerLeft = 0;
  private readonly hammerK: number;
  private hammerLp = 0;
  private hammerA = 0.3;
  private noise = 1;

  constructor(private readonly sampleRate: number) {
    this.promptK = decayPerSample(0.22, sampleRate);
    this.hammerK = decayPerSample(0.004, sampleRate);
  }

  get active(): boolean {
    return this.env.active;
  }

  start(pitch: number, velocity: number, stream: Stream, delay: number, seed: number): void {
    const fs = this.sampleRate;
    const f0 = midiToHz(pitch);
    // Stiffness grows toward the treble, as on a real piano.
    const inharmonicity = 0.00009 * Math.pow(2, (pitch - 48) / 18);
    // Low notes ring for many seconds, high ones for a couple.
    const t60 = Math.min(9, Math.max(1.6, 9 * Math.pow(110 / f0, 0.6)));
    // Harder strikes are brighter: upper partials fall off less.
    const tilt = 0.42 + 0.3 * velocity;
    const wanted = Math.max(3, Math.min(MAX_PARTIALS, Math.floor(3600 / f0)));
    let count = 0;
    let sum = 0;
    for (let k = 1; k <= wanted; k++) {
      const f = k * f0 * Math.sqrt(1 + inharmonicity * k * k);
      if (f > fs * 0.45) break;
      const w = (2 * Math.PI * f) / fs;
      const rk = t60PerSample(t60 / (1 + 0.55 * Math.pow(k - 1, 1.15)), fs);
      const a = Math.pow(tilt, k - 1) / Math.pow(k, 0.7);
      this.c[count] = 2 * rk * Math.cos(w);
      this.r2[count] = rk * rk;
      this.r[count] = rk;
      this.amp[count] = a;
      // Start at phase 0 so the waveform begins at zero: y[-1] = 0, y[-2] = -a sin(w) / r.
      this.y1[count] = 0;
      this.y2[count] = (-a * Math.sin(w)) / rk;
      sum += a;
      count++;
    }
    for (let p = 0; p < count; p++) {
      this.amp[p] /= sum;
      this.y2[p] /= sum;
    }
    this.clearLanes(count);
    this.count = count;
    this.age = 0;
    this.delayLeft = Math.max(0, Math.round(delay));
    this.gain = (0.2 + 0.8 * velocity) * (stream === Stream.Melody ? LEAD_GAIN : 1);
    this.stream = stream;
    this.prompt = 1;
    this.hammer = 0.05 + 0.09 * velocity;
    this.hammerLeft = Math.round(HAMMER_S * fs);
    this.hammerA = 1 - Math.exp((-2 * Math.PI * (1500 + 2500 * velocity)) / fs);
    this.hammerLp = 0;
    this.noise = noiseSeed(seed);
    this.env.stop();
    this.env.trigger({ delay: this.delayLeft, attack: ATTACK_S * fs, peak: 1, decayCoef: 1, sustain: 1 });
  }

  /** Zeroes partial lanes from `from` on, so the unrolled loops add nothing for them. */
  private clearLanes(from: number): void {
    for (let p = from; p < MAX_PARTIALS; p++) {
      this.c[p] = 0;
      this.r2[p] = 0;
      this.y1[p] = 0;
      this.y2[p] = 0;
      this.amp[p] = 0;
      this.r[p] = 0;
    }
  }

  damp(seconds: number): void {
    this.env.release(seconds * this.sampleRate);
  }

  /** Frame-start housekeeping: stop computing partials that have faded away. */
  cull(): void {
    if (!this.env.active) return;
    let p = 0;
    while (p < this.count) {
      if (this.amp[p] * Math.pow(this.r[p], this.age) < PARTIAL_FLOOR) {
        const last = --this.count;
        this.c[p] = this.c[last];
        this.r2[p] = this.r2[last];
        this.y1[p] = this.y1[last];
        this.y2[p] = this.y2[last];
        this.amp[p] = this.amp[last];
        this.r[p] = this.r[last];
        this.clearLanes(last);
      } else p++;
    }
    if (this.count === 0) this.env.stop();
  }

  render(bus: Float64Array, envBuf: Float64Array, n: number): void {
    const steady = this.env.steadyLevel();
    if (steady < 0) this.env.render(envBuf, n);
    else envBuf.fill(steady, 0, n);
    const start = Math.min(n, this.delayLeft);
    this.delayLeft -= start;
    const m = n - start;
    if (m === 0) return;
    if (this.count > 4) this.render8(bus, envBuf, start, n);
    else this.render4(bus, envBuf, start, n);
    if (this.hammerLeft > 0) {
      const h = Math.min(m, this.hammerLeft);
      let level = this.hammer;
      const g = this.gain;
      let lp = this.hammerLp;
      let s = this.noise;
      const k = this.hammerK;
      const ha = this.hammerA;
      for (let i = start; i < start + h; i++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        lp += ha * (s * NOISE_SCALE - lp);
        bus[i] += lp * level * g * envBuf[i];
        level *= k;
      }
      this.hammer = level;
      this.hammerLp = lp;
      this.noise = s;
      this.hammerLeft -= h;
    }
    this.age += m;
  }

  /*
   * All partials of the voice advance in one pass: the recursions are
   * independent, so the CPU overlaps them instead of waiting on each one's
   * multiply-subtract chain, and the voice's output is touched once per
   * sample. Lanes past `count` hold zeros and stay zero.
   */

  private render8(bus: Float64Array, envBuf: Float64Array, start: number, n: number): void {
    const c = this.c;
    const r2 = this.r2;
    const y1 = this.y1;
    const y2 = this.y2;
    const c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], c4 = c[4], c5 = c[5], c6 = c[6], c7 = c[7];
    const q0 = r2[0], q1 = r2[1], q2 = r2[2], q3 = r2[3], q4 = r2[4], q5 = r2[5], q6 = r2[6], q7 = r2[7];
    let a0 = y1[0], a1 = y1[1], a2 = y1[2], a3 = y1[3], a4 = y1[4], a5 = y1[5], a6 = y1[6], a7 = y1[7];
    let b0 = y2[0], b1 = y2[1], b2 = y2[2], b3 = y2[3], b4 = y2[4], b5 = y2[5], b6 = y2[6], b7 = y2[7];
    let prompt = this.prompt;
    const pk = this.promptK;
    const g = this.gain;
    for (let i = start; i < n; i++) {
      const x0 = c0 * a0 - q0 * b0;
      const x1 = c1 * a1 - q1 * b1;
      const x2 = c2 * a2 - q2 * b2;
      const x3 = c3 * a3 - q3 * b3;
      const x4 = c4 * a4 - q4 * b4;
      const x5 = c5 * a5 - q5 * b5;
      const x6 = c6 * a6 - q6 * b6;
      const x7 = c7 * a7 - q7 * b7;
      b0 = a0; b1 = a1; b2 = a2; b3 = a3; b4 = a4; b5 = a5; b6 = a6; b7 = a7;
      a0 = x0; a1 = x1; a2 = x2; a3 = x3; a4 = x4; a5 = x5; a6 = x6; a7 = x7;
      // 45 % of the level is a fast prompt decay over the slow aftersound.
      bus[i] += (x0 + x1 + (x2 + x3) + (x4 + x5 + (x6 + x7))) * envBuf[i] * g * (0.55 + 0.45 * prompt);
      prompt *= pk;
    }
    y1[0] = a0; y1[1] = a1; y1[2] = a2; y1[3] = a3; y1[4] = a4; y1[5] = a5; y1[6] = a6; y1[7] = a7;
    y2[0] = b0; y2[1] = b1; y2[2] = b2; y2[3] = b3; y2[4] = b4; y2[5] = b5; y2[6] = b6; y2[7] = b7;
    this.prompt = prompt;
  }

  private render4(bus: Float64Array, envBuf: Float64Array, start: number, n: number): void {
    const c = this.c;
    const r2 = this.r2;
    const y1 = this.y1;
    const y2 = this.y2;
    const c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
    const q0 = r2[0], q1 = r2[1], q2 = r2[2], q3 = r2[3];
    let a0 = y1[0], a1 = y1[1], a2 = y1[2], a3 = y1[3];
    let b0 = y2[0], b1 = y2[1], b2 = y2[2], b3 = y2[3];
    let prompt = this.prompt;
    const pk = this.promptK;
    const g = this.gain;
    for (let i = start; i < n; i++) {
      const x0 = c0 * a0 - q0 * b0;
      const x1 = c1 * a1 - q1 * b1;
      const x2 = c2 * a2 - q2 * b2;
      const x3 = c3 * a3 - q3 * b3;
      b0 = a0; b1 = a1; b2 = a2; b3 = a3;
      a0 = x0; a1 = x1; a2 = x2; a3 = x3;
      bus[i] += (x0 + x1 + (x2 + x3)) * envBuf[i] * g * (0.55 + 0.45 * prompt);
      prompt *= pk;
    }
    y1[0] = a0; y1[1] = a1; y1[2] = a2; y1[3] = a3;
    y2[0] = b0; y2[1] = b1; y2[2] = b2; y2[3] = b3;
    this.prompt = prompt;
  }
}

/** The velocity of tone `i` (low to high) of a `count`-note piano chord struck at `velocity`: the top voice sings a little over the rest. */
export function chordToneVelocity(velocity: number, i: number, count: number): number {
  return i === count - 1 && count > 1 ? Math.min(1, velocity * 1.08) : velocity * 0.94;
}

/** A pool of piano voices shared by the harmony and melody streams. */
export class Piano {
  private readonly voices: PianoVoice[] = [];
  private next = 0;

  constructor(private readonly sampleRate: number) {
    for (let i = 0; i < 16; i++) this.voices.push(new PianoVoice(sampleRate));
  }

  /** Plays `pitches` for `stream`; `spreadSeconds` rolls the chord slightly, low to high. */
  play(pitches: readonly number[], velocity: number, stream: Stream, spreadSeconds: number, seed: number): void {
    pitches.forEach((pitch, i) => {
      const v = this.freeVoice();
      v.start(pitch, chordToneVelocity(velocity, i, pitches.length), stream, i * spreadSeconds * this.sampleRate, (seed + i * 0x9e3779b9) | 0);
    });
  }

  /** Dampers down on everything `stream` has sounding. */
  damp(stream: Stream, seconds: number): void {
    for (const v of this.voices) if (v.active && v.stream === stream) v.damp(seconds);
  }

  cull(): void {
    for (const v of this.voices) v.cull();
  }

  get active(): boolean {
    return this.voices.some((v) => v.active);
  }

  render(bus: Float64Array, envBuf: Float64Array, n: number): void {
    for (const v of this.voices) if (v.active) v.render(bus, envBuf, n);
  }

  reset(): void {
    for (const v of this.voices) v.env.stop();
    this.next = 0;
  }

  private freeVoice(): PianoVoice {
    const free = this.voices.find((v) => !v.active);
    if (free !== undefined) return free;
    // Every voice busy: take the quietest releasing one, else round-robin.
    let best: PianoVoice | null = null;
    for (const v of this.voices) if (v.env.stage === EnvStage.Release && (best === null || v.env.level < best.env.level)) best = v;
    if (best !== null) return best;
    const v = this.voices[this.next];
    this.next = (this.next + 1) % this.voices.length;
    return v;
  }
}
