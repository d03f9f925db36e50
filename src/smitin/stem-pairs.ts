/**
 * Probe data for a real MusicGen from audio stems: a folder with one
 * sub-folder per song, each holding the song's mix and its stems as WAV files
 * (MUSDB18's layout: mixture.wav, drums.wav, bass.wav, vocals.wav,
 * other.wav; `mix.wav` is read as the mixture too). A feature is a stem name.
 *
 * For feature f and a song that has stem f: a positive example is a segment
 * of the mixture's codes whose last second has f audible (the stem's RMS over
 * that second at or above a threshold); its negative is the same segment of
 * the codes of (mixture - stem f), the song without it. Codes come from
 * EnCodec's encoder (encodec_encode.onnx) on the whole song at the model's
 * rate, mono; segments are cut from them. Segment lengths and ends are
 * random (seeded). `piece` is the song's index, so the train / validation
 * split (every fifth piece) is by song; `text` is '' (a continuation's
 * conditioning carries no description of the audio).
 *
 * Songs are read one at a time (a whole MUSDB18 at 32 kHz would not fit in
 * memory): each song's audio is decoded, mixed to mono, resampled, encoded
 * and dropped before the next.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { decodeWav } from '../audio/wav.js';
import { resample } from '../audio/resample.js';
import type { EncodecEncoder } from '../model/codec/encodec/encoder.js';
import { UsageError } from '../util/errors.js';
import { quoted } from '../util/printable.js';
import { Rng } from '../util/rng.js';
import { isValidationPiece } from './train-probes.js';
import { cutFrames, type ProbeExample } from './probe-example.js';

/** File names read as a song's mix, in order of preference. */
export const MIXTURE_FILES = ['mixture.wav', 'mix.wav'] as const;

/** Default audibility threshold: the stem's RMS over the segment's last second, in dB re full scale. */
export const DEFAULT_THRESHOLD_DB = -40;

export interface StemSong {
  /** The song folder's name. */
  name: string;
  dir: string;
  mixture: string;
  /** Stem name (the file name without .wav, lower case) -> path. */
  stems: Map<string, string>;
}

export interface StemsFolder {
  dir: string;
  /** Songs in name order; a song's index here is its `piece`. */
  songs: StemSong[];
  /** Stems every song has (the default features), sorted. */
  common: string[];
  /** Stems at least one song has, sorted. */
  all: string[];
}

/** Lists a stems folder: one sub-folder per song with a mixture and at least one stem; errors name the folder and what was expected. */
export function readStemsFolder(dir: string): StemsFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--stems ${dir}: no such folder`);
  const layout = `(expected one sub-folder per song holding ${MIXTURE_FILES.join(' or ')} and stem WAVs such as drums.wav, bass.wav)`;
  const songDirs = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (songDirs.length === 0) throw new UsageError(`--stems ${dir}: holds no song folders ${layout}`);
  const songs = songDirs.map((name): StemSong => {
    const songDir = join(dir, name);
    const wavs = readdirSync(songDir).filter((f) => f.toLowerCase().endsWith('.wav'));
    const mixName = MIXTURE_FILES.find((m) => wavs.some((w) => w.toLowerCase() === m));
    if (!mixName) throw new UsageError(`--stems: song folder ${songDir} has no ${MIXTURE_FILES.join(' or ')} ${layout}`);
    const mixture = join(songDir, wavs.find((w) => w.toLowerCase() === mixName)!);
    const stems = new Map<string, string>();
    for (const w of wavs.sort()) {
      const stem = w.slice(0, -4).toLowerCase();
      if ((MIXTURE_FILES as readonly string[]).includes(w.toLowerCase()) || stem === 'accompaniment' || stem === 'linear_mixture') continue;
      stems.set(stem, join(songDir, w));
    }
    if (stems.size === 0) throw new UsageError(`--stems: song folder ${songDir} has a mixture but no stem WAVs ${layout}`);
    return { name, dir: songDir, mixture, stems };
  });
  const all = [...new Set(songs.flatMap((s) => [...s.stems.keys()]))].sort();
  const common = all.filter((f) => songs.every((s) => s.stems.has(f)));
  return { dir, songs, common, all };
}

/** Checks the features against the folder: each must be a stem of at least one song. */
export function checkStemFeatures(folder: StemsFolder, features: readonly string[]): void {
  if (features.length === 0) throw new UsageError(`--stems ${folder.dir}: no stem is in every song; name features with --features (stems found: ${folder.all.join(', ')})`);
  for (const f of features) {
    if (!folder.all.includes(f)) throw new UsageError(`--features: no song in ${folder.dir} has a ${f} stem (${f}.wav); stems found: ${folder.all.join(', ')}`);
  }
}

function mono(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const out = new Float32Array(channels[0].length);
  for (const c of channels) for (let i = 0; i < out.length; i++) out[i] += c[i];
  for (let i = 0; i < out.length; i++) out[i] /= channels.length;
  return out;
}

export function readWav(path: string): { rate: number; samples: Float32Array } {
  let decoded;
  try {
    decoded = decodeWav(readFileSync(path));
  } catch (err) {
    throw new UsageError(`${path}: not a readable WAV file (${(err as Error).message})`);
  }
  if (decoded.channels.length === 0 || decoded.channels[0].length === 0) throw new UsageError(`${path}: holds no audio`);
  return { rate: decoded.sampleRate, samples: mono(decoded.channels) };
}

/** A song's mixture and the stems asked for: mono at `rate`, all of one length (checked at the files' own rate). */
export async function loadSong(song: StemSong, stems: readonly string[], rate: number): Promise<{ mixture: Float32Array; stems: Map<string, Float32Array> }> {
  const mix = readWav(song.mixture);
  const toRate = (x: Float32Array) => (mix.rate === rate ? x : resample(x, mix.rate, rate, 'medium'));
  const out = new Map<string, Float32Array>();
  for (const name of stems) {
    const path = song.stems.get(name);
    if (!path) continue;
    const s = readWav(path);
    if (s.rate !== mix.rate) throw new UsageError(`${path}: is at ${s.rate} Hz, but ${basename(song.mixture)} at ${mix.rate} Hz: a song's stems and mixture must share a rate`);
    if (s.samples.length !== mix.samples.length) {
      throw new UsageError(`${path}: holds ${s.samples.length} samples, but ${basename(song.mixture)} ${mix.samples.length}: a song's stems and mixture must be of one length`);
    }
    out.set(name, await toRate(s.samples));
  }
  return { mixture: await toRate(mix.samples), stems: out };
}

export interface StemPairOptions {
  /** Pairs per feature, spread evenly over the songs that have the stem. */
  pairs: number;
  seed: number;
  /** Shortest segment, frames (default: one second, at most maxFrames). */
  minFrames?: number;
  /** Longest segment, frames (the model's window less the codebook delay). */
  maxFrames: number;
  /** Frames per second of the codes (50 for MusicGen). */
  frameRate: number;
  /** Audibility threshold, dBFS (default -40). */
  thresholdDb?: number;
  /** After each song: songs done, songs in all. */
  onSong?: (done: number, total: number, song: string) => void;
}

export interface StemPairs {
  /** Per feature: positive, negative, positive, negative, ... */
  examples: Map<string, ProbeExample[]>;
  /** Segment lengths drawn from, frames. */
  segmentFrames: [number, number];
  thresholdDb: number;
}

/**
 * Per frame end e (1..frames): whether the stem is audible over the second
 * of audio that ends at frame e (RMS at or above the threshold).
 */
export function audibleEnds(stem: Float32Array, hop: number, rate: number, frames: number, thresholdDb: number): Uint8Array {
  const prefix = new Float64Array(stem.length + 1);
  for (let i = 0; i < stem.length; i++) prefix[i + 1] = prefix[i] + stem[i] * stem[i];
  const limit = 10 ** (thresholdDb / 10); // mean square
  const out = new Uint8Array(frames + 1);
  for (let e = 1; e <= frames; e++) {
    const to = Math.min(stem.length, e * hop);
    const from = Math.max(0, to - rate);
    out[e] = to > from && (prefix[to] - prefix[from]) / (to - from) >= limit ? 1 : 0;
  }
  return out;
}

/**
 * Probe pairs for every feature from a stems folder, encoded with `encoder`
 * (at its sampling rate). Errors name the song and file; a feature that is
 * never audible is an error.
 */
export async function stemPairs(folder: StemsFolder, features: readonly string[], encoder: EncodecEncoder, options: StemPairOptions): Promise<StemPairs> {
  checkStemFeatures(folder, features);
  const hi = options.maxFrames;
  const lo = Math.min(options.minFrames ?? Math.round(options.frameRate), hi);
  if (!Number.isInteger(lo) || lo < 1 || !Number.isInteger(hi) || hi < lo) throw new RangeError(`segment frames must be integers with 1 <= min <= max, got ${lo}..${hi}`);
  const thresholdDb = options.thresholdDb ?? DEFAULT_THRESHOLD_DB;
  const rate = encoder.sampleRate;
  const examples = new Map<string, ProbeExample[]>(features.map((f) => [f, []]));
  // pairs per song for each feature: an even share over the songs that have the stem
  const quota = new Map<string, Map<number, number>>();
  for (const f of features) {
    const having = folder.songs.map((s, i) => (s.stems.has(f) ? i : -1)).filter((i) => i >= 0);
    quota.set(f, new Map(having.map((song, j) => [song, Math.floor(options.pairs / having.length) + (j < options.pairs % having.length ? 1 : 0)])));
  }
  for (let i = 0; i < folder.songs.length; i++) {
    const song = folder.songs[i];
    const wanted = features.filter((f) => (quota.get(f)!.get(i) ?? 0) > 0);
    if (wanted.length > 0) {
      const audio = await loadSong(song, wanted, rate);
      const mixCodes = await encoder.encode(audio.mixture);
      const frames = mixCodes[0].length;
      for (const f of wanted) {
        const stem = audio.stems.get(f)!;
        const without = Float32Array.from(audio.mixture, (x, j) => x - stem[j]);
        const withoutCodes = await encoder.encode(without);
        const audible = audibleEnds(stem, encoder.hop, rate, frames, thresholdDb);
        const rng = new Rng(options.seed * 1_000_003 + i * 7919 + features.indexOf(f) * 104_729);
        const n = quota.get(f)!.get(i)!;
        for (let p = 0; p < n; p++) {
          const length = rng.int(Math.min(lo, frames), Math.min(hi, frames));
          const ends: number[] = [];
          for (let e = length; e <= frames; e++) if (audible[e]) ends.push(e);
          if (ends.length === 0) continue;
          const end = rng.pick(ends);
          examples.get(f)!.push(
            { tokens: cutFrames(mixCodes, end - length, end), label: 1, piece: i, text: '' },
            { tokens: cutFrames(withoutCodes, end - length, end), label: 0, piece: i, text: '' },
          );
        }
      }
    }
    options.onSong?.(i + 1, folder.songs.length, song.name);
  }
  for (const f of features) checkSplits(folder, f, examples.get(f)!, thresholdDb);
  return { examples, segmentFrames: [lo, hi], thresholdDb };
}

/** Up to five quoted names, then how many more. */
function nameList(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((n) => quoted(n)).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/**
 * A feature's probes are fitted on the training songs and ranked by the
 * held-out ones: each side needs at least one pair, so a stem that is silent
 * in every song of a side is an error that names those songs and the stem.
 */
function checkSplits(folder: StemsFolder, f: string, list: readonly ProbeExample[], thresholdDb: number): void {
  const having = folder.songs.map((s, i) => ({ song: s.name, i })).filter(({ i }) => folder.songs[i].stems.has(f));
  const withPairs = new Set(list.map((e) => e.piece));
  const silent = `silent (never at or above ${thresholdDb} dBFS RMS over a second)`;
  if (withPairs.size === 0) throw new UsageError(`--stems ${quoted(folder.dir)}: the ${quoted(f)} stem is ${silent} in every song that has it`);
  const sides = [
    { name: 'held-out', why: 'every fifth song, the first included, validates the probes', songs: having.filter(({ i }) => isValidationPiece(i)) },
    { name: 'training', why: 'the probes are fitted on the other songs', songs: having.filter(({ i }) => !isValidationPiece(i)) },
  ];
  for (const side of sides) {
    if (side.songs.some(({ i }) => withPairs.has(i))) continue;
    const where = side.songs.length ? `is ${silent} in every ${side.name} song (${nameList(side.songs.map(({ song }) => song))})` : `is in no ${side.name} song`;
    throw new UsageError(`--stems ${quoted(folder.dir)}: the ${quoted(f)} stem ${where}; ${side.why}: add songs where it sounds, or leave it out with --features`);
  }
}
