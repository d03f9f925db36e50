/**
 * Probe data for a concept from a handful of recordings, for an EnCodec
 * model: WAV files that have it (`--examples-with DIR`) and files that do
 * not (`--examples-without DIR`), each read to mono at the encoder's rate and
 * encoded with encodec_encode.onnx. Segments are cut from the codes (length
 * from one second to the model's window, end anywhere after it); a segment of
 * a "with" file is a positive, of a "without" file a negative. Unlike stems
 * the two sides are different music, so a probe learns whatever sets the
 * folders apart: give examples that differ in the concept and little else.
 *
 * A file's index within its folder is its `piece`: every fifth file of each
 * folder (the first included) is held out for validation, so each folder
 * needs at least two files. Text is '' as for stems.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resample } from '../audio/resample.js';
import type { EncodecEncoder } from '../model/codec/encodec/encoder.js';
import { UsageError } from '../util/errors.js';
import { quoted } from '../util/printable.js';
import { Rng } from '../util/rng.js';
import { readWav } from './stem-pairs.js';
import { cutFrames, randomSegment, type ProbeExample } from './probe-example.js';

export interface ExampleFolderOptions {
  /** Segments per side, spread evenly over its files. */
  segments: number;
  seed: number;
  /** Longest segment, frames (the model's window less the codebook delay). */
  maxFrames: number;
  /** Frames per second of the codes: the shortest segment is one second. */
  frameRate: number;
}

/** The WAV files of an examples folder, in name order; at least two (one is held out). */
export function exampleFiles(dir: string, option: string): string[] {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${option} ${quoted(dir)}: no such folder`);
  const files = readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.wav') && !f.startsWith('.'))
    .sort()
    .map((f) => join(dir, f));
  if (files.length < 2) throw new UsageError(`${option} ${quoted(dir)}: holds ${files.length} WAV files; at least 2 are needed (every fifth, the first included, is held out for validation)`);
  return files;
}

/** Positive segments from `withDir`'s files, negatives from `withoutDir`'s. */
export async function examplePairs(withDir: string, withoutDir: string, encoder: EncodecEncoder, options: ExampleFolderOptions): Promise<ProbeExample[]> {
  const sides = [
    { files: exampleFiles(withDir, '--examples-with'), label: 1 as const },
    { files: exampleFiles(withoutDir, '--examples-without'), label: 0 as const },
  ];
  const lo = Math.max(1, Math.round(options.frameRate));
  const examples: ProbeExample[] = [];
  for (const { files, label } of sides) {
    for (let piece = 0; piece < files.length; piece++) {
      const wav = readWav(files[piece]);
      const audio = wav.rate === encoder.sampleRate ? wav.samples : await resample(wav.samples, wav.rate, encoder.sampleRate, 'medium');
      const codes = await encoder.encode(audio);
      const frames = codes[0].length;
      const quota = Math.floor(options.segments / files.length) + (piece < options.segments % files.length ? 1 : 0);
      const rng = new Rng(options.seed * 1_000_003 + piece * 7919 + label * 104_729);
      for (let s = 0; s < quota; s++) {
        const { start, end } = randomSegment(rng, frames, lo, options.maxFrames);
        examples.push({ tokens: cutFrames(codes, start, end), label, piece, text: '' });
      }
    }
  }
  return examples;
}
