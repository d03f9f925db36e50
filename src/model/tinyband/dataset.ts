/**
 * The training set as arrays Python reads with numpy alone:
 *   tokens.u16  little-endian uint16 [pieces, frames, 4]  codebooks 0..3 per frame
 *   labels.u8   uint8 [pieces, frames, 4]   1 = instrument in the arrangement (drums, bass, piano, guitar)
 *   chords.u8   uint8 [pieces, frames, 2]   chord root pitch class, quality index (CHORD_QUALITIES)
 *   dataset.json  this header: shapes, dtypes, vocabulary, and per piece seed, style, key, tags, sections
 * np.fromfile(dir + '/tokens.u16', dtype='<u2').reshape(header['arrays']['tokens']['shape'])
 */
import { FRAMES_PER_BAR } from '../../constants.js';
import { Rng } from '../../util/rng.js';
import { compose, DEFAULT_ARRANGEMENT, entryBaseline, ratio } from './composer/index.js';
import type { Piece } from './composer/index.js';
import {
  CHORD_QUALITIES,
  CODEBOOK_SIZES,
  DRUM_VOICES,
  INSTRUMENTS,
  NUM_CODEBOOKS,
  PAD_ID,
  VOCAB_SIZE,
} from './layout.js';
import { STYLE_NAMES } from './styles.js';

export const DATASET_FORMAT = 'smitin-tinyband-dataset';
export const DATASET_VERSION = 1;

export interface ArraySpec {
  file: string;
  dtype: '<u2' | '|u1';
  shape: number[];
}

export interface DatasetHeader {
  format: typeof DATASET_FORMAT;
  version: number;
  description: string;
  seed: number;
  pieces: number;
  bars: number;
  /** The arrangement's chance of a 2-bar section. */
  shortSections: number;
  frames: number;
  arrays: { tokens: ArraySpec; labels: ArraySpec; chords: ArraySpec };
  vocab: {
    numCodebooks: number;
    vocabSize: number;
    padId: number;
    codebookSizes: readonly number[];
    instruments: readonly string[];
    drumVoices: readonly string[];
    chordQualities: readonly string[];
    styles: readonly string[];
  };
  stats: { entryBaselineWithin4Bars: number };
  items: {
    seed: number;
    style: string;
    key: { tonic: number; mode: string };
    energy: number;
    tags: string[];
    sections: Piece['sections'];
  }[];
}

export interface Dataset {
  header: DatasetHeader;
  files: Record<string, Uint8Array>;
}

export interface DatasetOptions {
  pieces: number;
  seed: number;
  bars: number;
  /** The arrangement's chance of a 2-bar section (0: the shipped data). */
  shortSections?: number;
  onPiece?: (done: number) => void;
}

export function buildDataset({ pieces, seed, bars, shortSections = 0, onPiece }: DatasetOptions): Dataset {
  const arrangement = { ...DEFAULT_ARRANGEMENT, shortSectionProbability: shortSections };
  const frames = bars * FRAMES_PER_BAR;
  const tokens = new Uint16Array(pieces * frames * NUM_CODEBOOKS);
  const labels = new Uint8Array(pieces * frames * INSTRUMENTS.length);
  const chords = new Uint8Array(pieces * frames * 2);
  const seeds = new Rng(seed);
  const items: DatasetHeader['items'] = [];
  const arrangements: Pick<Piece, 'sections' | 'bars'>[] = [];
  for (let i = 0; i < pieces; i++) {
    const piece = compose({ seed: seeds.nextUint32(), bars, arrangement });
    if (piece.frames !== frames) throw new Error(`composer returned ${piece.frames} frames for ${bars} bars; use a multiple of 4 bars`);
    for (let t = 0; t < frames; t++) {
      const row = (i * frames + t) * NUM_CODEBOOKS;
      for (let k = 0; k < NUM_CODEBOOKS; k++) tokens[row + k] = piece.tokens[k][t];
      for (let j = 0; j < INSTRUMENTS.length; j++) labels[row + j] = piece.labels[j][t];
      chords[(i * frames + t) * 2] = piece.chords[t].root;
      chords[(i * frames + t) * 2 + 1] = CHORD_QUALITIES.indexOf(piece.chords[t].quality);
    }
    items.push({ seed: piece.seed, style: piece.style, key: piece.key, energy: piece.energy, tags: piece.tags, sections: piece.sections });
    arrangements.push(piece);
    onPiece?.(i + 1);
  }
  // Typed arrays are little-endian on every platform Node supports (x86, ARM).
  const header: DatasetHeader = {
    format: DATASET_FORMAT,
    version: DATASET_VERSION,
    description:
      'tinyband composer output. Each array is raw little-endian data: np.fromfile(path, dtype).reshape(shape). ' +
      'tokens[p, t, k] is codebook k of frame t (a 16th note) of piece p; labels[p, t, i] is 1 when instrument i plays ' +
      'in that section; chords[p, t] is (root pitch class, index into vocab.chordQualities).',
    seed,
    pieces,
    bars,
    shortSections,
    frames,
    arrays: {
      tokens: { file: 'tokens.u16', dtype: '<u2', shape: [pieces, frames, NUM_CODEBOOKS] },
      labels: { file: 'labels.u8', dtype: '|u1', shape: [pieces, frames, INSTRUMENTS.length] },
      chords: { file: 'chords.u8', dtype: '|u1', shape: [pieces, frames, 2] },
    },
    vocab: {
      numCodebooks: NUM_CODEBOOKS,
      vocabSize: VOCAB_SIZE,
      padId: PAD_ID,
      codebookSizes: CODEBOOK_SIZES,
      instruments: INSTRUMENTS,
      drumVoices: DRUM_VOICES,
      chordQualities: CHORD_QUALITIES,
      styles: STYLE_NAMES,
    },
    stats: { entryBaselineWithin4Bars: ratio(entryBaseline(arrangements)) },
    items,
  };
  return {
    header,
    files: {
      'tokens.u16': new Uint8Array(tokens.buffer),
      'labels.u8': labels,
      'chords.u8': chords,
    },
  };
}

export interface LoadedPiece {
  /** Codebook-major tokens: tokens[k][t]. */
  tokens: Uint16Array[];
  item: DatasetHeader['items'][number] & { prompt?: string };
}

/**
 * Reads a dataset folder (composer output, or generated samples written in
 * the same format). Errors name the file and what was expected.
 */
export function readDataset(dir: string, read: (path: string) => Uint8Array): { header: DatasetHeader; pieces: LoadedPiece[] } {
  const headerPath = `${dir}/dataset.json`;
  let header: DatasetHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(read(headerPath))) as DatasetHeader;
  } catch (err) {
    throw new Error(`${headerPath}: expected a ${DATASET_FORMAT} header (JSON): ${(err as Error).message}`);
  }
  if (header.format !== DATASET_FORMAT) throw new Error(`${headerPath}: format must be "${DATASET_FORMAT}", got: ${String(header.format)}`);
  const spec = header.arrays?.tokens;
  if (!spec || spec.dtype !== '<u2' || spec.shape?.length !== 3 || spec.shape[2] !== NUM_CODEBOOKS) {
    throw new Error(`${headerPath}: arrays.tokens must be <u2 with shape [pieces, frames, ${NUM_CODEBOOKS}], got: ${JSON.stringify(spec)}`);
  }
  const [count, frames] = spec.shape;
  const bytes = read(`${dir}/${spec.file}`);
  if (bytes.byteLength !== count * frames * NUM_CODEBOOKS * 2) {
    throw new Error(`${dir}/${spec.file}: expected ${count * frames * NUM_CODEBOOKS * 2} bytes for shape [${spec.shape}], got: ${bytes.byteLength}`);
  }
  const flat = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const pieces: LoadedPiece[] = [];
  for (let p = 0; p < count; p++) {
    const tokens = Array.from({ length: NUM_CODEBOOKS }, () => new Uint16Array(frames));
    for (let t = 0; t < frames; t++) for (let k = 0; k < NUM_CODEBOOKS; k++) tokens[k][t] = flat[(p * frames + t) * NUM_CODEBOOKS + k];
    pieces.push({ tokens, item: header.items?.[p] ?? ({} as LoadedPiece['item']) });
  }
  return { header, pieces };
}
