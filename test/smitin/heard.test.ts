import { describe, expect, it } from 'vitest';
import { FRAMES_PER_BAR } from '../../src/constants.js';
import { compose } from '../../src/model/tinyband/composer/index.js';
import { INSTRUMENTS, removeInstrument, soundingInstruments } from '../../src/model/tinyband/layout.js';
import { HEARD_WINDOW_FRAMES, heardShares } from '../../src/smitin/eval/heard.js';

const BARS = 8;
const FROM = 4 * FRAMES_PER_BAR;
const TO = BARS * FRAMES_PER_BAR;

/** Per instrument, the share of the half-bar windows of [FROM, TO) in which the tokens sound it. */
function tokenWindows(tokens: readonly Uint16Array[]): number[] {
  return soundingInstruments(tokens).map((row) => {
    let on = 0;
    for (let w = FROM; w < TO; w += HEARD_WINDOW_FRAMES) on += row.subarray(w, w + HEARD_WINDOW_FRAMES).some((x) => x === 1) ? 1 : 0;
    return on / ((TO - FROM) / HEARD_WINDOW_FRAMES);
  });
}

describe('heard presence (rendered stems)', () => {
  it('hears every instrument in the windows where it plays, and none where the tokens have none of it', () => {
    let compared = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const piece = compose({ seed, bars: BARS });
      const heard = heardShares(piece.tokens, FROM, TO);
      const played = tokenWindows(piece.tokens);
      INSTRUMENTS.forEach((inst, k) => {
        // a note rings on into the next window, so the audio may hear more than the tokens play, never less
        expect(heard[k], `seed ${seed} ${inst}`).toBeGreaterThanOrEqual(played[k]);
        expect(heard[k] - played[k], `seed ${seed} ${inst}`).toBeLessThanOrEqual(0.25);
        compared += played[k] > 0 ? 1 : 0;
      });
      // an instrument taken out of the whole piece is not heard at all
      const playing = INSTRUMENTS.findIndex((_, k) => played[k] > 0);
      const without = heardShares(removeInstrument(piece.tokens, INSTRUMENTS[playing]), FROM, TO);
      expect(without[playing]).toBe(0);
    }
    expect(compared).toBeGreaterThan(12);
  });

  it('names the frames when the span holds no window', () => {
    const piece = compose({ seed: 1, bars: 4 });
    const frames = piece.tokens[0].length;
    expect(() => heardShares(piece.tokens, 0, 4)).toThrow(/at least one window of 8 frames[^\n]*0\.\.4/);
    expect(() => heardShares(piece.tokens, 0, frames + 16)).toThrow(new RegExp(`inside the ${frames} frames`));
  });
});
