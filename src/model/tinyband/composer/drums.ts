/** Drum part: the style's groove per section, a fill at some section ends, a crash where a section opens. */
import { FRAMES_PER_BAR } from '../../../constants.js';
import type { DrumVoice } from '../layout.js';
import { encodeDrums } from '../layout.js';
import type { DrumPattern } from '../styles.js';
import type { CompositionContext } from './context.js';
import { patternIndex } from './context.js';

function hitsAt(pattern: DrumPattern, step: number, into: Set<DrumVoice>): void {
  for (const [voice, line] of Object.entries(pattern) as [DrumVoice, string][]) {
    if (line[step] === 'x') into.add(voice);
  }
}

export function writeDrums(ctx: CompositionContext, row: Uint16Array): void {
  const { style, rng } = ctx;
  ctx.sections.forEach((section, s) => {
    if (!section.playing.drums) return;
    const groove = style.grooves[patternIndex(style.grooves.length, ctx.energy, ctx)];
    const fillAtEnd = rng.chance(0.5);
    const entering = s === 0 || !ctx.sections[s - 1].playing.drums;
    const crash = entering ? rng.chance(0.7) : rng.chance(0.4);
    for (let b = 0; b < section.bars; b++) {
      const lastBar = b === section.bars - 1;
      for (let step = 0; step < FRAMES_PER_BAR; step++) {
        const t = (section.startBar + b) * FRAMES_PER_BAR + step;
        if (t >= ctx.frames) return;
        const hits = new Set<DrumVoice>();
        hitsAt(groove, step, hits);
        if (lastBar && fillAtEnd && step >= 8) hitsAt(style.fill, step, hits);
        if (b === 0 && step === 0 && crash) {
          hits.add('crash');
          hits.delete('closedHat'); // the crash replaces the hat on the downbeat, as a drummer would
        }
        if (hits.has('closedHat')) hits.delete('openHat');
        row[t] = encodeDrums(hits);
      }
    }
  });
}
