/**
 * Scratch buffers shared by every voice for one chunk of samples, and the
 * mix-down that places them in the stereo field. Everything is preallocated,
 * so the per-sample path never allocates.
 *
 * Voices add into a handful of mono group buses; one pass then pans every
 * group onto the left, right and reverb-send buses (one pass over several
 * inputs touches memory far less than one "add this bus to the mix" pass per
 * group). The drum groups run at the output rate. The tonal groups (bass,
 * piano, guitar) run at half of it: their content lies well below a quarter
 * of the output rate, so computing every other sample and interpolating the
 * rest loses nothing audible and halves their cost, which dominates the
 * synth's. See HalfRate.
 */

/** Longest run of output samples rendered in one pass; frames are cut into chunks of at most this. */
export const MAX_CHUNK = 256;
/** Most half-rate steps one chunk can need. */
export const MAX_HALF_CHUNK = MAX_CHUNK / 2 + 1;

/** Full-rate (drum) groups. */
export const enum Group {
  Kick = 0,
  Snare = 1,
  Hats = 2,
  Cymbals = 3,
}
export const GROUP_COUNT = 4;

/** Half-rate (tonal) groups. */
export const enum HalfGroup {
  Bass = 0,
  Piano = 1,
  Guitar = 2,
}
export const HALF_GROUP_COUNT = 3;

/** A stereo signal and its mono reverb send, one chunk long. */
export interface StereoSendBus {
  readonly left: Float64Array;
  readonly right: Float64Array;
  readonly send: Float64Array;
}

/** A set of mono group buses mixed down to left, right and send in one pass. */
class GroupMixer implements StereoSendBus {
  /** Stereo mix and mono reverb send, written by mixDown. */
  readonly left: Float64Array;
  readonly right: Float64Array;
  readonly send: Float64Array;
  private readonly groups: Float64Array[] = [];
  private readonly opened: Uint8Array;
  private readonly dirty: Uint8Array;

  constructor(count: number, size: number) {
    this.left = new Float64Array(size);
    this.right = new Float64Array(size);
    this.send = new Float64Array(size);
    for (let g = 0; g < count; g++) this.groups.push(new Float64Array(size));
    this.opened = new Uint8Array(count);
    this.dirty = new Uint8Array(count);
  }

  /** A cleared group bus to add this chunk's voices into. */
  open(group: number, n: number): Float64Array {
    const bus = this.groups[group];
    bus.fill(0, 0, n);
    this.opened[group] = 1;
    this.dirty[group] = 1;
    return bus;
  }

  /** Makes every group not opened this chunk read as zeros (clearing each only once). */
  protected settle(): void {
    for (let g = 0; g < this.groups.length; g++) {
      if (this.opened[g] === 0 && this.dirty[g] === 1) {
        this.groups[g].fill(0);
        this.dirty[g] = 0;
      }
      this.opened[g] = 0;
    }
  }

  protected bus(g: number): Float64Array {
    return this.groups[g];
  }
}

/** The drum groups: left/right/send = sum of group * its left/right/send gain. */
export class DrumMixer extends GroupMixer {
  constructor() {
    super(GROUP_COUNT, MAX_CHUNK);
  }

  /** `gains`: left, right and send gain of each group, in Group order. */
  mixDown(n: number, gains: Float64Array): void {
    this.settle();
    const b0 = this.bus(0);
    const b1 = this.bus(1);
    const b2 = this.bus(2);
    const b3 = this.bus(3);
    const l = this.left;
    const r = this.right;
    const s = this.send;
    const l0 = gains[0], r0 = gains[1], s0 = gains[2];
    const l1 = gains[3], r1 = gains[4], s1 = gains[5];
    const l2 = gains[6], r2 = gains[7], s2 = gains[8];
    const l3 = gains[9], r3 = gains[10], s3 = gains[11];
    for (let i = 0; i < n; i++) {
      const x0 = b0[i];
      const x1 = b1[i];
      const x2 = b2[i];
      const x3 = b3[i];
      l[i] = x0 * l0 + x1 * l1 + x2 * l2 + x3 * l3;
      r[i] = x0 * r0 + x1 * r1 + x2 * r2 + x3 * r3;
      s[i] = x0 * s0 + x1 * s1 + x2 * s2 + x3 * s3;
    }
  }
}

/**
 * The tonal groups at half rate, and the way back up. Half-rate steps fall
 * on the even output samples counted from the synth's start (the phase keeps
 * counting whatever the block sizes), and each odd sample is the midpoint of
 * its neighbours: linear interpolation, one output sample late.
 */
/** Values of one interpolator's state: prev left/right/send, cur left/right/send. */
const INTERP = 6;

export class HalfRate extends GroupMixer {
  /** 0 when the next output sample is even (a step is due there). */
  private phase = 0;
  /**
   * The interpolators, six values each (prev left/right/send, cur
   * left/right/send): the mix's at 0, then (stems only) each group's own.
   */
  private readonly interp = new Float64Array((1 + HALF_GROUP_COUNT) * INTERP);

  constructor() {
    super(HALF_GROUP_COUNT, MAX_HALF_CHUNK);
  }

  /** Half-rate steps due within the next n output samples. */
  stepsIn(n: number): number {
    return this.phase === 0 ? (n + 1) >> 1 : n >> 1;
  }

  /**
   * Mixes `steps` half-rate samples of the groups (gains as DrumMixer's, in
   * HalfGroup order) and adds the result, brought up to the output rate, to
   * n samples of left/right/send.
   */
  mixUp(steps: number, n: number, gains: Float64Array, left: Float64Array, right: Float64Array, send: Float64Array): void {
    this.settle();
    const b0 = this.bus(0);
    const b1 = this.bus(1);
    const b2 = this.bus(2);
    const hl = this.left;
    const hr = this.right;
    const hs = this.send;
    const l0 = gains[0], r0 = gains[1], s0 = gains[2];
    const l1 = gains[3], r1 = gains[4], s1 = gains[5];
    const l2 = gains[6], r2 = gains[7], s2 = gains[8];
    for (let k = 0; k < steps; k++) {
      const x0 = b0[k];
      const x1 = b1[k];
      const x2 = b2[k];
      hl[k] = x0 * l0 + x1 * l1 + x2 * l2;
      hr[k] = x0 * r0 + x1 * r1 + x2 * r2;
      hs[k] = x0 * s0 + x1 * s1 + x2 * s2;
    }
    this.upsample(0, n, left, right, send);
    this.phase = (this.phase + n) & 1;
  }

  /**
   * Stems: as mixUp, but each group g onto its own buses outs[g] (written,
   * not added), through an interpolator of its own. Interpolation is linear,
   * so the groups' outputs sum to what mixUp would have made of them.
   */
  mixUpEach(steps: number, n: number, gains: Float64Array, outs: readonly StereoSendBus[]): void {
    this.settle();
    const hl = this.left;
    const hr = this.right;
    const hs = this.send;
    for (let g = 0; g < HALF_GROUP_COUNT; g++) {
      const x = this.bus(g);
      const gl = gains[g * 3], gr = gains[g * 3 + 1], gs = gains[g * 3 + 2];
      for (let k = 0; k < steps; k++) {
        hl[k] = x[k] * gl;
        hr[k] = x[k] * gr;
        hs[k] = x[k] * gs;
      }
      const o = outs[g];
      o.left.fill(0, 0, n);
      o.right.fill(0, 0, n);
      o.send.fill(0, 0, n);
      this.upsample((1 + g) * INTERP, n, o.left, o.right, o.send);
    }
    this.phase = (this.phase + n) & 1;
  }

  /** Adds the half-rate samples in left/right/send, brought up to the output rate through the interpolator at `at`, to n output samples. */
  private upsample(at: number, n: number, left: Float64Array, right: Float64Array, send: Float64Array): void {
    const st = this.interp;
    const hl = this.left;
    const hr = this.right;
    const hs = this.send;
    let pl = st[at], pr = st[at + 1], ps = st[at + 2];
    let cl = st[at + 3], cr = st[at + 4], cs = st[at + 5];
    let phase = this.phase;
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (phase === 0) {
        pl = cl;
        pr = cr;
        ps = cs;
        cl = hl[k];
        cr = hr[k];
        cs = hs[k];
        k++;
        left[i] += 0.5 * (pl + cl);
        right[i] += 0.5 * (pr + cr);
        send[i] += 0.5 * (ps + cs);
        phase = 1;
      } else {
        left[i] += cl;
        right[i] += cr;
        send[i] += cs;
        phase = 0;
      }
    }
    st[at] = pl;
    st[at + 1] = pr;
    st[at + 2] = ps;
    st[at + 3] = cl;
    st[at + 4] = cr;
    st[at + 5] = cs;
  }

  /** Stems: skip(n) for every group's own interpolator too, and the group buses outs[g] silent for n samples. */
  skipEach(n: number, outs: readonly StereoSendBus[]): void {
    for (let g = 0; g < HALF_GROUP_COUNT; g++) this.silence((1 + g) * INTERP, n);
    for (const o of outs) {
      o.left.fill(0, 0, n);
      o.right.fill(0, 0, n);
      o.send.fill(0, 0, n);
    }
    this.skip(n);
  }

  /** Advances over n output samples with every tonal group silent. */
  skip(n: number): void {
    this.silence(0, n);
    this.phase = (this.phase + n) & 1;
  }

  /** Silence reaches the interpolator at `at` over the next n output samples: after a step it holds zeros. */
  private silence(at: number, n: number): void {
    const steps = this.stepsIn(n);
    if (steps === 0) return;
    const st = this.interp;
    for (let c = 0; c < 3; c++) st[at + c] = steps > 1 ? 0 : st[at + 3 + c];
    st[at + 3] = st[at + 4] = st[at + 5] = 0;
  }

  reset(): void {
    this.phase = 0;
    this.interp.fill(0);
  }
}

export class Buses {
  readonly drums = new DrumMixer();
  readonly half = new HalfRate();
  /** Voice scratch at half rate (envelopes), free for a voice during its own render. */
  readonly env = new Float64Array(MAX_HALF_CHUNK);
}

/** Equal-power pan law: pan -1 (left) .. 1 (right); center gives 1/sqrt(2) on each side. */
export function panGains(pan: number): { left: number; right: number } {
  const p = Math.min(1, Math.max(-1, pan));
  const a = ((p + 1) * Math.PI) / 4;
  return { left: Math.cos(a), right: Math.sin(a) };
}

/** Stereo placement of one mono group: left/right gains and reverb send gain. */
export interface Placement {
  left: number;
  right: number;
  send: number;
}

export function placement(gain: number, pan: number, send: number): Placement {
  const g = panGains(pan);
  return { left: gain * g.left, right: gain * g.right, send: gain * send };
}

/** Writes a group's placement into a gains array (three entries per group). */
export function setPlacement(gains: Float64Array, group: number, p: Placement): void {
  gains[group * 3] = p.left;
  gains[group * 3 + 1] = p.right;
  gains[group * 3 + 2] = p.send;
}
