/**
 * Streaming EnCodec decoding on the random-weight fixture test/fixtures/musicgen-tiny
 * (real export contract: audio_codes int64 [1, B, 4, T] -> audio_values [B, 1, T * 640]).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeCodes, EncodecStream, type EncodecStreamOptions } from '../../src/model/codec/encodec/index.js';
import { checkEncodecDecoder, CODEC_AUDIO_CODES } from '../../src/model/musicgen/contract.js';
import { readModelFolder } from '../../src/model/musicgen/folder.js';
import { OnnxSession, type ort } from '../../src/model/onnx/session.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));
const GRAPH = `${FIXTURE}/onnx/encodec_decode.onnx`;
const HAVE = existsSync(GRAPH) && existsSync(`${FIXTURE}/config.json`);
const WHY = HAVE ? 'test/fixtures/musicgen-tiny' : `skipped: no EnCodec fixture at ${GRAPH} (made by training/make_musicgen_fixture.py)`;
if (!HAVE) console.warn(`encodec stream tests ${WHY}`);

const K = 4;
const HOP = 640;

/** Seeded random codes, codebook-major. */
function randomCodes(frames: number, seed: number, vocab = 2048): Int32Array[] {
  let s = seed >>> 0;
  return Array.from({ length: K }, () =>
    Int32Array.from({ length: frames }, () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s % vocab;
    }),
  );
}

async function stream(session: OnnxSession, codes: Int32Array[], options: EncodecStreamOptions): Promise<{ audio: Float32Array; s: EncodecStream; sizes: number[] }> {
  const s = new EncodecStream(session, K, HOP, options);
  const parts: Float32Array[] = [];
  const sizes: number[] = [];
  for (let f = 0; f < codes[0].length; f++) {
    const out = await s.push(codes.map((row) => row[f]));
    if (out.length) sizes.push(out.length);
    parts.push(out);
  }
  parts.push(await s.flush());
  const audio = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    audio.set(p, at);
    at += p.length;
  }
  return { audio, s, sizes };
}

function peak(x: Float32Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

describe.skipIf(!HAVE)(`EnCodec streaming decode (${WHY})`, () => {
  let session: OnnxSession;
  beforeAll(async () => {
    session = await OnnxSession.create(GRAPH, { threads: 1 });
    checkEncodecDecoder(session, K);
  });
  afterAll(async () => {
    await session?.release();
  });

  it('the model folder names it and its rates', () => {
    const { spec } = readModelFolder(FIXTURE);
    expect(spec.codec).toEqual({ kind: 'encodec', file: 'encodec_decode', frameRate: 50, hop: HOP });
    expect(spec.files.codec).toBe(GRAPH);
    expect(spec.sampleRate).toBe(32_000);
  });

  it('streamed equals a one-shot decode of all frames, chunk edges included', async () => {
    const frames = 137; // not a multiple of any chunk below
    const codes = randomCodes(frames, 7);
    const once = await decodeCodes(session, codes);
    expect(once.length).toBe(frames * HOP);
    const scale = peak(once);
    expect(scale).toBeGreaterThan(1e-4); // random weights still make noise
    const figures: string[] = [];
    // the fixture's decoder sees about two frames either side: context >= 2 and margin >= 2 make the interior exact
    for (const options of [{}, { chunk: 10, context: 4, margin: 2 }, { chunk: 4, context: 2, margin: 2, overlap: 64 }] as EncodecStreamOptions[]) {
      const { audio, s } = await stream(session, codes, options);
      expect(audio.length).toBe(once.length);
      // seams: where each call's emitted audio starts (the crossfade region, `overlap` samples)
      const seams = new Set<number>();
      const step = s.chunk;
      for (let e = step; e < frames; e += step) for (let i = 0; i < s.overlap; i++) seams.add((e - s.margin) * HOP + i);
      let interior = 0;
      let edges = 0;
      for (let i = 0; i < once.length; i++) {
        const d = Math.abs(audio[i] - once[i]);
        if (seams.has(i)) edges = Math.max(edges, d);
        else interior = Math.max(interior, d);
      }
      figures.push(
        `chunk ${s.chunk}/context ${s.context}/margin ${s.margin}/overlap ${s.overlap}: interior ${interior.toExponential(2)}, crossfades ${edges.toExponential(2)} (peak ${scale.toFixed(3)})`,
      );
      expect(interior).toBeLessThanOrEqual(1e-4);
      expect(edges).toBeLessThanOrEqual(1e-3);
    }
    // a margin below the receptive field is a small error before each seam, not a failure (figure only)
    const short = await stream(session, codes, { chunk: 10, context: 4, margin: 1 });
    let worst = 0;
    for (let i = 0; i < once.length; i++) worst = Math.max(worst, Math.abs(short.audio[i] - once[i]));
    figures.push(`margin 1 (too small for this decoder): max ${worst.toExponential(2)}`);
    console.log(`encodec streamed vs one-shot: ${figures.join('; ')}`);
  });

  it('feeds onnxruntime at most context + margin + chunk frames per call, however long the piece', async () => {
    const frames = 400; // 8 s
    const codes = randomCodes(frames, 11);
    const fed: number[] = [];
    const run = session.run.bind(session);
    const spy = vi.spyOn(session, 'run').mockImplementation(async (feeds: Readonly<Record<string, ort.Tensor>>) => {
      fed.push(feeds[CODEC_AUDIO_CODES].dims[3]);
      return run(feeds);
    });
    try {
      const options = { chunk: 25, context: 10, margin: 4 };
      const { audio, s, sizes } = await stream(session, codes, options);
      expect(audio.length).toBe(frames * HOP);
      expect(fed.length).toBe(s.stats.calls);
      expect(Math.max(...fed)).toBeLessThanOrEqual(options.context + options.chunk + options.margin);
      expect(s.maxWindow).toBe(39);
      // one decode per chunk plus the flush; the frames fed add up to about (1 + (context + margin) / chunk) x the piece, not its square
      expect(fed.length).toBe(Math.ceil(frames / options.chunk) + (frames % options.chunk === 0 ? 1 : 0));
      expect(s.stats.framesFed).toBeLessThanOrEqual(frames * (1 + (options.context + options.margin) / options.chunk) + options.chunk);
      // steady chunks are one chunk of audio each
      expect(sizes.slice(1, -1).every((n) => n === options.chunk * HOP)).toBe(true);
      console.log(`encodec bounded cost: ${fed.length} calls, frames per call ${Math.min(...fed)}..${Math.max(...fed)}, ${s.stats.framesFed} frames fed for ${frames}`);
    } finally {
      spy.mockRestore();
    }
  });

  it('emits nothing until a chunk is due, everything at flush, and refuses a bad frame', async () => {
    const s = new EncodecStream(session, K, HOP, { chunk: 5, context: 2, margin: 1 });
    for (let i = 0; i < 4; i++) expect((await s.push([1, 2, 3, 4])).length).toBe(0);
    expect((await s.push([1, 2, 3, 4])).length).toBe(4 * HOP); // the margin frame is held back
    expect((await s.push([5, 6, 7, 8])).length).toBe(0);
    expect((await s.flush()).length).toBe(2 * HOP);
    expect((await s.flush()).length).toBe(0);
    await expect(s.push([1, 2, 3, 4])).rejects.toThrow(/flushed/);
    const t = new EncodecStream(session, K, HOP);
    await expect(t.push([1, 2, 3])).rejects.toThrow(/a frame has 4 tokens/);
    expect(() => new EncodecStream(session, K, HOP, { chunk: 2, margin: 2 })).toThrow(/margin \(2\) must be below chunk/);
  });
});
