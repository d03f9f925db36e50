/** A knob from a handful of recordings (--examples-with / --examples-without) on the EnCodec fixture, through the real CLI. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/audio/wav.js';
import { readProbeSet } from '../../src/smitin/probe-set.js';
import { Rng } from '../../src/util/rng.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { linkedCopy } from '../helpers/model.js';

const TINY = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));
const RATE = 22_050;

/** Two seconds of a sine, with noise bursts (0.1 s every 0.5 s) when `hits`. */
function clip(seed: number, hits: boolean): Float32Array {
  const rng = new Rng(seed);
  const f = 110 * (1 + (seed % 3));
  return Float32Array.from({ length: 2 * RATE }, (_, i) => 0.2 * Math.sin((2 * Math.PI * f * i) / RATE) + (hits && i % (RATE / 2) < RATE / 10 ? 0.4 * (2 * rng.next() - 1) : 0));
}

describe('smitin probes train --concept --examples-with/--examples-without', () => {
  const root = tempDir('smitin-examples-');
  const [yes, no, one] = ['with', 'without', 'one'].map((d) => join(root, d));
  beforeAll(() => {
    for (const d of [yes, no, one]) mkdirSync(d);
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(yes, `take-${i}.wav`), encodeWav([clip(i, true)], RATE));
      writeFileSync(join(no, `take-${i}.wav`), encodeWav([clip(10 + i, false)], RATE));
    }
    writeFileSync(join(one, 'only.wav'), encodeWav([clip(20, true)], RATE));
  });

  it('encodes the files and trains a knob from their segments, the first file of each folder held out', () => {
    const out = join(root, 'p.safetensors');
    const r = smitin(['probes', 'train', '--model', linkedCopy(TINY), '--concept', 'hits', '--examples-with', yes, '--examples-without', no, '--pairs', '12', '--out', out, '--quiet', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(Object.keys(JSON.parse(r.stdout).probes)).toEqual(['hits']);
    const set = readProbeSet(out);
    expect(set.model).toMatchObject({ layers: 2, heads: 4, headDim: 8 });
    expect(set.features.map((f) => f.name)).toEqual(['hits']);
    // 12 segments per folder over 3 files: file 0 of each (4 + 4) is validation
    expect([set.features[0].train, set.features[0].validation]).toEqual([16, 8]);
    expect((set.training.concepts as Record<string, unknown>).hits).toMatchObject({ examplesWith: yes, examplesWithout: no, segments: 12 });
  });

  it('says what is wrong: a model that cannot encode audio, a folder of one file, options that do not go together', () => {
    const tiny = smitin(['probes', 'train', '--concept', 'hits', '--examples-with', yes, '--examples-without', no, '--out', join(root, 'a.safetensors')]);
    expect(tiny.status).toBe(2);
    expect(tiny.stderr).toMatch(/--examples-with needs an EnCodec MusicGen with onnx\/encodec_encode\.onnx \(its codec is tinyband-synth/);
    const single = smitin(['probes', 'train', '--model', linkedCopy(TINY), '--concept', 'hits', '--examples-with', one, '--examples-without', no, '--out', join(root, 'b.safetensors'), '--quiet']);
    expect(single.status).toBe(2);
    expect(single.stderr).toMatch(/--examples-with ".*one": holds 1 WAV files; at least 2 are needed/);
    const both = smitin(['probes', 'train', '--concept', 'hits', '--with', 'rock drums', '--examples-with', yes, '--out', join(root, 'c.safetensors')]);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/give prompts \(--with, --without\) or example folders .*, not both/);
    const half = smitin(['probes', 'train', '--concept', 'hits', '--examples-with', yes, '--out', join(root, 'd.safetensors')]);
    expect(half.status).toBe(2);
    expect(half.stderr).toMatch(/needs --examples-with DIR and --examples-without DIR/);
  });
});
