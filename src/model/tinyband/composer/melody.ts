/**
 * Melody part: two-bar phrases built from the style's rhythm cells. Pitches
 * move mostly by scale step, land on chord tones on the beat, and close each
 * phrase on a chord tone; some phrases are left out so the melody breathes.
 */
import { FRAMES_PER_BAR, FRAMES_PER_BEAT } from '../../../constants.js';
import type { ChordInstrument } from '../layout.js';
import { encodeMelody, HOLD, MELODY_LOW, MELODY_PITCHES, REST } from '../layout.js';
import { chordPitchClasses, pitchesIn, scalePitchClasses } from '../theory.js';
import type { CompositionContext } from './context.js';
import type { Roles } from './roles.js';

/** Where the tune lives: inside the melody range, away from its edges. */
const TUNE_LOW = Math.max(MELODY_LOW, 60);
const TUNE_HIGH = Math.min(MELODY_LOW + MELODY_PITCHES - 1, 84);
const PHRASE_BARS = 2;

function nearest(pitches: readonly number[], target: number): number {
  let best = pitches[0];
  for (const p of pitches) if (Math.abs(p - target) < Math.abs(best - target)) best = p;
  return best;
}

interface Walker {
  scale: number[];
  pitch: number;
}

function nextPitch(ctx: CompositionContext, w: Walker, t: number, landing: boolean): number {
  const chordTones = pitchesIn(chordPitchClasses(ctx.chords[t]), TUNE_LOW, TUNE_HIGH);
  const onBeat = t % FRAMES_PER_BEAT === 0;
  if (landing || (onBeat && ctx.rng.chance(0.7))) {
    // Step towards a chord tone close by, with a small pull back to the middle of the range.
    const drift = ctx.rng.pick([-3, -2, -1, 0, 1, 2, 3]) + (w.pitch > 76 ? -2 : w.pitch < 66 ? 2 : 0);
    return nearest(chordTones, w.pitch + drift);
  }
  const i = w.scale.indexOf(nearest(w.scale, w.pitch));
  const step = ctx.rng.pick([-2, -1, -1, -1, 1, 1, 1, 2]) + (w.pitch > 78 ? -1 : w.pitch < 64 ? 1 : 0);
  return w.scale[Math.max(0, Math.min(w.scale.length - 1, i + step))];
}

function writePhrase(ctx: CompositionContext, player: ChordInstrument, start: number, end: number, w: Walker, row: Uint16Array): void {
  let t = start;
  const cells = ctx.style.melodyCells;
  while (t < end) {
    const cell = ctx.rng.pick(cells);
    for (let c = 0; c < cell.length && t < end; c++) {
      const length = Math.abs(cell[c]);
      const isLast = t + length >= end || (c === cell.length - 1 && t + length >= end - 1);
      if (cell[c] < 0) {
        for (let k = 0; k < length && t < end; k++) row[t++] = REST;
        continue;
      }
      w.pitch = nextPitch(ctx, w, t, isLast);
      row[t++] = encodeMelody({ kind: 'note', instrument: player, pitch: w.pitch });
      for (let k = 1; k < length && t < end; k++) row[t++] = HOLD;
    }
  }
}

export function writeMelody(ctx: CompositionContext, roles: Roles[], row: Uint16Array): void {
  const density = [0.45, 0.65, 0.8][ctx.energy];
  const w: Walker = { scale: pitchesIn(scalePitchClasses(ctx.key), TUNE_LOW, TUNE_HIGH), pitch: 72 };
  ctx.sections.forEach((section, s) => {
    const player = roles[s].melody;
    if (player === null) return;
    const first = section.startBar * FRAMES_PER_BAR;
    const last = Math.min(ctx.frames, (section.startBar + section.bars) * FRAMES_PER_BAR);
    let played = false;
    for (let t = first; t < last; t += PHRASE_BARS * FRAMES_PER_BAR) {
      const end = Math.min(last, t + PHRASE_BARS * FRAMES_PER_BAR);
      // Always play the section's first phrase: an instrument that is in the band must be heard.
      if (!played || ctx.rng.chance(density)) {
        writePhrase(ctx, player, t, end, w, row);
        played = true;
      }
    }
  });
}
