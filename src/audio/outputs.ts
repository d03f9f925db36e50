/**
 * `--outputs`: what goes on the device's channels. `mix` is the band on
 * channels 1-2; `stems` adds each tinyband instrument on a pair of its own
 * (3-4 drums, 5-6 bass, 7-8 piano, 9-10 guitar), so a DAW records four
 * tracks beside the mix, and takes write take.<instrument>.wav beside
 * take.wav. See docs/stems.md.
 */
import { CHANNELS } from '../constants.js';
import { STEM_CHANNELS } from '../model/codec/synth/index.js';
import { INSTRUMENTS } from '../model/tinyband/layout.js';

export const OUTPUT_MODES = ['mix', 'stems'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

/** The stems, in the order of their pairs after the mix. */
export const STEM_NAMES: readonly string[] = INSTRUMENTS;

/** Device channels a mode needs. */
export function outputChannels(mode: OutputMode): number {
  return mode === 'stems' ? STEM_CHANNELS : CHANNELS;
}

/** "1-2 mix, 3-4 drums, ...": the channel map, for the performer and for error messages. */
export function describeChannels(mode: OutputMode): string {
  const names = mode === 'stems' ? ['mix', ...STEM_NAMES] : ['mix'];
  return names.map((n, p) => `${2 * p + 1}-${2 * p + 2} ${n}`).join(', ');
}
