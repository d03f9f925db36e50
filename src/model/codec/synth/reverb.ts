/**
 * A small stereo room on a send: two input allpass diffusers into a
 * four-line feedback delay network (Householder mixing, one-pole damping in
 * each loop so the tail darkens as it decays, as real rooms do).
 *
 * It runs at half the sample rate: each pair of input samples is averaged
 * into one network step and the output is interpolated back. The tail is
 * damped above ~5 kHz anyway, so nothing audible is lost, and the cost is
 * halved. It costs nothing at all while idle: once the send has been silent
 * long enough for the tail to be inaudible, the state is cleared and
 * processing stops until the next non-zero input. The pair phase keeps
 * counting while idle, so pairs always start on even samples from reset,
 * whatever the caller's block sizes.
 */

/** Delay lengths at 48 kHz (mutually prime, 30-53 ms: a small, lively room). */
const LINES_48K = [1423, 1777, 2137, 2531];
const DIFFUSERS_48K = [241, 389];
const DIFFUSION = 0.6;

export class Reverb {
  private readonly lines: Float64Array[];
  private readonly lengths: Int32Array;
  private readonly gains: Float64Array;
  private readonly mask: number;
  private readonly damp = new Float64Array(4);
  private readonly dampA: number;
  private readonly diffusers: Float64Array[];
  private readonly diffLengths: Int32Array;
  private readonly diffMask: number;
  private w = 0;
  private dw = 0;
  /** 1 when the first sample of a pair has been taken in. */
  private phase = 0;
  private held = 0;
  private prevL = 0;
  private prevR = 0;
  private curL = 0;
  private curR = 0;
  private idle = true;
  private sinceInput = 0;
  private readonly idleAfter: number;

  constructor(sampleRate: number, private readonly wet: number, t60Seconds = 1.3, dampHz = 5000) {
    const rate = sampleRate / 2;
    const scale = rate / 48000;
    this.lengths = Int32Array.from(LINES_48K, (l) => Math.max(1, Math.round(l * scale)));
    this.mask = pow2Above(Math.max(...this.lengths)) - 1;
    this.lines = LINES_48K.map(() => new Float64Array(this.mask + 1));
    this.gains = Float64Array.from(this.lengths, (l) => Math.pow(10, (-3 * l) / (t60Seconds * rate)));
    this.dampA = 1 - Math.exp((-2 * Math.PI * dampHz) / rate);
    this.diffLengths = Int32Array.from(DIFFUSERS_48K, (l) => Math.max(1, Math.round(l * scale)));
    this.diffMask = pow2Above(Math.max(...this.diffLengths)) - 1;
    this.diffusers = DIFFUSERS_48K.map(() => new Float64Array(this.diffMask + 1));
    // Three T60s: the tail is 180 dB down, far below anything audible.
    this.idleAfter = Math.round(3 * t60Seconds * sampleRate);
  }

  /** Adds the wet signal of send[0..n) onto left/right. */
  process(send: Float64Array, left: Float64Array, right: Float64Array, n: number): void {
    let lastInput = -1;
    for (let i = 0; i < n; i++) if (send[i] !== 0) lastInput = i;
    if (lastInput < 0) {
      this.sinceInput += n;
      // From a cleared state with no input the output is exactly zero.
      if (this.idle) {
        this.phase = (this.phase + n) & 1;
        return;
      }
    } else {
      this.sinceInput = n - 1 - lastInput;
      this.idle = false;
    }
    const l0 = this.lines[0];
    const l1 = this.lines[1];
    const l2 = this.lines[2];
    const l3 = this.lines[3];
    const d0 = this.diffusers[0];
    const d1 = this.diffusers[1];
    const mask = this.mask;
    const dmask = this.diffMask;
    const n0 = this.lengths[0];
    const n1 = this.lengths[1];
    const n2 = this.lengths[2];
    const n3 = this.lengths[3];
    const m0 = this.diffLengths[0];
    const m1 = this.diffLengths[1];
    const g0 = this.gains[0];
    const g1 = this.gains[1];
    const g2 = this.gains[2];
    const g3 = this.gains[3];
    const da = this.dampA;
    const wet = this.wet;
    let f0 = this.damp[0];
    let f1 = this.damp[1];
    let f2 = this.damp[2];
    let f3 = this.damp[3];
    let w = this.w;
    let dw = this.dw;
    let phase = this.phase;
    let held = this.held;
    let prevL = this.prevL;
    let prevR = this.prevR;
    let curL = this.curL;
    let curR = this.curR;
    const halfWet = 0.5 * wet;
    for (let i = 0; i < n; i++) {
      if (phase === 0) {
        // First of a pair: hold it, and output the last step.
        held = send[i];
        phase = 1;
        left[i] += curL * wet;
        right[i] += curR * wet;
        continue;
      }
      phase = 0;
      // Schroeder allpasses smear the input into a dense onset.
      let x = 0.5 * (held + send[i]);
      let z = d0[(dw - m0) & dmask];
      let y = z - DIFFUSION * x;
      d0[dw] = x + DIFFUSION * y;
      x = y;
      z = d1[(dw - m1) & dmask];
      y = z - DIFFUSION * x;
      d1[dw] = x + DIFFUSION * y;
      x = y;
      dw = (dw + 1) & dmask;

      f0 += da * (l0[(w - n0) & mask] - f0);
      f1 += da * (l1[(w - n1) & mask] - f1);
      f2 += da * (l2[(w - n2) & mask] - f2);
      f3 += da * (l3[(w - n3) & mask] - f3);
      // Householder reflection: lossless, every line feeds every other.
      const h = 0.5 * (f0 + f1 + f2 + f3);
      l0[w] = (f0 - h) * g0 + x;
      l1[w] = (f1 - h) * g1 - x;
      l2[w] = (f2 - h) * g2 + x;
      l3[w] = (f3 - h) * g3 - x;
      w = (w + 1) & mask;
      prevL = curL;
      prevR = curR;
      curL = f0 + f2;
      curR = f1 + f3;
      // Between the previous step and this one: linear interpolation.
      left[i] += (prevL + curL) * halfWet;
      right[i] += (prevR + curR) * halfWet;
    }
    this.phase = phase;
    this.held = held;
    this.prevL = prevL;
    this.prevR = prevR;
    this.curL = curL;
    this.curR = curR;
    this.damp[0] = f0;
    this.damp[1] = f1;
    this.damp[2] = f2;
    this.damp[3] = f3;
    this.w = w;
    this.dw = dw;
  }

  /** Frame-start housekeeping: go idle once the tail is long gone. */
  settle(): void {
    if (!this.idle && this.sinceInput >= this.idleAfter) this.clear();
  }

  /** Back to silence at sample 0. */
  reset(): void {
    this.clear();
    this.phase = 0;
  }

  /** Silence, keeping the pair phase (see the class comment). */
  private clear(): void {
    for (const l of this.lines) l.fill(0);
    for (const d of this.diffusers) d.fill(0);
    this.damp.fill(0);
    this.w = 0;
    this.dw = 0;
    this.held = 0;
    this.prevL = 0;
    this.prevR = 0;
    this.curL = 0;
    this.curR = 0;
    this.idle = true;
    this.sinceInput = 0;
  }
}

function pow2Above(n: number): number {
  let p = 1;
  while (p <= n) p <<= 1;
  return p;
}
