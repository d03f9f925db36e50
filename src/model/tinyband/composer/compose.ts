/**
 * The tinyband composer: seeded pieces for a four-piece band (drums, bass,
 * piano, guitar) in one of the styles, with a key, chords, an arrangement in
 * sections, text tags and per-frame labels. It is the data the shipped model
 * learns from and the ground truth its steering is measured against.
 */
import { FRAMES_PER_BAR } from '../../../constants.js';
import { Codebook, INSTRUMENTS } from '../layout.js';
import { Rng } from '../../../util/rng.js';
import type { Energy, StyleName } from '../styles.js';
import { ENERGY_WORDS, MOOD_WORDS, STYLES, STYLE_NAMES, isStyleName } from '../styles.js';
import type { Key } from '../theory.js';
import type { ArrangementOptions } from './arrangement.js';
import { arrange, DEFAULT_ARRANGEMENT } from './arrangement.js';
import { writeBass } from './bass.js';
import { writeComping } from './comping.js';
import type { CompositionContext } from './context.js';
import { writeDrums } from './drums.js';
import { writeMelody } from './melody.js';
import type { Piece } from './piece.js';
import { emptyTokens } from './piece.js';
import { writeChords } from './progression.js';
import { assignRoles } from './roles.js';

export interface ComposeOptions {
  seed: number;
  /** Length in bars; rounded up to whole 4-bar sections, at least 8. */
  bars?: number;
  style?: StyleName;
  /** Force the mode or the energy; the rest of the piece is drawn as without it, so the same seed in the other mode is the same piece re-harmonised (probe pairs). */
  mode?: Key['mode'];
  energy?: Energy;
  arrangement?: ArrangementOptions;
}

export const DEFAULT_BARS = 32;
const MIN_BARS = 8;

export function compose(options: ComposeOptions): Piece {
  const { seed } = options;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got: ${seed}`);
  const requested = options.bars ?? DEFAULT_BARS;
  if (!Number.isFinite(requested) || requested <= 0) throw new RangeError(`bars must be a positive number, got: ${requested}`);
  if (options.style !== undefined && !isStyleName(options.style)) {
    throw new RangeError(`style must be one of ${STYLE_NAMES.join(', ')}, got: ${options.style}`);
  }
  const rng = new Rng(seed);
  const styleName = options.style ?? rng.pick(STYLE_NAMES);
  const style = STYLES[styleName];
  const bars = Math.max(MIN_BARS, Math.ceil(requested / 4) * 4);
  const frames = bars * FRAMES_PER_BAR;
  const tonic = rng.int(0, 11);
  const drawnMode = rng.chance(style.major) ? 'major' : 'minor';
  const key: Key = { tonic, mode: options.mode ?? drawnMode };
  const drawnEnergy = rng.int(0, 2) as Energy;
  const energy = options.energy ?? drawnEnergy;
  if (energy !== 0 && energy !== 1 && energy !== 2) throw new RangeError(`energy must be 0, 1 or 2, got: ${energy}`);
  if (key.mode !== 'major' && key.mode !== 'minor') throw new RangeError(`mode must be major or minor, got: ${key.mode}`);

  // Each part draws from its own stream, so changing one writer leaves the others' choices alone.
  const sections = arrange(bars, rng.fork(), options.arrangement ?? DEFAULT_ARRANGEMENT);
  const chords = writeChords(key, style, sections, frames, rng.fork());
  const ctx = (r: Rng): CompositionContext => ({ rng: r, style, key, energy, frames, sections, chords });
  const roles = assignRoles(sections, rng.fork());
  const tokens = emptyTokens(frames);
  writeDrums(ctx(rng.fork()), tokens[Codebook.Drums]);
  writeBass(ctx(rng.fork()), tokens[Codebook.Bass]);
  writeComping(ctx(rng.fork()), roles, tokens[Codebook.Harmony]);
  writeMelody(ctx(rng.fork()), roles, tokens[Codebook.Melody]);

  const labels = INSTRUMENTS.map((inst) => {
    const row = new Uint8Array(frames);
    for (const s of sections) if (s.playing[inst]) row.fill(1, s.startBar * FRAMES_PER_BAR, (s.startBar + s.bars) * FRAMES_PER_BAR);
    return row;
  });
  const tags = [styleName, rng.pick(MOOD_WORDS[key.mode]), ENERGY_WORDS[energy]];
  return { seed, style: styleName, key, energy, bars, frames, tags, sections, chords, tokens, labels };
}
