/**
 * Conformance with transformers.js (`@huggingface/transformers`, a dev dependency), an implementation of
 * MusicGen that no one here wrote, on the real-contract fixture test/fixtures/musicgen-tiny: greedy generation
 * with guidance must give the same tokens, frame by frame, over the model's whole window, and EnCodec must give
 * the same audio, whether we decode the frames in one call or stream them as `render` and `live` do. Any change to
 * the generator, the KV cache, guidance or the dtype handling that drifts from the contract fails here.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OurMusicgen, PeerMusicgen, type GreedyRun } from '../../bench/peer.js';
import { DTYPES, onnxPath } from '../../src/model/musicgen/index.js';
import { maxDiff, rms } from '../helpers/arrays.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));
/** A prompt of words the fixture's tokenizer has, and transformers.js' own MusicGen example. */
const PROMPTS = ['funk happy energetic drums', '80s pop track with bassy drums and synth'];
/** generation_config.json's scale, as MusicGen ships it. */
const GUIDANCE = 3;

/** The first frame where the two differ, with every codebook's pair; null when all frames agree. */
function firstDifference(ours: readonly Int32Array[], theirs: readonly Int32Array[]): string | null {
  for (let f = 0; f < ours[0].length; f++) {
    if (ours.some((row, k) => row[f] !== theirs[k][f])) {
      return `frame ${f}: ours [${ours.map((row) => row[f]).join(', ')}], transformers.js [${theirs.map((row) => row[f]).join(', ')}]`;
    }
  }
  return null;
}

it('transformers.js runs on the onnxruntime-node the project runs (one copy in node_modules)', () => {
  const fromPeer = createRequire(import.meta.resolve('@huggingface/transformers')).resolve('onnxruntime-node');
  expect(fromPeer).toBe(createRequire(import.meta.url).resolve('onnxruntime-node'));
});

/** The dtypes the fixture ships (no _q4 graphs: test/model/q4.test.ts makes its own and runs them). */
const SHIPPED_DTYPES = DTYPES.filter((d) => existsSync(onnxPath(FIXTURE, 'decoder_model_merged', d)));

it('the fixture ships fp32, fp16 and q8 graphs, so each is held to the peer', () => {
  expect(SHIPPED_DTYPES).toEqual(['fp32', 'fp16', 'q8']);
});

describe.each(SHIPPED_DTYPES)('greedy generation with guidance, %s, against transformers.js', (dtype) => {
  let ours: OurMusicgen;
  let peer: PeerMusicgen;
  const runs = new Map<string, Promise<[GreedyRun, GreedyRun]>>();
  /** Both sides on one prompt, once for the tests that read it. */
  const both = (prompt: string) => {
    if (!runs.has(prompt)) {
      const frames = ours.maxFrames; // the whole window: the cache grows to the position table's end
      runs.set(prompt, (async () => [await ours.generate(prompt, frames, GUIDANCE), await peer.generate(prompt, frames, GUIDANCE)] as [GreedyRun, GreedyRun])());
    }
    return runs.get(prompt)!;
  };

  beforeAll(async () => {
    const settings = { dtype, threads: 1 };
    [ours, peer] = await Promise.all([OurMusicgen.load(FIXTURE, settings), PeerMusicgen.load(FIXTURE, settings)]);
  });
  afterAll(async () => {
    await Promise.all([ours?.release(), peer?.release()]);
  });

  it.each(PROMPTS)('"%s": the same prompt ids and the same tokens, frame by frame', async (prompt) => {
    const [a, b] = await both(prompt);
    expect(a.promptIds).toEqual(b.promptIds);
    expect(b.codes.map((row) => row.length)).toEqual(a.codes.map(() => ours.maxFrames));
    expect(firstDifference(a.codes, b.codes)).toBeNull();
    // greedy on random weights is no constant: the frames vary (a stuck generator would agree too easily)
    expect(new Set(a.codes[0]).size).toBeGreaterThan(10);
  });

  it.each(PROMPTS)('"%s": the same EnCodec audio, one-shot and streamed', async (prompt) => {
    const [a, b] = await both(prompt);
    expect(b.audio.length).toBe(ours.maxFrames * 640);
    expect(rms(b.audio)).toBeGreaterThan(1e-4); // random weights make noise, not silence
    expect(maxDiff(a.audio, b.audio)).toBe(0);
    expect(maxDiff(await ours.streamAudio(a.codes), b.audio)).toBe(0);
  });
});
