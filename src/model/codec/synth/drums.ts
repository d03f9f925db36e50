/**
 * The drum kit: kick, snare, clap, closed and open hi-hat, ride and crash,
 * all synthesized (no samples), in the spirit of the analog drum machines.
 *
 * Kick, snare and clap have two voices each: a new hit starts a fresh voice
 * and chokes the ringing one with a few-millisecond fade, so a fast repeat
 * neither clicks nor restarts a sweep in the middle of a waveform.
 * The cymbals are loops of pre-filtered metal and noise (drum-tables.ts)
 * under envelopes that a new hit adds to, like striking a cymbal that still
 * rings. The two hats share one loop (they are the same pair of cymbals, open
 * or pressed shut, and the closed hat chokes the open one); ride and crash
 * share another. Voices add straight into four group buses (kick, snares,
 * hats, cymbals), each placed in the stereo field once per chunk.
 */

import type { DrumVoice } from '../../tinyband/layout.js';
import { type DrumMixer, Group, type Placement, placement } from './buses.js';
import { type DrumTables, drumTables } from './drum-tables.js';
import { decayPerSample } from './envelope.js';

/** Voices are dropped once their level is below this (about -90 dB). */
const SILENT = 3e-5;
/** Fade of a voice cut off by a new hit (choke), seconds. */
const CHOKE_SECONDS = 0.004;

// ------------------------------------------------------------------ kick

class Kick {
  active = false;
  private pos = 0;
  private level = 0;
  /** 1 while ringing; decays fast once a new kick chokes this one. */
  private gate = 1;
  private gateK = 1;
  private readonly chokeK: number;
  private readonly table: Float32Array;

  constructor(sampleRate: number, tables: DrumTables) {
    this.chokeK = decayPerSample(CHOKE_SECONDS, sampleRate);
    this.table = tables.kick;
  }

  trigger(velocity: number): void {
    this.active = true;
    this.pos = 0;
    this.level = velocity;
    this.gate = 1;
    this.gateK = 1;
  }

  choke(): void {
    this.gateK = this.chokeK;
  }

  cull(): void {
    if (this.pos >= this.table.length || this.gate * this.level < SILENT) this.active = false;
  }

  /** Adds n samples times `gain` onto out[0..n). */
  render(out: Float64Array, n: number, gain: number): void {
    const table = this.table;
    const m = Math.min(n, table.length - this.pos);
    const g = this.level * gain;
    let pos = this.pos;
    if (this.gateK === 1) {
      for (let i = 0; i < m; i++) out[i] += table[pos++] * g;
    } else {
      let gate = this.gate;
      const k = this.gateK;
      for (let i = 0; i < m; i++) {
        out[i] += table[pos++] * g * gate;
        gate *= k;
      }
      this.gate = gate;
    }
    this.pos = pos;
  }
}

// ------------------------------------------------------------------ snare

interface Mode {
  c: number;
  r2: number;
  r: number;
  /** sin(w) / r: sets y[-2] so the mode starts at phase 0. */
  s: number;
}

/**
 * A drum-head mode: an exponentially decaying sinusoid by the two-term
 * recursion, two multiplies a sample with the decay built in.
 */
function modeCoefs(freq: number, decaySeconds: number, sampleRate: number): Mode {
  const r = decayPerSample(decaySeconds, sampleRate);
  const w = (2 * Math.PI * freq) / sampleRate;
  return { c: 2 * r * Math.cos(w), r2: r * r, r, s: Math.sin(w) / r };
}

class Snare {
  active = false;
  // Two modes of the drum head (~185 and ~330 Hz).
  private a1 = 0;
  private a2 = 0;
  private b1 = 0;
  private b2 = 0;
  private readonly ma: Mode;
  private readonly mb: Mode;
  private tone = 0;
  private age = 0;
  /** The snare wires: band-passed noise under its own decay. */
  private snap = 0;
  private readonly snapK: number;
  private pos = 0;
  private readonly table: Float32Array;
  /** Attack ramp up to 1, and the choke fade down from it. */
  private gate = 0;
  private gateInc = 0;
  private gateK = 1;
  private readonly chokeK: number;
  private readonly attack: number;

  constructor(sampleRate: number, tables: DrumTables) {
    this.ma = modeCoefs(185, 0.05, sampleRate);
    this.mb = modeCoefs(330, 0.035, sampleRate);
    this.snapK = decayPerSample(0.11, sampleRate);
    this.chokeK = decayPerSample(CHOKE_SECONDS, sampleRate);
    this.attack = Math.max(1, Math.round(0.0005 * sampleRate));
    this.table = tables.snare;
  }

  trigger(velocity: number, offset: number): void {
    this.active = true;
    // Start both modes at phase 0 (y[-1] = 0, y[-2] = -A sin(w) / r).
    this.a1 = 0;
    this.a2 = -0.55 * velocity * this.ma.s;
    this.b1 = 0;
    this.b2 = -0.33 * velocity * this.mb.s;
    this.tone = 0.88 * velocity;
    this.age = 0;
    this.snap = 0.3 * velocity;
    this.pos = offset % this.table.length;
    this.gate = 0;
    this.gateInc = 1 / this.attack;
    this.gateK = 1;
  }

  choke(): void {
    this.gateInc = 0;
    this.gateK = this.chokeK;
  }

  cull(): void {
    // The slower mode bounds the drum head's ring.
    const tone = this.tone * Math.pow(this.ma.r, this.age);
    if (this.gateInc === 0 && this.gate * (this.snap + tone) < SILENT) this.active = false;
  }

  render(out: Float64Array, n: number, gain: number): void {
    let a1 = this.a1;
    let a2 = this.a2;
    let b1 = this.b1;
    let b2 = this.b2;
    const ca = this.ma.c;
    const ra = this.ma.r2;
    const cb = this.mb.c;
    const rb = this.mb.r2;
    let snap = this.snap;
    const snapK = this.snapK;
    const table = this.table;
    const len = table.length;
    let pos = this.pos;
    let gate = this.gate;
    const ginc = this.gateInc;
    const gk = this.gateK;
    for (let i = 0; i < n; i++) {
      const a = ca * a1 - ra * a2;
      a2 = a1;
      a1 = a;
      const b = cb * b1 - rb * b2;
      b2 = b1;
      b1 = b;
      const wires = table[pos] * snap;
      if (++pos === len) pos = 0;
      snap *= snapK;
      if (ginc > 0) {
        gate += ginc;
        if (gate > 1) gate = 1;
      } else gate *= gk;
      out[i] += (a + b + wires) * gate * gain;
    }
    if (gate >= 1) this.gateInc = 0;
    this.age += n;
    this.a1 = a1;
    this.a2 = a2;
    this.b1 = b1;
    this.b2 = b2;
    this.snap = snap;
    this.pos = pos;
    this.gate = gate;
  }
}

// ------------------------------------------------------------------ clap

class Clap {
  active = false;
  private t = 0;
  private level = 0;
  private peak = 0;
  private k = 1;
  private readonly burstK: number;
  private readonly tailK: number;
  private readonly chokeK: number;
  private readonly burstLen: number;
  private readonly tailStart: number;
  private choked = false;
  private rising = 0;
  private riseInc = 0;
  private pos = 0;
  private readonly table: Float32Array;

  constructor(sampleRate: number, tables: DrumTables) {
    this.burstK = decayPerSample(0.0035, sampleRate);
    this.tailK = decayPerSample(0.075, sampleRate);
    this.chokeK = decayPerSample(CHOKE_SECONDS, sampleRate);
    this.burstLen = Math.round(0.0085 * sampleRate);
    this.tailStart = 4 * this.burstLen;
    this.table = tables.clap;
  }

  trigger(velocity: number, offset: number): void {
    this.active = true;
    this.t = 0;
    this.level = 0;
    this.peak = 0.5 * velocity;
    this.k = this.burstK;
    this.choked = false;
    this.pos = offset % this.table.length;
  }

  choke(): void {
    this.choked = true;
    this.k = this.chokeK;
  }

  cull(): void {
    if ((this.choked || this.t > this.tailStart) && this.level < SILENT) this.active = false;
  }

  render(out: Float64Array, n: number, gain: number): void {
    let t = this.t;
    let level = this.level;
    let k = this.k;
    let pos = this.pos;
    const table = this.table;
    const len = table.length;
    const burstLen = this.burstLen;
    const tailStart = this.tailStart;
    const choked = this.choked;
    // Each burst rises over a quarter millisecond so the restarts do not click.
    const rise = Math.max(1, Math.round(burstLen / 34));
    let rising = this.rising;
    let riseInc = this.riseInc;
    for (let i = 0; i < n; i++) {
      // Several hands a few ms apart, then the room: the level restarts at
      // each burst, then a longer tail.
      if (!choked && t <= tailStart && t % burstLen === 0) {
        const target = t === tailStart ? this.peak * 0.8 : this.peak;
        k = t === tailStart ? this.tailK : this.burstK;
        rising = rise;
        riseInc = (target - level) / rise;
      }
      t++;
      if (rising > 0) {
        level += riseInc;
        rising--;
      } else level *= k;
      out[i] += table[pos] * level * gain;
      if (++pos === len) pos = 0;
    }
    this.t = t;
    this.level = level;
    this.k = k;
    this.pos = pos;
    this.rising = rising;
    this.riseInc = riseInc;
  }
}

// ------------------------------------------------------------------ cymbals

/** One additive-retrigger envelope of a cymbal generator. */
class CymbalEnv {
  level = 0;
  k: number;
  attackLeft = 0;
  attackInc = 0;
  gain = 1;
  private readonly decayK: number;
  private readonly chokeK: number;
  private readonly attack: number;

  constructor(decaySeconds: number, attackSeconds: number, sampleRate: number) {
    this.decayK = decayPerSample(decaySeconds, sampleRate);
    this.chokeK = decayPerSample(CHOKE_SECONDS, sampleRate);
    this.k = this.decayK;
    this.attack = Math.max(1, Math.round(attackSeconds * sampleRate));
  }

  get live(): boolean {
    return this.attackLeft > 0 || this.level >= SILENT;
  }

  hit(velocity: number): void {
    this.k = this.decayK;
    // A stick on a ringing cymbal partly damps it and adds its own hit; the
    // 0.65 keeps a ride played on every 8th from piling up without bound.
    this.attackLeft = this.attack;
    this.attackInc = (velocity - 0.65 * this.level) / this.attack;
  }

  choke(): void {
    this.k = this.chokeK;
    this.attackLeft = 0;
  }

  settle(): void {
    if (!this.live) {
      this.level = 0;
      this.attackLeft = 0;
    }
  }
}

/** A cymbal loop under two envelopes: closed + open hat, or ride + crash. */
class CymbalPair {
  active = false;
  private pos = 0;

  constructor(
    private readonly table: Float32Array,
    readonly a: CymbalEnv,
    readonly b: CymbalEnv,
  ) {}

  /**
   * Every hit starts at its own place in the noise loop, ringing or not: so
   * a hit sounds the same wherever it falls (a loop's repetitions are
   * identical), and the jump hides under the new hit's attack.
   */
  wake(offset: number): void {
    this.active = true;
    this.pos = offset % this.table.length;
  }

  cull(): void {
    this.a.settle();
    this.b.settle();
    if (!this.a.live && !this.b.live) this.active = false;
  }

  render(out: Float64Array, n: number): void {
    const table = this.table;
    const len = table.length;
    let pos = this.pos;
    const a = this.a;
    const b = this.b;
    let la = a.level;
    let lb = b.level;
    let ta = a.attackLeft;
    let tb = b.attackLeft;
    const ka = a.k;
    const kb = b.k;
    const ia = a.attackInc;
    const ib = b.attackInc;
    const ga = a.gain;
    const gb = b.gain;
    for (let i = 0; i < n; i++) {
      if (ta > 0) {
        la += ia;
        ta--;
      }
      if (tb > 0) {
        lb += ib;
        tb--;
      }
      la *= ka;
      lb *= kb;
      out[i] += table[pos] * (la * ga + lb * gb);
      if (++pos === len) pos = 0;
    }
    this.pos = pos;
    a.level = la;
    b.level = lb;
    a.attackLeft = ta;
    b.attackLeft = tb;
  }
}

// ------------------------------------------------------------------ kit

/** Level of each drum voice inside the kit (before the kit's own gain). */
const VOICE_GAIN: Record<DrumVoice, number> = {
  kick: 0.95,
  snare: 1.25,
  clap: 1.05,
  closedHat: 0.23,
  openHat: 0.15,
  ride: 0.12,
  crash: 0.19,
};

/** How strongly each voice follows the bar-position accent (hats breathe the most). */
const ACCENT_DEPTH: Record<DrumVoice, number> = {
  kick: 0.5,
  snare: 0.6,
  clap: 0.5,
  closedHat: 1.6,
  openHat: 1,
  ride: 1.2,
  crash: 0.3,
};

/** The velocity a drum voice sounds with: its humanized `velocity` shaped by the bar-position `accent` (about 0.7..1). */
export function accentedVelocity(voice: DrumVoice, accent: number, velocity: number): number {
  return velocity * (1 - ACCENT_DEPTH[voice] * (1 - accent));
}

/** Stereo groups: pan offset from the kit's pan and reverb send. */
const GROUPS = {
  kick: { pan: 0, send: 0.02 },
  snare: { pan: 0.03, send: 0.22 },
  hats: { pan: 0.32, send: 0.05 },
  cymbals: { pan: -0.32, send: 0.12 },
};

export class DrumKit {
  private readonly kicks: Kick[];
  private readonly snares: Snare[];
  private readonly claps: Clap[];
  private readonly hats: CymbalPair;
  private readonly cymbals: CymbalPair;
  private readonly gain: number;
  private nextKick = 0;
  private nextSnare = 0;
  private nextClap = 0;

  constructor(sampleRate: number, gain: number) {
    this.gain = gain;
    const tables = drumTables(sampleRate);
    this.kicks = [new Kick(sampleRate, tables), new Kick(sampleRate, tables)];
    this.snares = [new Snare(sampleRate, tables), new Snare(sampleRate, tables)];
    this.claps = [new Clap(sampleRate, tables), new Clap(sampleRate, tables)];
    const closed = new CymbalEnv(0.028, 0.0004, sampleRate);
    const open = new CymbalEnv(0.23, 0.0006, sampleRate);
    closed.gain = VOICE_GAIN.closedHat * gain;
    open.gain = VOICE_GAIN.openHat * gain;
    this.hats = new CymbalPair(tables.hats, closed, open);
    const ride = new CymbalEnv(0.5, 0.0008, sampleRate);
    const crash = new CymbalEnv(0.9, 0.001, sampleRate);
    ride.gain = VOICE_GAIN.ride * gain;
    crash.gain = VOICE_GAIN.crash * gain;
    this.cymbals = new CymbalPair(tables.cymbals, ride, crash);
  }

  /** Where each drum group sits for a kit panned at `pan`. */
  static placements(pan: number): Record<'kick' | 'snare' | 'hats' | 'cymbals', Placement> {
    return {
      kick: placement(1, pan + GROUPS.kick.pan, GROUPS.kick.send),
      snare: placement(1, pan + GROUPS.snare.pan, GROUPS.snare.send),
      hats: placement(1, pan + GROUPS.hats.pan, GROUPS.hats.send),
      cymbals: placement(1, pan + GROUPS.cymbals.pan, GROUPS.cymbals.send),
    };
  }

  /**
   * Hits one voice. `accent` (about 0.7..1) is the bar-position emphasis,
   * `velocity` the humanized base velocity; `seed` picks where in its noise
   * loop the hit starts, so no two hits are the same.
   */
  hit(voice: DrumVoice, accent: number, velocity: number, seed: number): void {
    const offset = seed >>> 0;
    const v = accentedVelocity(voice, accent, velocity);
    switch (voice) {
      case 'kick': {
        for (const k of this.kicks) if (k.active) k.choke();
        this.kicks[this.nextKick].trigger(v);
        this.nextKick = (this.nextKick + 1) % this.kicks.length;
        break;
      }
      case 'snare': {
        for (const k of this.snares) if (k.active) k.choke();
        this.snares[this.nextSnare].trigger(v, offset);
        this.nextSnare = (this.nextSnare + 1) % this.snares.length;
        break;
      }
      case 'clap': {
        for (const k of this.claps) if (k.active) k.choke();
        this.claps[this.nextClap].trigger(v, offset);
        this.nextClap = (this.nextClap + 1) % this.claps.length;
        break;
      }
      case 'closedHat':
        // The same pair of cymbals pressed shut: the open ring stops.
        this.hats.wake(offset);
        this.hats.b.choke();
        this.hats.a.hit(v);
        break;
      case 'openHat':
        this.hats.wake(offset);
        this.hats.b.hit(v);
        break;
      case 'ride':
        this.cymbals.wake(offset);
        this.cymbals.a.hit(v);
        break;
      case 'crash':
        this.cymbals.wake(offset);
        this.cymbals.b.hit(v);
        break;
    }
  }

  cull(): void {
    for (const k of this.kicks) if (k.active) k.cull();
    for (const k of this.snares) if (k.active) k.cull();
    for (const k of this.claps) if (k.active) k.cull();
    if (this.hats.active) this.hats.cull();
    if (this.cymbals.active) this.cymbals.cull();
  }

  render(buses: DrumMixer, n: number): void {
    const g = this.gain;
    const k0 = this.kicks[0];
    const k1 = this.kicks[1];
    if (k0.active || k1.active) {
      const bus = buses.open(Group.Kick, n);
      if (k0.active) k0.render(bus, n, VOICE_GAIN.kick * g);
      if (k1.active) k1.render(bus, n, VOICE_GAIN.kick * g);
    }
    const s0 = this.snares[0];
    const s1 = this.snares[1];
    const c0 = this.claps[0];
    const c1 = this.claps[1];
    if (s0.active || s1.active || c0.active || c1.active) {
      const bus = buses.open(Group.Snare, n);
      if (s0.active) s0.render(bus, n, VOICE_GAIN.snare * g);
      if (s1.active) s1.render(bus, n, VOICE_GAIN.snare * g);
      if (c0.active) c0.render(bus, n, VOICE_GAIN.clap * g);
      if (c1.active) c1.render(bus, n, VOICE_GAIN.clap * g);
    }
    if (this.hats.active) this.hats.render(buses.open(Group.Hats, n), n);
    if (this.cymbals.active) this.cymbals.render(buses.open(Group.Cymbals, n), n);
  }

  reset(): void {
    for (const k of this.kicks) k.active = false;
    for (const k of this.snares) k.active = false;
    for (const k of this.claps) k.active = false;
    for (const p of [this.hats, this.cymbals]) {
      p.active = false;
      for (const e of [p.a, p.b]) {
        e.level = 0;
        e.attackLeft = 0;
      }
    }
    this.nextKick = 0;
    this.nextSnare = 0;
    this.nextClap = 0;
  }
}
