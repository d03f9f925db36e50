/**
 * Per-instrument level and stereo position. The defaults place the band as
 * on a small stage seen from the audience: kick, snare and bass in the
 * middle, hats a little right, piano left and guitar right; the user's
 * `gain` multiplies these calibrated levels and `pan` replaces the position.
 */

import { INSTRUMENTS, type Instrument } from '../../tinyband/layout.js';

export interface InstrumentMix {
  /** Linear gain on top of the calibrated level; 1 = default, 0 = muted. */
  gain?: number;
  /** -1 (left) .. 1 (right). */
  pan?: number;
}

export type BandMix = Partial<Record<Instrument, InstrumentMix>>;
export type ResolvedMix = Record<Instrument, { gain: number; pan: number }>;

export const DEFAULT_PAN: Readonly<Record<Instrument, number>> = { drums: 0, bass: 0, piano: -0.35, guitar: 0.4 };

export function resolveMix(mix: BandMix | undefined): ResolvedMix {
  const out = {} as ResolvedMix;
  for (const inst of INSTRUMENTS) {
    const m = mix?.[inst] ?? {};
    const gain = m.gain ?? 1;
    const pan = m.pan ?? DEFAULT_PAN[inst];
    if (typeof gain !== 'number' || !Number.isFinite(gain) || gain < 0) {
      throw new RangeError(`mix.${inst}.gain must be a finite number >= 0, got: ${String(gain)}`);
    }
    if (typeof pan !== 'number' || !Number.isFinite(pan) || pan < -1 || pan > 1) {
      throw new RangeError(`mix.${inst}.pan must be a number in [-1, 1], got: ${String(pan)}`);
    }
    out[inst] = { gain, pan };
  }
  if (mix !== undefined) {
    for (const key of Object.keys(mix)) {
      if (!(INSTRUMENTS as readonly string[]).includes(key)) {
        throw new RangeError(`mix has an unknown instrument "${key}"; expected one of ${INSTRUMENTS.join(', ')}`);
      }
    }
  }
  return out;
}
