import { describe, expect, it } from 'vitest';
import { nowMs } from '../../src/engine/control-block.js';
import { OutputStage, RESUME_WAIT_MS } from '../../src/engine/output-stage.js';
import { StereoRing } from '../../src/engine/ring.js';

const RATE = 48000;

function fill(ring: StereoRing, frames: number, value = 0.5): void {
  ring.write(new Float32Array(frames).fill(value), new Float32Array(frames).fill(-value));
}

/** Largest jump between neighbouring left samples. */
function maxStep(x: Float32Array): number {
  let m = 0;
  for (let i = 2; i < x.length; i += 2) m = Math.max(m, Math.abs(x[i] - x[i - 2]));
  return m;
}

describe('OutputStage', () => {
  it('keeps the position as heard: a grid mark counts once the output has handed out its sample, and stop keeps it', () => {
    const ring = StereoRing.allocate(8192);
    const out = new OutputStage(ring, RATE);
    // four 16ths of 1000 samples each, marked at their starts
    for (let i = 0; i < 4; i++) {
      out.gridMark(i / 4, ring.written());
      fill(ring, 1000);
    }
    expect(out.heardBeats).toBe(0);
    out.pull(1500); // samples 0..1499: the 16ths at 0 and 1000 have been handed out
    expect(out.heardBeats).toBe(0.25);
    out.pull(1400); // up to 2899: the third
    expect(out.heardBeats).toBe(0.5);
    out.setPlaying(false);
    out.pull(512); // stop drops what was queued: the fourth 16th is never heard
    expect(out.heardBeats).toBe(0.5);
  });

  it('plays what the ring holds; before the first audio, silence is not an underrun', () => {
    const ring = StereoRing.allocate(4096);
    const out = new OutputStage(ring, RATE);
    expect(Array.from(out.pull(64)).every((v) => v === 0)).toBe(true);
    expect(out.underruns).toBe(0);
    fill(ring, 1024);
    const block = out.pull(512);
    // faded in over 5 ms (240 frames), then the signal as it was
    expect(block[0]).toBe(0);
    expect(block[2 * 300]).toBe(0.5);
    expect(block[2 * 300 + 1]).toBe(-0.5);
    expect(maxStep(block)).toBeLessThan(0.01);
  });

  it('an empty ring while playing is one underrun, faded out, then faded back in', () => {
    const ring = StereoRing.allocate(4096);
    const out = new OutputStage(ring, RATE);
    fill(ring, 600);
    out.pull(256);
    const starved = out.pull(512); // 344 frames there, then nothing
    expect(out.underruns).toBe(1);
    expect(starved[2 * 343]).toBeCloseTo(0, 6);
    expect(maxStep(starved)).toBeLessThan(0.01);
    out.pull(256);
    out.pull(256);
    expect(out.underruns).toBe(1); // counted once per dropout, not per empty buffer
    fill(ring, 1000);
    const back = out.pull(512);
    expect(back[0]).toBe(0);
    expect(maxStep(back)).toBeLessThan(0.01);
  });

  it('stop fades out and drops what was queued; play starts from fresh audio', () => {
    const ring = StereoRing.allocate(4096);
    const out = new OutputStage(ring, RATE);
    fill(ring, 2000);
    out.pull(256);
    out.setPlaying(false);
    const fading = out.pull(256);
    expect(maxStep(fading)).toBeLessThan(0.01);
    expect(ring.available()).toBe(0);
    expect(Array.from(out.pull(256)).every((v) => v === 0)).toBe(true);
    expect(out.underruns).toBe(0);
    out.setPlaying(true);
    // the worker marks where the music made after the play begins
    out.resumeMark(ring.written());
    fill(ring, 1000, 0.25);
    expect(out.pull(512)[2 * 400]).toBe(0.25);
  });

  it('a stop and a play before the next pull is still a stop: the queued audio is dropped, not played on into an underrun', () => {
    const ring = StereoRing.allocate(8192);
    const out = new OutputStage(ring, RATE);
    fill(ring, 3000);
    out.pull(512);
    // a flood of transport messages: both land between two pulls, while the worker parks for a fresh bar
    out.setPlaying(false);
    out.setPlaying(true);
    const stopped = out.pull(512);
    expect(maxStep(stopped)).toBeLessThan(0.01);
    expect(Array.from(stopped.subarray(2 * 240))).toEqual(new Array(2 * (512 - 240)).fill(0));
    expect(ring.available()).toBe(0);
    // the parked worker writes nothing for a while: silence, not an underrun
    for (let i = 0; i < 10; i++) out.pull(512);
    expect(out.underruns).toBe(0);
    // its fresh bar fades in
    out.resumeMark(ring.written());
    fill(ring, 2000);
    const back = out.pull(512);
    expect(back[0]).toBe(0);
    expect(back[2 * 300]).toBe(0.5);
    expect(maxStep(back)).toBeLessThan(0.01);
  });

  it('a frame the worker wrote as the stop came is never played: a play waits for its resume mark and drops what came before', () => {
    const ring = StereoRing.allocate(8192);
    const out = new OutputStage(ring, RATE);
    fill(ring, 3000);
    out.pull(512);
    out.setPlaying(false);
    out.pull(512);
    // the worker had not read the stop yet: one more frame of the old music, with its grid line
    const stale = ring.written();
    out.gridMark(7, stale);
    fill(ring, 1000, 0.9);
    out.setPlaying(true);
    // no mark yet: silence, not the stale frame
    expect(Array.from(out.pull(512)).every((v) => v === 0)).toBe(true);
    // the worker saw the stop, parked, then the play: its music starts at the ring's end
    out.resumeMark(ring.written());
    out.gridMark(8, ring.written());
    fill(ring, 2000, 0.25);
    const back = out.pull(512);
    expect(back[2 * 400]).toBe(0.25);
    expect(Array.from(back).some((v) => Math.abs(v) > 0.5)).toBe(false);
    expect(out.heardBeats).toBe(8);
    expect(out.underruns).toBe(0);
  });

  it('a play after a stop with no resume mark plays on after RESUME_WAIT_MS: the audio never waits on a lost message', async () => {
    const ring = StereoRing.allocate(8192);
    const out = new OutputStage(ring, RATE);
    fill(ring, 1000);
    out.pull(256);
    out.setPlaying(false);
    out.pull(256);
    out.setPlaying(true);
    fill(ring, 2000, 0.25);
    expect(Array.from(out.pull(256)).every((v) => v === 0)).toBe(true);
    await new Promise((r) => setTimeout(r, RESUME_WAIT_MS + 20));
    expect(out.pull(512)[2 * 400]).toBe(0.25);
    // a play while playing waits for nothing
    out.setPlaying(true);
    expect(out.pull(256)[0]).toBe(0.25);
  });

  it('measures control latency when the marked sample is handed out', async () => {
    const ring = StereoRing.allocate(48000);
    const out = new OutputStage(ring, RATE);
    fill(ring, 4800);
    const stamp = Math.floor(nowMs()) % 2 ** 31;
    out.mark(stamp, ring.written()); // audio from here on carries the change
    fill(ring, 4800);
    await new Promise((r) => setTimeout(r, 30));
    out.pull(4800);
    expect(out.latencies).toHaveLength(0); // the marked sample is not out yet
    out.pull(10);
    expect(out.latencies).toHaveLength(1);
    expect(out.latencies[0]).toBeGreaterThanOrEqual(25);
    expect(out.latencies[0]).toBeLessThan(1000);
  });

  it('taps see every block handed out (the WAV tee)', () => {
    const ring = StereoRing.allocate(4096);
    const out = new OutputStage(ring, RATE);
    const seen: number[] = [];
    const untap = out.tap((b) => seen.push(b.length));
    fill(ring, 100);
    out.pull(64);
    out.pull(64);
    untap();
    out.pull(64);
    expect(seen).toEqual([128, 128]);
  });

  it('untapping twice removes only its own listener', () => {
    const ring = StereoRing.allocate(4096);
    const out = new OutputStage(ring, RATE);
    const a: number[] = [];
    const b: number[] = [];
    const untapA = out.tap((x) => a.push(x.length));
    out.tap((x) => b.push(x.length));
    untapA();
    untapA();
    fill(ring, 100);
    out.pull(64);
    expect(a).toEqual([]);
    expect(b).toEqual([128]);
  });

  it('measures only the changes stamped after measureFrom (none while it is null)', () => {
    const ring = StereoRing.allocate(48000);
    const out = new OutputStage(ring, RATE);
    const now = Math.floor(nowMs()) % 2 ** 31;
    out.measureFrom(null);
    out.mark(now - 50, ring.written()); // the preset's value at start
    fill(ring, 100);
    out.pull(50);
    expect(out.latencies).toHaveLength(0);
    out.measureFrom(now);
    out.mark(now - 10, ring.written()); // stamped before the first move: not a move
    fill(ring, 100);
    out.mark(now + 1, ring.written()); // a performer's move
    fill(ring, 100);
    out.pull(200);
    expect(out.latencies).toHaveLength(1);
  });
});
