/**
 * The bass: a monophonic subtractive voice. A band-limited saw (polyBLEP)
 * plus a triangle at the fundamental for weight, through a resonant low-pass
 * (Simper's trapezoidal state-variable filter) whose cutoff follows the pitch
 * and opens briefly on each note, then a gentle saturation so the bass stays
 * audible on small speakers.
 *
 * A note-on while a note sounds is legato: the pitch glides over a few
 * milliseconds and the filter re-opens, but the amplitude does not restart.
 * A rest releases. Two voices exist only so a release can finish while the
 * next detached note starts. A legato note with `sync` (a loop's seam) starts
 * its oscillator at phase 0 like a detached one: a held oscillator's phase
 * is the one state that never settles, and without this each repetition of
 * a loop would differ in it.
 */

import { Envelope, EnvStage, decayPerSample } from './envelope.js';
import { midiToHz } from './pitch.js';

const ATTACK_S = 0.003;
const RELEASE_S = 0.045;
/** Filter updates every 16 samples (a third of a millisecond). */
const CONTROL_MASK = 15;
/** Filter resonance as 1/Q. */
const DAMPING = 0.9;

class BassVoice {
  readonly env = new Envelope();
  private phase = 0;
  private inc = 0;
  private targetInc = 0;
  private readonly glideK: number;
  private fenv = 0;
  private readonly fenvK: number;
  private cutoffBase = 200;
  private cutoffAmount = 1000;
  private ic1 = 0;
  private ic2 = 0;
  /** Filter coefficients, refreshed every CONTROL samples of the voice's own clock. */
  private a1 = 1;
  private a2 = 0;
  private a3 = 0;
  private age = 0;
  private gain = 0;
  private readonly piOverFs: number;
  private readonly maxCutoff: number;

  constructor(private readonly sampleRate: number) {
    this.glideK = 1 - decayPerSample(0.006, sampleRate);
    this.fenvK = decayPerSample(0.11, sampleRate);
    this.piOverFs = Math.PI / sampleRate;
    this.maxCutoff = Math.min(6000, sampleRate * 0.2);
  }

  get active(): boolean {
    return this.env.active;
  }

  start(pitch: number, velocity: number, legato: boolean, sync = false): void {
    const f0 = midiToHz(pitch);
    this.targetInc = f0 / this.sampleRate;
    if (sync) this.phase = 0;
    if (!legato) {
      this.age = 0;
      this.phase = 0;
      this.inc = this.targetInc;
      this.ic1 = 0;
      this.ic2 = 0;
      this.env.stop();
    }
    this.cutoffBase = 90 + 2.2 * f0;
    this.cutoffAmount = 500 + 1500 * velocity;
    this.fenv = legato ? Math.max(this.fenv, 0.7) : 1;
    this.gain = 0.5 + 0.5 * velocity;
    this.env.trigger({ delay: 0, attack: ATTACK_S * this.sampleRate, peak: 1, decayCoef: decayPerSample(0.4, this.sampleRate), sustain: 0.72 });
  }

  release(): void {
    this.env.release(RELEASE_S * this.sampleRate);
  }

  render(bus: Float64Array, envBuf: Float64Array, n: number): void {
    this.env.render(envBuf, n);
    let phase = this.phase;
    let inc = this.inc;
    let fenv = this.fenv;
    let ic1 = this.ic1;
    let ic2 = this.ic2;
    let a1 = this.a1;
    let a2 = this.a2;
    let a3 = this.a3;
    let age = this.age;
    const target = this.targetInc;
    const glideK = this.glideK;
    const fenvK = this.fenvK;
    const base = this.cutoffBase;
    const amount = this.cutoffAmount;
    const maxFc = this.maxCutoff;
    const piOverFs = this.piOverFs;
    const gain = this.gain;
    for (let i = 0; i < n; i++) {
      if (inc !== target) {
        inc += (target - inc) * glideK;
        // The approach stalls a few ulps short: land on the target exactly.
        if (Math.abs(target - inc) < 1e-12) inc = target;
      }
      phase += inc;
      if (phase >= 1) phase -= 1;
      // polyBLEP removes the saw's aliasing at the wrap.
      let saw = 2 * phase - 1;
      if (phase < inc) {
        const x = phase / inc;
        saw -= x + x - x * x - 1;
      } else if (phase > 1 - inc) {
        const x = (phase - 1) / inc;
        saw -= x * x + x + x + 1;
      }
      // A triangle under the saw for weight; the filter rounds it to near-sine.
      const tri = phase < 0.5 ? 4 * phase - 1 : 3 - 4 * phase;
      const src = 0.45 * saw + 0.85 * tri;
      // The cutoff moves slowly: recompute the filter every CONTROL samples,
      // counted on the voice's own clock so block sizes cannot change it.
      if ((age & CONTROL_MASK) === 0) {
        let fc = base + amount * fenv;
        if (fc > maxFc) fc = maxFc;
        // tan(x) by its series: x <= 0.4 here, error well under 0.1 %.
        const w = fc * piOverFs;
        const w2 = w * w;
        const g = w * (1 + w2 * (0.3333333333 + w2 * 0.1333333333));
        a1 = 1 / (1 + g * (g + DAMPING));
        a2 = g * a1;
        a3 = g * a2;
      }
      age++;
      fenv *= fenvK;
      const v3 = src - ic2;
      const v1 = a1 * ic1 + a2 * v3;
      const v2 = ic2 + a2 * ic1 + a3 * v3;
      ic1 = 2 * v1 - ic1;
      ic2 = 2 * v2 - ic2;
      // Cubic soft clip: warm, and bounded for any resonance peak.
      let y = v2 * 0.8;
      if (y > 1) y = 1;
      else if (y < -1) y = -1;
      y = 1.5 * y - 0.5 * y * y * y;
      bus[i] += y * envBuf[i] * gain;
    }
    this.phase = phase;
    this.inc = inc;
    this.fenv = fenv;
    this.ic1 = ic1;
    this.ic2 = ic2;
    this.a1 = a1;
    this.a2 = a2;
    this.a3 = a3;
    this.age = age;
  }
}

export class Bass {
  private readonly voices: BassVoice[];
  /** The voice the stream is currently sounding, if any. */
  private current: BassVoice | null = null;

  constructor(sampleRate: number) {
    this.voices = [new BassVoice(sampleRate), new BassVoice(sampleRate)];
  }

  noteOn(pitch: number, velocity: number, sync = false): void {
    const cur = this.current;
    if (cur !== null && cur.active && cur.env.stage !== EnvStage.Release) {
      cur.start(pitch, velocity, true, sync);
      return;
    }
    const free = this.voices.find((v) => !v.active);
    if (free !== undefined) {
      free.start(pitch, velocity, false);
      this.current = free;
      return;
    }
    // Both still releasing (only possible at very short frames): reuse one
    // without resetting its phase, so the takeover cannot click.
    const voice = this.voices[0] === cur ? this.voices[1] : this.voices[0];
    voice.start(pitch, velocity, true);
    this.current = voice;
  }

  rest(): void {
    if (this.current !== null) this.current.release();
    this.current = null;
  }

  get active(): boolean {
    return this.voices[0].active || this.voices[1].active;
  }

  render(bus: Float64Array, envBuf: Float64Array, n: number): void {
    for (const v of this.voices) if (v.active) v.render(bus, envBuf, n);
  }

  reset(): void {
    for (const v of this.voices) v.env.stop();
    this.current = null;
  }
}
