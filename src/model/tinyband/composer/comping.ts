/** Harmony part: the comping rhythm of whoever holds the chords, struck anew at every chord change. */
import { FRAMES_PER_BAR } from '../../../constants.js';
import { encodeHarmony, HOLD, REST } from '../layout.js';
import type { Chord } from '../theory.js';
import type { CompositionContext } from './context.js';
import { patternIndex, sameChord } from './context.js';
import type { Roles } from './roles.js';

export function writeComping(ctx: CompositionContext, roles: Roles[], row: Uint16Array): void {
  ctx.sections.forEach((section, s) => {
    const player = roles[s].harmony;
    if (player === null) return;
    const patterns = ctx.style.comping[player];
    const pattern = patterns[patternIndex(patterns.length, ctx.energy, ctx)];
    let sounding: Chord | null = null;
    const first = section.startBar * FRAMES_PER_BAR;
    const last = Math.min(ctx.frames, (section.startBar + section.bars) * FRAMES_PER_BAR);
    for (let t = first; t < last; t++) {
      const symbol = pattern[t % FRAMES_PER_BAR];
      const chord = ctx.chords[t];
      // The first frame of a section always strikes, so a player who enters is heard entering.
      const mustStrike = t === first || (symbol === '-' && sounding !== null && !sameChord(sounding, chord));
      if (symbol === 'x' || mustStrike) {
        row[t] = encodeHarmony({ kind: 'strike', instrument: player, root: chord.root, quality: chord.quality });
        sounding = chord;
      } else if (symbol === '-' && sounding !== null) {
        row[t] = HOLD;
      } else {
        row[t] = REST;
        sounding = null;
      }
    }
  });
}
