/** Bass part: the style's rhythm on chord tones, re-struck where the chord changes under a held note. */
import { FRAMES_PER_BAR } from '../../../constants.js';
import { BASS_LOW, BASS_PITCHES, encodeBass, HOLD, REST } from '../layout.js';
import { CHORD_INTERVALS } from '../layout.js';
import type { Chord } from '../theory.js';
import { scalePitchClasses, pitchClass } from '../theory.js';
import type { CompositionContext } from './context.js';
import { patternIndex, sameChord } from './context.js';

/** Root placed in A1..G#2 so fifth and octave stay inside the bass range. */
const ROOT_LOW = 33;

function bassPitch(symbol: string, chord: Chord): number {
  const root = ROOT_LOW + ((chord.root - (ROOT_LOW % 12) + 12) % 12);
  const intervals = CHORD_INTERVALS[chord.quality];
  switch (symbol) {
    case '5':
      return root + intervals[2];
    case '3':
      return root + intervals[1];
    case '8':
      return root + 12;
    default:
      return root;
  }
}

/** A scale tone a step below or above `target`, for an approach note into the next chord. */
function approachNote(target: number, ctx: CompositionContext): number {
  const scale = scalePitchClasses(ctx.key);
  const dir = ctx.rng.chance(0.5) ? -1 : 1;
  for (let d = 1; d <= 2; d++) {
    const p = target + dir * d;
    if (scale.includes(pitchClass(p))) return p;
  }
  return target;
}

export function writeBass(ctx: CompositionContext, row: Uint16Array): void {
  const { style, rng } = ctx;
  const hi = BASS_LOW + BASS_PITCHES - 1;
  for (const section of ctx.sections) {
    if (!section.playing.bass) continue;
    const pattern = style.bass[patternIndex(style.bass.length, ctx.energy, ctx)];
    let sounding: Chord | null = null;
    const first = section.startBar * FRAMES_PER_BAR;
    const last = Math.min(ctx.frames, (section.startBar + section.bars) * FRAMES_PER_BAR);
    for (let t = first; t < last; t++) {
      const symbol = pattern[t % FRAMES_PER_BAR];
      const chord = ctx.chords[t];
      if (symbol === '.' || (symbol === '-' && sounding === null)) {
        row[t] = REST;
        sounding = null;
      } else if (symbol === '-' && sameChord(sounding!, chord)) {
        row[t] = HOLD;
      } else {
        let pitch = bassPitch(symbol === '-' ? 'R' : symbol, chord);
        // Now and then lead into the next chord from a step away, as bass players do.
        const next = ctx.chords[t + 2];
        if (t + 2 < last && next && !sameChord(next, chord) && symbol !== '-' && rng.chance(0.25)) {
          pitch = approachNote(bassPitch('R', next), ctx);
        }
        row[t] = encodeBass({ kind: 'note', pitch: Math.max(BASS_LOW, Math.min(hi, pitch)) });
        sounding = chord;
      }
    }
  }
}
