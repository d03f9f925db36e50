/**
 * What a listener hears of each instrument, next to what the tokens say:
 * an item's tokens rendered into stems by the band synthesizer (the samples
 * `smitin render --stems` writes: reverb and the master limiter included),
 * and per instrument the share of half-bar windows of the measured bars in
 * which its stem is audible. The token share counts the frames an
 * instrument plays; this counts what comes out of the speakers, where a
 * note rings into the next window and a window with one soft note is heard.
 * Its presence test is the tokens' (heard in at least a quarter of the
 * windows), so the two tables read alike.
 */
import { DEFAULT_TEMPO, FRAMES_PER_BAR, SAMPLE_RATE, samplesPerFrame } from '../../constants.js';
import { renderStems } from '../../model/codec/synth/index.js';
import { INSTRUMENTS } from '../../model/tinyband/layout.js';

/**
 * A stem is heard in a window whose RMS passes -40 dBFS. Measured on
 * composer pieces: windows where a part plays sit at -36 dBFS and above (1st
 * percentile, piano; the others from -28), windows where it does not are
 * digital silence but for a tail ringing on from the window before.
 */
export const AUDIBLE_RMS = 0.01;
/** Half a bar: one second at 120 BPM, the span a listener names an instrument in. */
export const HEARD_WINDOW_FRAMES = FRAMES_PER_BAR / 2;

/**
 * Per instrument (INSTRUMENTS order), the share of the windows of frames
 * [from, to) in which its stem is heard. The render starts at frame 0, so
 * notes from before `from` ring on into the first windows as they would.
 */
export function heardShares(tokens: readonly ArrayLike<number>[], from: number, to: number, tempo = DEFAULT_TEMPO): number[] {
  if (!(from >= 0 && to <= tokens[0].length && to - from >= HEARD_WINDOW_FRAMES)) {
    throw new RangeError(`heardShares needs at least one window of ${HEARD_WINDOW_FRAMES} frames inside the ${tokens[0].length} frames, got: ${from}..${to}`);
  }
  const stems = renderStems(tokens, { tempo, sampleRate: SAMPLE_RATE });
  const spf = samplesPerFrame(tempo);
  const windows = Math.floor((to - from) / HEARD_WINDOW_FRAMES);
  return INSTRUMENTS.map((_, k) => {
    const left = stems[2 + 2 * k];
    const right = stems[3 + 2 * k];
    let heard = 0;
    for (let w = 0; w < windows; w++) {
      const a = Math.round((from + w * HEARD_WINDOW_FRAMES) * spf);
      const b = Math.round((from + (w + 1) * HEARD_WINDOW_FRAMES) * spf);
      let energy = 0;
      for (let i = a; i < b; i++) energy += left[i] * left[i] + right[i] * right[i];
      if (Math.sqrt(energy / (2 * (b - a))) > AUDIBLE_RMS) heard++;
    }
    return heard / windows;
  });
}
