/**
 * Runs in a child process of `smitin devices`: native audio and MIDI
 * libraries print to stderr from C (ALSA's "cannot find card") and can abort
 * the process on broken systems, so probing happens here and the parent
 * prints only the clean result. Writes one JSON object to stdout.
 */
import { listOutputDevices, type PortAudioDevice } from '../audio/portaudio.js';
import { listMidiPorts } from '../control/midi-ports.js';

export interface DeviceReport {
  audio: { available: boolean; outputs: PortAudioDevice[]; reason?: string };
  midi: ReturnType<typeof listMidiPorts>;
}

function probeAudio(): DeviceReport['audio'] {
  try {
    return { available: true, outputs: listOutputDevices() };
  } catch (err) {
    return { available: false, outputs: [], reason: (err as Error).message };
  }
}

const report: DeviceReport = { audio: probeAudio(), midi: listMidiPorts() };
process.stdout.write(JSON.stringify(report));
