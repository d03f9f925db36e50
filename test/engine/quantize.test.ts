/**
 * --quantize: a knob change lands on the first frame made on the next beat
 * or bar line, never on frames already made. The generation loop runs here
 * in-process on the shipped tinyband (one frame is a 16th), frame by frame,
 * and says where it applied the change (its latency mark).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlBlock } from '../../src/engine/control-block.js';
import { GenerationLoop, type LoopMessage } from '../../src/engine/generation-loop.js';
import { StereoRing } from '../../src/engine/ring.js';
import type { MusicgenModel } from '../../src/model/musicgen/index.js';
import type { Quantize } from '../../src/protocol.js';
import { loadSteerableModel } from '../../src/smitin/prepare.js';
import { readProbeSet } from '../../src/smitin/probe-set.js';
import { DEFAULT_STEERING } from '../../src/smitin/steerer.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

describe.skipIf(MODEL_DIR !== SHIPPED_MODEL)('quantized control changes', () => {
  let model: MusicgenModel;
  const probes = () => readProbeSet(join(SHIPPED_MODEL, 'probes.safetensors'));
  beforeAll(async () => {
    model = await loadSteerableModel(SHIPPED_MODEL, { threads: 1 });
  }, 60_000);
  afterAll(async () => model?.release());

  /** The frame at which a knob moved while frame `at` was next lands, under `quantize`. */
  async function landsAt(quantize: Quantize, at: number): Promise<number> {
    const set = probes();
    const controls = ControlBlock.allocate(set.features.map((f) => f.name), 1, 1.5);
    const ring = StereoRing.allocate(48000 * 30);
    const messages: LoopMessage[] = [];
    const loop = await GenerationLoop.create(model, ring, controls, set, { prompt: 'funk', tempo: 120, sampleRate: 48000, targetFrames: 48000 * 29, seed: 1, steering: DEFAULT_STEERING, reportTokens: true, quantize }, (m) => messages.push(m));
    const positions: number[] = [];
    for (let f = 0; f <= Math.max(40, at + 16 * 8); f++) {
      if (f === at) controls.setStrength('drums', 1);
      await loop.produceFrame();
      const tokens = messages.filter((m) => m.type === 'tokens');
      positions.push((tokens[tokens.length - 1] as { position: number }).position);
    }
    const mark = messages.find((m) => m.type === 'mark') as { position: number } | undefined;
    return mark ? positions.indexOf(mark.position) : -1;
  }

  it('off: the next frame; beat: the next beat line (4 frames); bar: the next bar line (16 frames)', async () => {
    expect(await landsAt('off', 5)).toBe(5);
    expect(await landsAt('beat', 5)).toBe(8);
    expect(await landsAt('beat', 8)).toBe(8);
    expect(await landsAt('bar', 5)).toBe(16);
    expect(await landsAt('bar', 17)).toBe(32);
  }, 120_000);

  it('4bars and 8bars: the next phrase line (64 and 128 frames), where a band brings an instrument in', async () => {
    expect(await landsAt('4bars', 5)).toBe(64);
    expect(await landsAt('4bars', 64)).toBe(64);
    expect(await landsAt('8bars', 65)).toBe(128);
  }, 120_000);
});
