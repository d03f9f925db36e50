/**
 * MIDI port discovery through easymidi. Where the platform has no MIDI
 * subsystem (no ALSA sequencer, as on headless Linux), RtMidi throws on the
 * first call; that is reported as "unavailable", never as a crash.
 */
import { createRequire } from 'node:module';

export interface MidiPorts {
  available: boolean;
  inputs: string[];
  outputs: string[];
  /** Why MIDI is unavailable, when it is. */
  reason?: string;
}

interface EasyMidi {
  getInputs(): string[];
  getOutputs(): string[];
}

export function listMidiPorts(load: () => EasyMidi = defaultLoader): MidiPorts {
  try {
    const midi = load();
    return { available: true, inputs: midi.getInputs(), outputs: midi.getOutputs() };
  } catch (err) {
    const message = (err as Error).message;
    const reason = /RtMidi/i.test(message)
      ? `no MIDI subsystem (${message}; on Linux the ALSA sequencer /dev/snd/seq is missing)`
      : `MIDI library failed: ${message}`;
    return { available: false, inputs: [], outputs: [], reason };
  }
}

function defaultLoader(): EasyMidi {
  return createRequire(import.meta.url)('easymidi') as EasyMidi;
}
