import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ControlBlock } from '../../src/engine/control-block.js';
import { StereoRing } from '../../src/engine/ring.js';

describe('StereoRing', () => {
  it('reads back what was written, in order, across the wrap-around', () => {
    const ring = StereoRing.allocate(8);
    const out = new Float32Array(16);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 20; round++) {
      const n = 1 + (round % 5);
      const left = Float32Array.from({ length: n }, (_, i) => next + i);
      const right = Float32Array.from(left, (v) => -v);
      const wrote = ring.write(left, right);
      next += wrote;
      const got = ring.readInto(out, 3);
      for (let i = 0; i < got; i++) {
        expect(out[2 * i]).toBe(expected);
        expect(out[2 * i + 1]).toBe(-expected);
        expected++;
      }
      expect(ring.available()).toBe(next - expected);
      expect(ring.space()).toBe(8 - ring.available());
    }
  });

  it('never overwrites unread frames: a full ring takes nothing more', () => {
    const ring = StereoRing.allocate(4);
    expect(ring.write(new Float32Array(6), new Float32Array(6))).toBe(4);
    expect(ring.write(new Float32Array(1), new Float32Array(1))).toBe(0);
    ring.clear();
    expect(ring.available()).toBe(0);
    expect(ring.space()).toBe(4);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => StereoRing.allocate(0)).toThrow(/ring capacity must be an integer number of frames in \[1, 2\^28\], got: 0/);
    expect(() => StereoRing.allocate(1.5)).toThrow(/got: 1.5/);
  });

  it('a producer thread and this consumer share it without locks: every frame arrives once, in order', async () => {
    const ring = StereoRing.allocate(1000);
    const total = 200_000;
    // the producer thread writes through the same class (the .ts source, loaded with tsx's register())
    const tsx = new URL('../../node_modules/tsx/dist/esm/api/index.mjs', import.meta.url).href;
    const ringUrl = new URL('../../src/engine/ring.ts', import.meta.url).href;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ringUrl)}); }).then(({ StereoRing }) => {
        const ring = new StereoRing(workerData.buffer);
        let next = 0;
        const block = 97;
        const l = new Float32Array(block), r = new Float32Array(block);
        while (next < workerData.total) {
          const n = Math.min(block, workerData.total - next);
          for (let i = 0; i < n; i++) { l[i] = next + i; r[i] = next + i + 0.5; }
          next += ring.write(l, r, 0, n);
        }
        parentPort.postMessage('done');
      });`;
    const worker = new Worker(code, { eval: true, workerData: { buffer: ring.buffer, total } });
    const out = new Float32Array(2 * 256);
    let expected = 0;
    let bad = 0;
    while (expected < total) {
      const got = ring.readInto(out, 256);
      for (let i = 0; i < got; i++) {
        if (out[2 * i] !== expected || out[2 * i + 1] !== expected + 0.5) bad++;
        expected++;
      }
      if (got === 0) await new Promise((r) => setImmediate(r));
    }
    await worker.terminate();
    expect(bad).toBe(0);
    expect(expected).toBe(total);
  }, 30_000);
});

describe('ControlBlock', () => {
  it('carries strengths and settings through shared memory, clamped, with a sequence that moves on each change', () => {
    const a = ControlBlock.allocate(['drums', 'bass'], 1, 1.5);
    const b = new ControlBlock(a.buffer, ['drums', 'bass']);
    const seq = b.sequence();
    a.setStrength('bass', 0.25);
    a.setStrength('drums', 3);
    expect(b.sequence()).toBe(seq + 2);
    expect(Array.from(b.readStrengths(new Float64Array(2)))).toEqual([1, 0.25]);
    expect(b.temperature()).toBe(1);
    expect(b.guidance()).toBe(1.5);
    a.setGuidance(3);
    expect(b.guidance()).toBe(3);
    expect(Math.abs(b.stamp() - (Math.floor(performance.timeOrigin + performance.now()) % 2 ** 31))).toBeLessThan(1000);
  });

  it('names the features it knows when given another, and refuses non-finite values', () => {
    const c = ControlBlock.allocate(['drums'], 1, 1);
    expect(() => c.setStrength('cowbell', 1)).toThrow(/unknown feature cowbell \(the model's probes have: drums\)/);
    expect(() => c.setStrength('drums', NaN)).toThrow(/strength of drums must be a finite number, got: NaN/);
    expect(() => new ControlBlock(c.buffer, ['drums', 'bass'])).toThrow(/holds 1 features, 2 named/);
  });
});
