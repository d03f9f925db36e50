/**
 * Frame timing: where each 16th-note frame starts, in samples.
 *
 * Frame i of a constant tempo starts at Math.round(i * samplesPerFrame(bpm)),
 * computed from i rather than by adding rounded lengths, so nothing drifts.
 * A tempo change re-anchors at the exact (unrounded) start of the first frame
 * at the new tempo, so every later start is again one multiplication away
 * from an anchor and stays exact however many changes there are.
 */

import { MAX_TEMPO, MIN_TEMPO, samplesPerFrame } from '../../../constants.js';

export function checkTempo(bpm: number): void {
  if (typeof bpm !== 'number' || !Number.isFinite(bpm) || bpm < MIN_TEMPO || bpm > MAX_TEMPO) {
    throw new RangeError(`tempo must be a number of BPM in [${MIN_TEMPO}, ${MAX_TEMPO}], got: ${String(bpm)}`);
  }
}

export class FrameClock {
  private bpm: number;
  private pendingBpm: number;
  private spf: number;
  private anchorFrame = 0;
  private anchorPos = 0;
  private frames = 0;

  constructor(bpm: number, private readonly sampleRate: number) {
    checkTempo(bpm);
    this.bpm = bpm;
    this.pendingBpm = bpm;
    this.spf = samplesPerFrame(bpm, sampleRate);
  }

  get tempo(): number {
    return this.pendingBpm;
  }

  /** The tempo of every frame handed out after this call. */
  setTempo(bpm: number): void {
    checkTempo(bpm);
    this.pendingBpm = bpm;
  }

  /** Length in samples of the next frame; advances the clock by one frame. */
  next(): number {
    if (this.pendingBpm !== this.bpm) {
      this.anchorPos = this.anchorPos + (this.frames - this.anchorFrame) * this.spf;
      this.anchorFrame = this.frames;
      this.bpm = this.pendingBpm;
      this.spf = samplesPerFrame(this.bpm, this.sampleRate);
    }
    const rel = this.frames - this.anchorFrame;
    const start = Math.round(this.anchorPos + rel * this.spf);
    const end = Math.round(this.anchorPos + (rel + 1) * this.spf);
    this.frames++;
    return end - start;
  }

  /** Back to frame 0 at sample 0, keeping the current tempo. */
  reset(): void {
    this.bpm = this.pendingBpm;
    this.spf = samplesPerFrame(this.bpm, this.sampleRate);
    this.anchorFrame = 0;
    this.anchorPos = 0;
    this.frames = 0;
  }
}
