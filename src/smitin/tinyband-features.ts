/**
 * The features SMITIN steers on tinyband, with exact ground truth from the
 * tokens: the four instruments, plus two that are not instruments, to answer
 * how SMITIN extends to mood and style:
 * - minor: the harmony is in a minor mood (the composer's same piece in the
 *   minor mode against it in the major mode);
 * - dense: high rhythmic density (the same piece at high against low energy:
 *   denser grooves, bass and comping patterns, busier melody).
 *
 * Probe pairs follow the paper: a positive segment has the feature at its
 * end, its negative is the same segment without it (the stem removed, or the
 * same seed composed in the other mode or energy). Where the instrument
 * played alone its negative is silence; `keepBand` keeps only the pairs
 * whose negative still has the band playing (measured and not shipped:
 * docs/eval.md, "Measured, not shipped: probes whose negatives keep the band
 * playing").
 *
 * Beside the knobs, one monitor probe (never a knob): `sounding`, the band
 * plays in the last bar, against the same segment with its last bar silent.
 * On tinyband every instrument's direction shares part of it (cosine up to
 * 0.71 at layer 2), so a removal push also pushes toward the whole band
 * stopping; steering.json can keep a removal off it (removalOrthogonalTo;
 * measured for the drums and left out: docs/eval.md, "New silent bars").
 */
import { FRAMES_PER_BAR } from '../constants.js';
import { compose, type Piece } from '../model/tinyband/composer/index.js';
import { CHORD_QUALITIES, decodeBass, decodeDrums, decodeHarmony, decodeMelody, HOLD, INSTRUMENTS, isInstrument, removeInstrument, REST, soundingInstruments } from '../model/tinyband/layout.js';
import { Rng } from '../util/rng.js';
import { cutFrames, type ProbeExample } from './probe-example.js';

export const TINYBAND_FEATURES = ['drums', 'bass', 'piano', 'guitar', 'minor', 'dense'] as const;
export type TinybandFeature = (typeof TINYBAND_FEATURES)[number];

export function isTinybandFeature(name: string): name is TinybandFeature {
  return (TINYBAND_FEATURES as readonly string[]).includes(name);
}

/** Probes trained beside the knobs that are read, never turned (probe-set.ts, role `monitor`). */
export const TINYBAND_MONITORS = ['sounding'] as const;
/** Everything `smitin probes train` trains for tinyband by default, knobs first (their order seeds their pairs). */
export const TINYBAND_PROBES = [...TINYBAND_FEATURES, ...TINYBAND_MONITORS] as const;
export type TinybandProbe = (typeof TINYBAND_PROBES)[number];

export function isTinybandProbe(name: string): name is TinybandProbe {
  return (TINYBAND_PROBES as readonly string[]).includes(name);
}

export function isTinybandMonitor(name: string): name is (typeof TINYBAND_MONITORS)[number] {
  return (TINYBAND_MONITORS as readonly string[]).includes(name);
}

export const FEATURE_DESCRIPTIONS: Record<TinybandProbe, string> = {
  drums: 'drums sound in the last bar / the same segment with the drum stem removed',
  bass: 'bass sounds in the last bar / the same segment with the bass stem removed',
  piano: 'piano sounds in the last bar / the same segment with the piano stem removed',
  guitar: 'guitar sounds in the last bar / the same segment with the guitar stem removed',
  minor: 'the piece in a minor key, ending on a minor chord / the same seed composed in the major key, ending on a major chord',
  dense: 'the piece at high energy (dense patterns) / the same seed at low energy',
  sounding: 'the band plays in the last bar / the same segment with its last bar silent',
};

/** What `keepBand` adds to an instrument's description. */
export const KEEP_BAND_DESCRIPTION = ', the rest of the band still playing';

/** How an instrument's pairs are chosen. */
export interface PairOptions {
  /** Only pairs whose negative has another instrument in at least a quarter of its last bar (default false: the shipped probes). */
  keepBand?: boolean;
}

const MINOR_QUALITIES = new Set(['min', 'min7', 'dim']);
const MINOR_QUALITY_IDS = CHORD_QUALITIES.map((q) => MINOR_QUALITIES.has(q));

/** Per frame: 1 where a minor-quality chord sounds, 0 where another chord sounds, -1 where none does. */
export function chordMinorFlags(tokens: readonly ArrayLike<number>[]): Int8Array {
  const out = new Int8Array(tokens[2].length).fill(-1);
  let current = -1;
  for (let t = 0; t < out.length; t++) {
    const token = tokens[2][t];
    if (token !== HOLD) {
      const e = decodeHarmony(token);
      current = e.kind === 'strike' ? (MINOR_QUALITY_IDS[CHORD_QUALITIES.indexOf(e.quality)] ? 1 : 0) : -1;
    }
    out[t] = current;
  }
  return out;
}

/** Share of the frames with a chord sounding whose chord is minor-quality (min, min7, dim); NaN when no chord sounds. */
export function minorShare(tokens: readonly ArrayLike<number>[]): number {
  let chordFrames = 0;
  let minor = 0;
  let current: boolean | null = null;
  for (let t = 0; t < tokens[2].length; t++) {
    const token = tokens[2][t];
    if (token !== HOLD) {
      const e = decodeHarmony(token);
      current = e.kind === 'strike' ? MINOR_QUALITY_IDS[CHORD_QUALITIES.indexOf(e.quality)] : null;
    }
    if (current === null) continue;
    chordFrames++;
    if (current) minor++;
  }
  return chordFrames ? minor / chordFrames : NaN;
}

/** Note-ons and drum hits per frame, all instruments together. */
export function onsetDensity(tokens: readonly ArrayLike<number>[]): number {
  const frames = tokens[0].length;
  let onsets = 0;
  for (let t = 0; t < frames; t++) {
    onsets += decodeDrums(tokens[0][t]).size;
    if (decodeBass(tokens[1][t]).kind === 'note') onsets++;
    if (decodeHarmony(tokens[2][t]).kind === 'strike') onsets++;
    if (decodeMelody(tokens[3][t]).kind === 'note') onsets++;
  }
  return frames ? onsets / frames : 0;
}

/**
 * Above this many onsets per frame a passage counts as dense: halfway
 * between the medians of composer pieces at low and high energy (measured
 * by test/smitin/tinyband-features.test.ts on 400 pieces).
 */
export const DENSE_THRESHOLD = 0.92;
/** Share of frames an instrument must sound in, or share of minor chords, for the feature to count as there (the 25 % rule for instruments). */
export const INSTRUMENT_SUCCESS_SHARE = 0.25;
export const MINOR_SUCCESS_SHARE = 0.5;

/**
 * How much of the feature the tokens hold: an instrument's share of frames,
 * the share of minor chords, or onsets per frame.
 */
export function featureAmount(feature: TinybandFeature, tokens: readonly ArrayLike<number>[]): number {
  if (isInstrument(feature)) {
    const row = soundingInstruments(tokens)[INSTRUMENTS.indexOf(feature)];
    return row.reduce((a, b) => a + b, 0) / Math.max(1, row.length);
  }
  if (feature === 'minor') return minorShare(tokens);
  return onsetDensity(tokens);
}

/** Whether the feature is there (the evaluation's success test). */
export function featurePresent(feature: TinybandFeature, tokens: readonly ArrayLike<number>[]): boolean {
  const a = featureAmount(feature, tokens);
  if (isInstrument(feature)) return a >= INSTRUMENT_SUCCESS_SHARE;
  if (feature === 'minor') return a >= MINOR_SUCCESS_SHARE;
  return a >= DENSE_THRESHOLD;
}


/**
 * One pair (positive, negative) cut from piece number `index`, or null when
 * the piece offers no segment with the feature at its end. Segments start on
 * a bar and hold `minFrames`..`maxFrames` frames.
 */
export function tinybandPair(feature: TinybandProbe, index: number, seed: number, rng: Rng, options: PairOptions = {}, minFrames = 16, maxFrames = 128): [ProbeExample, ProbeExample] | null {
  const pieceSeed = seed * 100_003 + index;
  let pos: Piece;
  let neg: Uint16Array[];
  if (feature === 'sounding') {
    // a segment of one silent bar would be silence against music: the sounding pair needs music before its silent bar
    minFrames = Math.max(minFrames, 2 * FRAMES_PER_BAR);
    pos = compose({ seed: pieceSeed, bars: 16 });
    neg = pos.tokens;
  } else if (feature === 'minor' || feature === 'dense') {
    const [a, b] = feature === 'minor' ? [compose({ seed: pieceSeed, bars: 16, mode: 'minor' }), compose({ seed: pieceSeed, bars: 16, mode: 'major' })] : [compose({ seed: pieceSeed, bars: 16, energy: 2 }), compose({ seed: pieceSeed, bars: 16, energy: 0 })];
    pos = a;
    neg = b.tokens;
  } else {
    pos = compose({ seed: pieceSeed, bars: 16 });
    neg = removeInstrument(pos.tokens, feature);
  }
  const length = rng.int(minFrames, maxFrames);
  const lastStart = pos.frames - length;
  const starts: number[] = [];
  for (let s = 0; s <= lastStart; s += FRAMES_PER_BAR) starts.push(s);
  const sounding = isInstrument(feature) ? soundingInstruments(pos.tokens)[INSTRUMENTS.indexOf(feature)] : feature === 'sounding' ? anySounding(pos.tokens) : null;
  // keepBand: without the instrument the rest of the band still plays, so no negative ends in a silent bar
  const bandLeft = options.keepBand && isInstrument(feature) ? anySounding(neg) : null;
  // mood is heard chord by chord: the minor piece ends on a minor chord where the major one ends on a major chord
  const moods = feature === 'minor' ? [chordMinorFlags(pos.tokens), chordMinorFlags(neg)] : null;
  const usable = starts.filter((s) => {
    if (moods) return moods[0][s + length - 1] === 1 && moods[1][s + length - 1] === 0;
    if (!sounding) return true;
    // the instrument is there at the end: it sounds in at least a quarter of the last bar (and, with keepBand, so does the rest of the band)
    const end = s + length;
    return soundsAtEnd(sounding, s, end) && (!bandLeft || soundsAtEnd(bandLeft, s, end));
  });
  if (usable.length === 0) return null;
  const start = rng.pick(usable);
  const text = pos.style;
  const negative = cutFrames(neg, start, start + length);
  if (feature === 'sounding') for (const row of negative) row.fill(REST, length - FRAMES_PER_BAR);
  return [
    { tokens: cutFrames(pos.tokens, start, start + length), label: 1, piece: index, text },
    { tokens: negative, label: 0, piece: index, text },
  ];
}

/** Whether a per-frame sounding row is on in at least a quarter of the segment's last bar. */
function soundsAtEnd(row: Uint8Array, start: number, end: number): boolean {
  let n = 0;
  for (let t = Math.max(start, end - FRAMES_PER_BAR); t < end; t++) n += row[t];
  return n >= FRAMES_PER_BAR / 4;
}

/** Per frame: 1 where any instrument sounds. */
function anySounding(tokens: readonly ArrayLike<number>[]): Uint8Array {
  const rows = soundingInstruments(tokens);
  return Uint8Array.from(rows[0], (_, t) => (rows.some((r) => r[t]) ? 1 : 0));
}

/** `pairs` pairs for one feature, from consecutive pieces (pieces without a usable segment are skipped). */
export function tinybandPairs(feature: TinybandProbe, pairs: number, seed: number, options: PairOptions = {}): ProbeExample[] {
  const rng = new Rng(seed ^ (TINYBAND_PROBES.indexOf(feature) + 1) * 0x9e3779b1);
  const out: ProbeExample[] = [];
  for (let i = 0; out.length < 2 * pairs; i++) {
    if (i > pairs * 20) throw new Error(`could not find ${pairs} pieces with ${feature} in them`);
    const p = tinybandPair(feature, i, seed, rng, options);
    if (p) out.push(...p);
  }
  return out;
}
