/**
 * The seam between the token source and the frame renderer: the generation
 * loop plays any TokenSource. A scripted source (the frames of a fixed
 * pattern, no model) stands in for a remote one; what the loop writes to
 * the ring is those frames rendered directly, and the controls and a
 * prompt's re-prime reach the source through the interface.
 */
import { describe, expect, it } from 'vitest';
import { FRAMES_PER_BEAT } from '../../src/constants.js';
import { ControlBlock } from '../../src/engine/control-block.js';
import { GenerationLoop, type LoopMessage } from '../../src/engine/generation-loop.js';
import { StereoRing } from '../../src/engine/ring.js';
import { SynthRenderer } from '../../src/engine/synth-renderer.js';
import type { StepTiming, TokenSource } from '../../src/engine/token-source.js';
import { densePattern } from '../../src/model/codec/synth/demo-pattern.js';
import { renderTokens } from '../../src/model/codec/synth/index.js';
import { tinybandTraits } from '../../src/model/tinyband/codec.js';
import { CODEBOOK_SIZES } from '../../src/model/tinyband/layout.js';
import type { FeatureTelemetry } from '../../src/protocol.js';
import { DEFAULT_STEERING } from '../../src/smitin/steerer.js';

const TEMPO = 133;
const RATE = 48_000;
const BAR = 16;

/** Plays `tokens` (codebook-major) frame by frame and writes down what the loop asks of it. */
class ScriptedSource implements TokenSource {
  readonly contextFrames = 3 * BAR;
  readonly played: number[][] = [];
  readonly reprimes: { prompt: string; context: number[][] }[] = [];
  readonly strengths: number[][] = [];
  readonly temperatures: number[] = [];
  readonly guidances: number[] = [];

  constructor(private readonly tokens: readonly Uint16Array[]) {}

  async next(beforeStep?: () => void): Promise<number[]> {
    beforeStep?.();
    const frame = this.tokens.map((row) => row[this.played.length]);
    this.played.push(frame);
    return frame;
  }

  completed(count: number): Uint16Array[] {
    const last = this.played.slice(-count);
    return this.tokens.map((_, k) => Uint16Array.from(last, (f) => f[k]));
  }

  async reprime(prompt: string, context: readonly Uint16Array[]): Promise<void> {
    this.reprimes.push({ prompt, context: context.map((row) => Array.from(row)) });
  }

  setStrengths(_names: readonly string[], values: ArrayLike<number>): void {
    this.strengths.push(Array.from(values));
  }

  setAlphas(): void {}

  setTemperature(value: number): void {
    this.temperatures.push(value);
  }

  setGuidance(value: number): void {
    this.guidances.push(value);
  }

  steering(): FeatureTelemetry[] {
    return [];
  }

  takeStepTiming(): StepTiming {
    return { steps: 0, ms: 0 };
  }
}

function scriptedLoop(bars: number) {
  const tokens = densePattern(bars);
  const source = new ScriptedSource(tokens);
  const renderer = new SynthRenderer(TEMPO, RATE, false);
  const traits = tinybandTraits({ kind: 'tinyband-synth', codebookSizes: CODEBOOK_SIZES, framesPerBeat: FRAMES_PER_BEAT });
  const controls = ControlBlock.allocate(['drums'], 1, 1.5);
  const ring = StereoRing.allocate(RATE * 4 * bars);
  const messages: LoopMessage[] = [];
  const settings = { prompt: 'funk', tempo: TEMPO, sampleRate: RATE, targetFrames: RATE * 4 * bars, seed: 0, steering: DEFAULT_STEERING };
  const loop = new GenerationLoop({ source, renderer, traits }, ring, controls, settings, (m) => messages.push(m));
  return { tokens, source, controls, ring, loop, messages };
}

/** Everything in the ring, as left and right. */
function drain(ring: StereoRing): { left: Float32Array; right: Float32Array } {
  const n = ring.available();
  const interleaved = new Float32Array(2 * n);
  ring.readInto(interleaved, n);
  return { left: interleaved.filter((_, i) => i % 2 === 0), right: interleaved.filter((_, i) => i % 2 === 1) };
}

describe('the generation loop on a scripted token source', () => {
  it("writes the source's frames to the ring as the renderer renders them directly, sample for sample", async () => {
    const { tokens, source, ring, loop } = scriptedLoop(4);
    for (let f = 0; f < tokens[0].length; f++) await loop.produceFrame();
    expect(source.played.length).toBe(tokens[0].length);
    const heard = drain(ring);
    const direct = renderTokens(tokens, { tempo: TEMPO, sampleRate: RATE });
    expect(heard.left.length).toBe(direct.left.length);
    expect(heard.left.some((x) => x !== 0)).toBe(true);
    let mismatches = 0;
    for (let i = 0; i < direct.left.length; i++) if (heard.left[i] !== direct.left[i] || heard.right[i] !== direct.right[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('a stop that comes while a frame is made: the frame is never written, so a play that follows cannot hear it run out while the loop parks', async () => {
    const { source, ring, loop, messages } = scriptedLoop(4);
    for (let f = 0; f < 3; f++) await loop.produceFrame();
    const written = ring.written();
    const next = source.next.bind(source);
    source.next = async (beforeStep) => {
      loop.handle({ type: 'stop' });
      return next(beforeStep);
    };
    const posted = messages.length;
    await loop.produceFrame();
    expect(source.played).toHaveLength(4);
    expect(ring.written()).toBe(written);
    expect(messages.slice(posted).filter((m) => m.type === 'grid' || m.type === 'tokens')).toEqual([]);
  });

  it('a play after a stop marks where the music made after it begins: the ring\'s end, past any frame written before the stop', async () => {
    const { ring, loop, messages } = scriptedLoop(4);
    for (let f = 0; f < 3; f++) await loop.produceFrame();
    loop.handle({ type: 'play' });
    expect(messages.filter((m) => m.type === 'resume')).toEqual([]); // playing already: nothing to mark
    loop.handle({ type: 'stop' });
    const end = ring.written();
    loop.handle({ type: 'play' });
    expect(messages.filter((m) => m.type === 'resume')).toEqual([{ type: 'resume', position: end }]);
    await loop.produceFrame();
    expect(ring.written()).toBeGreaterThan(end);
  });

  it('hands knob, temperature and guidance changes to the source, and a prompt re-primes it on the next bar line with the bars played', async () => {
    const { tokens, source, controls, loop } = scriptedLoop(4);
    for (let f = 0; f < 20; f++) await loop.produceFrame();
    controls.setStrength('drums', 1);
    controls.setTemperature(0.8);
    controls.setGuidance(3);
    loop.handle({ type: 'prompt', text: 'rock' });
    await loop.produceFrame();
    expect(source.strengths.at(-1)).toEqual([1]);
    expect(source.temperatures).toEqual([0.8]);
    expect(source.guidances).toEqual([3]);
    expect(source.reprimes).toEqual([]);
    while (source.played.length < 2 * BAR) await loop.produceFrame();
    expect(source.reprimes).toEqual([]);
    await loop.produceFrame(); // the frame on the bar line comes after the re-prime
    expect(source.reprimes).toHaveLength(1);
    const { prompt, context } = source.reprimes[0];
    expect(prompt).toBe('rock');
    // what played (two bars, starting on a bar line), codebook-major
    expect(context).toEqual(tokens.map((row) => Array.from(row.subarray(0, 2 * BAR))));
  });
});
