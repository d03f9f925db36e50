/**
 * The styles the composer writes in. Each is data only: drum grooves, bass
 * and comping rhythms, harmonic habits and the words that tag it. Patterns
 * are one bar of 16 steps (16th notes):
 *   drums    'x' hit, '.' none                    (one string per voice)
 *   bass     'R' root, '5' fifth, '3' third, '8' octave, '-' hold, '.' rest
 *   comping  'x' strike, '-' hold, '.' rest
 * A groove lists its patterns from sparse to dense; a piece's energy picks
 * how far along that list it reaches.
 */
import { INSTRUMENTS, type DrumVoice } from './layout.js';

export const STYLE_NAMES = ['rock', 'funk', 'house', 'ballad', 'bossa'] as const;
export type StyleName = (typeof STYLE_NAMES)[number];

export type DrumPattern = Partial<Record<DrumVoice, string>>;

export interface Style {
  name: StyleName;
  /** Grooves from sparse to dense. */
  grooves: readonly DrumPattern[];
  /** Steps (0..15) where this style's drums may hit; used by quality checks of generated music. */
  grid: 8 | 16;
  /** A last-bar fill, layered over the groove at a section's end. */
  fill: DrumPattern;
  bass: readonly string[];
  /** Chord-instrument comping, sparse to dense. */
  comping: { piano: readonly string[]; guitar: readonly string[] };
  /** Probability that a progression changes chord every half bar instead of every bar. */
  twoChordsPerBar: number;
  /** Probability of seventh chords instead of triads. */
  sevenths: number;
  /** Probability of a major key. */
  major: number;
  /** Melody rhythm cells (durations in 16ths, negative = rest), summing to 16 or 8. */
  melodyCells: readonly (readonly number[])[];
  /** Typical tempo, BPM: only a default for rendering, the model is tempo-free. */
  tempo: number;
}

export const STYLES: Record<StyleName, Style> = {
  rock: {
    name: 'rock',
    grid: 8,
    grooves: [
      { kick: 'x.......x.......', snare: '....x.......x...', closedHat: 'x...x...x...x...' },
      { kick: 'x.......x.x.....', snare: '....x.......x...', closedHat: 'x.x.x.x.x.x.x.x.' },
      { kick: 'x.....x.x.x.....', snare: '....x.......x...', closedHat: 'x.x.x.x.x.x.x.x.', openHat: '..............x.' },
      { kick: 'x.x...x.x.x.....', snare: '....x.......x.x.', ride: 'x.x.x.x.x.x.x.x.' },
    ],
    fill: { snare: '........x.x.x.x.', kick: '........x.......' },
    bass: ['R-------R-------', 'R-R-R-R-R-R-R-R-', 'R---R---5---R---', 'R-R-R-R-5-5-8-8-'],
    comping: {
      piano: ['x---------------', 'x-------x-------', 'x---x---x---x---'],
      guitar: ['x-------x-------', 'x-x-x-x-x-x-x-x-', 'x-x-x.x-x-x-x.x-'],
    },
    twoChordsPerBar: 0.2,
    sevenths: 0.1,
    major: 0.6,
    melodyCells: [
      [4, 4, 4, 4],
      [2, 2, 4, 8],
      [4, 2, 2, 8],
      [6, 2, 8],
      [4, 4, 8],
    ],
    tempo: 124,
  },
  funk: {
    name: 'funk',
    grid: 16,
    grooves: [
      { kick: 'x.........x.....', snare: '....x.......x...', closedHat: 'x.x.x.x.x.x.x.x.' },
      { kick: 'x..x......x..x..', snare: '....x.......x...', closedHat: 'xxxxxxxxxxxxxxxx' },
      { kick: 'x..x..x...x..x..', snare: '....x..x.x..x...', closedHat: 'xxxxxxx.xxxxxxx.', openHat: '.......x.......x' },
      { kick: 'x.xx..x...xx.x..', snare: '....x..x.x..x..x', closedHat: 'xxxxxxx.xxxxxxx.', openHat: '.......x.......x' },
    ],
    fill: { snare: '........xxx.x.xx', kick: '........x.....x.' },
    bass: ['R-.R....R-.5....', 'R..R..8.R..5.R..', 'R-.R..8.R-.5..R.', 'R.8R.5.8R..R.3.5'],
    comping: {
      piano: ['x.......x.......', 'x..x....x..x....', '.x..x.x..x..x.x.'],
      guitar: ['....x.......x...', '.x..x.x..x..x.x.', 'x.xx.x.xx.x.xx.x'],
    },
    twoChordsPerBar: 0.1,
    sevenths: 0.8,
    major: 0.4,
    melodyCells: [
      [2, 2, -2, 2, 4, -4],
      [1, 1, 2, -2, 2, 2, -6],
      [3, 3, 2, -8],
      [2, -1, 1, 2, 2, 8],
    ],
    tempo: 104,
  },
  house: {
    name: 'house',
    grid: 16,
    grooves: [
      { kick: 'x...x...x...x...', clap: '....x.......x...' },
      { kick: 'x...x...x...x...', clap: '....x.......x...', openHat: '..x...x...x...x.' },
      { kick: 'x...x...x...x...', clap: '....x.......x...', openHat: '..x...x...x...x.', closedHat: 'x.x.x.x.x.x.x.x.' },
      { kick: 'x...x...x...x...', clap: '....x.......x...', openHat: '..x...x...x...x.', closedHat: 'xxx.xxx.xxx.xxx.' },
    ],
    fill: { clap: '........x.x.xxxx' },
    bass: ['R-..R-..R-..R-..', '..R...R...R...R.', '..R-..R-..R-..8-', 'R.8.R.8.R.8.5.8.'],
    comping: {
      piano: ['x-------x-------', '..x...x...x...x.', 'x..x..x...x..x..'],
      guitar: ['..x...x...x...x.', '..x.x...x.x..x..', '.xx..xx..xx..xx.'],
    },
    twoChordsPerBar: 0.0,
    sevenths: 0.6,
    major: 0.4,
    melodyCells: [
      [4, -4, 4, -4],
      [2, 2, -4, 2, 2, -4],
      [3, 3, 2, 8],
      [8, 8],
    ],
    tempo: 124,
  },
  ballad: {
    name: 'ballad',
    grid: 8,
    grooves: [
      { kick: 'x.........x.....', ride: 'x...x...x...x...' },
      { kick: 'x.........x.....', snare: '........x.......', closedHat: 'x...x...x...x...' },
      { kick: 'x.........x.....', snare: '........x.......', closedHat: 'x.x.x.x.x.x.x.x.' },
      { kick: 'x.....x...x.....', snare: '........x.......', closedHat: 'x.x.x.x.x.x.x.x.', openHat: '......x.........' },
    ],
    fill: { snare: '............x.xx', crash: '................' },
    bass: ['R---------------', 'R-------5-------', 'R-------R---5---', 'R-----5-8-------'],
    comping: {
      piano: ['x---------------', 'x-------x-------', 'x---x---x---x---'],
      guitar: ['x---------------', 'x-------x-------', 'x---x---x-x-x---'],
    },
    twoChordsPerBar: 0.35,
    sevenths: 0.3,
    major: 0.5,
    melodyCells: [
      [8, 8],
      [4, 4, 8],
      [6, 2, 8],
      [4, 12],
      [2, 2, 4, 8],
    ],
    tempo: 72,
  },
  bossa: {
    name: 'bossa',
    grid: 8,
    grooves: [
      { kick: 'x.....x.x.....x.', clap: '..........x.....', closedHat: 'x.x.x.x.x.x.x.x.' },
      { kick: 'x.....x.x.....x.', clap: 'x..x..x...x..x..', closedHat: 'x.x.x.x.x.x.x.x.' },
      { kick: 'x.....x.x.....x.', clap: 'x..x..x...x..x..', ride: 'x.x.x.x.x.x.x.x.' },
    ],
    fill: { clap: '........x.x.x.x.' },
    bass: ['R-----5-R-----5-', 'R-----5-5-----R-', 'R---..5-R---..5-'],
    comping: {
      piano: ['x-------x-------', 'x-----x---x-----', 'x--x--x---x--x--'],
      guitar: ['x-----x---x-----', 'x--x--x---x--x--', 'x-x--x-x-x--x-x-'],
    },
    twoChordsPerBar: 0.3,
    sevenths: 0.9,
    major: 0.6,
    melodyCells: [
      [6, 2, 8],
      [2, 4, 2, 8],
      [4, 4, 4, 4],
      [3, 3, 2, -8],
    ],
    tempo: 132,
  },
};

/** Chord progressions as 0-based scale degrees, per mode. */
export const PROGRESSIONS: Record<'major' | 'minor', readonly (readonly number[])[]> = {
  major: [
    [0, 4, 5, 3],
    [0, 5, 3, 4],
    [0, 3, 4, 3],
    [1, 4, 0, 0],
    [0, 3, 0, 4],
    [5, 3, 0, 4],
    [0, 2, 3, 4],
  ],
  minor: [
    [0, 5, 2, 6],
    [0, 3, 4, 0],
    [0, 6, 5, 6],
    [0, 3, 6, 2],
    [0, 5, 3, 4],
    [0, 3, 0, 4],
  ],
};

/** Words that tag a piece for text conditioning. */
export const MOOD_WORDS: Record<'major' | 'minor', readonly string[]> = {
  major: ['happy', 'bright'],
  minor: ['sad', 'dark'],
};
export const ENERGY_WORDS = ['calm', 'steady', 'energetic'] as const;
export type Energy = 0 | 1 | 2;

/** Every word tinyband's text encoder knows (its tokenizer.json less the T5 specials): what a musician can type. */
export const PROMPT_WORDS: readonly string[] = [...STYLE_NAMES, ...MOOD_WORDS.major, ...MOOD_WORDS.minor, ...ENERGY_WORDS, ...INSTRUMENTS];

export function isStyleName(name: string): name is StyleName {
  return (STYLE_NAMES as readonly string[]).includes(name);
}
