/**
 * The one module that touches the PortAudio binding (naudiodon2, the
 * API-identical fork of naudiodon that ships a universal macOS binary).
 * The binding is loaded lazily so that commands which never play audio work
 * even where the native module failed to build.
 */
import { createRequire } from 'node:module';

export interface PortAudioDevice {
  id: number;
  name: string;
  hostApi: string;
  maxInputChannels: number;
  maxOutputChannels: number;
  defaultSampleRate: number;
}

interface RawDevice {
  id: number;
  name: string;
  hostAPIName: string;
  maxInputChannels: number;
  maxOutputChannels: number;
  defaultSampleRate: number;
}

export interface PortAudioBinding {
  getDevices(): RawDevice[];
  getHostAPIs(): { defaultHostAPI: number; HostAPIs: { id: number; name: string; defaultOutput: number }[] };
  SampleFormatFloat32: number;
  AudioIO: new (options: unknown) => unknown;
}

let binding: PortAudioBinding | null = null;

export function loadPortAudio(): PortAudioBinding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  try {
    binding = require('naudiodon2') as PortAudioBinding;
  } catch (err) {
    throw new Error(`PortAudio binding naudiodon2 could not be loaded (run npm ci; it builds with node-gyp): ${(err as Error).message}`);
  }
  return binding;
}

export function listAudioDevices(pa: PortAudioBinding = loadPortAudio()): PortAudioDevice[] {
  return pa.getDevices().map((d) => ({
    id: d.id,
    name: d.name,
    hostApi: d.hostAPIName,
    maxInputChannels: d.maxInputChannels,
    maxOutputChannels: d.maxOutputChannels,
    defaultSampleRate: d.defaultSampleRate,
  }));
}

export function listOutputDevices(pa?: PortAudioBinding): PortAudioDevice[] {
  return listAudioDevices(pa).filter((d) => d.maxOutputChannels > 0);
}
