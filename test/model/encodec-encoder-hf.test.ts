/**
 * EnCodec's encoder as transformers exports it (training/export_encodec_encoder.py, run on a random
 * EncodecModel with musicgen-small's hop and codebooks by training/check_encodec_export.py): smitin's
 * EncodecEncoder accepts the graph and gives the codes PyTorch's EncodecModel.encode gave for the same
 * 16-bit audio (test/fixtures/encodec-hf-tiny/meta.json says which versions made them).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncodecEncoder } from '../../src/model/codec/encodec/index.js';
import { OnnxSession } from '../../src/model/onnx/session.js';

const DIR = fileURLToPath(new URL('../fixtures/encodec-hf-tiny/', import.meta.url));
const meta = JSON.parse(readFileSync(DIR + 'meta.json', 'utf8')) as { samples: number; sampling_rate: number; codes_shape: number[] };
const [, , CODEBOOKS, FRAMES] = meta.codes_shape;
const HOP = 640;

function audio(): Float32Array {
  const b = readFileSync(DIR + 'audio.pcm16');
  const pcm = new Int16Array(b.buffer, b.byteOffset, b.byteLength / 2);
  return Float32Array.from(pcm, (x) => x / 32768);
}

/** PyTorch's codes, codebook-major. */
function expected(): number[][] {
  const b = readFileSync(DIR + 'codes.i64');
  const all = new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return Array.from({ length: CODEBOOKS }, (_, k) => Array.from(all.subarray(k * FRAMES, (k + 1) * FRAMES), Number));
}

describe("transformers' own EnCodec encoder export", () => {
  let encoder: EncodecEncoder;
  beforeAll(async () => {
    encoder = EncodecEncoder.fromSession(await OnnxSession.create(DIR + 'encodec_encode.onnx'), CODEBOOKS, HOP, meta.sampling_rate);
  });
  afterAll(() => encoder?.release());

  it('passes the encoder contract and gives PyTorch’s codes, frame for frame', async () => {
    const x = audio();
    expect(x.length).toBe(meta.samples);
    const codes = await encoder.encode(x);
    expect(codes.map((row) => Array.from(row))).toEqual(expected());
    // not a degenerate fixture: the codes move
    for (const row of codes) expect(new Set(row).size).toBeGreaterThan(5);
  });

  it('in windows with context (as whole songs are encoded), most codes are the one-shot codes', async () => {
    const x = audio();
    const whole = expected();
    const windowed = await encoder.encode(x, { chunkFrames: 20, contextFrames: 10 });
    let same = 0;
    for (let k = 0; k < CODEBOOKS; k++) for (let t = 0; t < FRAMES; t++) same += windowed[k][t] === whole[k][t] ? 1 : 0;
    const agree = same / (CODEBOOKS * FRAMES);
    console.log(`windowed (20 frames, 10 either side) vs one-shot: ${(100 * agree).toFixed(1)} % of codes agree`);
    expect(agree).toBeGreaterThan(0.9);
  });
});
