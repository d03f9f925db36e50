/**
 * Where the band's notes go in MIDI: a channel per instrument and the
 * General MIDI drum map. Channels are 1-based here, as DAWs and the docs
 * show them (drums on 10); easymidi and the wire count from 0.
 */
import type { DrumVoice, Instrument } from '../model/tinyband/layout.js';

export const BAND_CHANNELS: Readonly<Record<Instrument, number>> = { bass: 1, piano: 2, guitar: 3, drums: 10 };

/** General MIDI percussion key map (channel 10). */
export const GM_DRUM_NOTES: Readonly<Record<DrumVoice, number>> = {
  kick: 36,
  snare: 38,
  clap: 39,
  closedHat: 42,
  openHat: 46,
  crash: 49,
  ride: 51,
};

/** General MIDI programs (0-based, as sent) a DAW may pick a sound with: fingered bass, grand piano, clean electric guitar. */
export const GM_PROGRAMS: Readonly<Record<Exclude<Instrument, 'drums'>, number>> = { bass: 33, piano: 0, guitar: 27 };

/** A synthesizer velocity (0..1) as a MIDI note-on velocity (1..127: 0 would be a note-off). */
export function midiVelocity(velocity: number): number {
  return Math.max(1, Math.min(127, Math.round(velocity * 127)));
}
