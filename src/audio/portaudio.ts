/**
 * The one module that touches the PortAudio binding (naudiodon2, the
 * API-identical fork of naudiodon that ships a universal macOS binary).
 * The binding is loaded lazily so that commands which never play audio work
 * even where the native module failed to build.
 *
 * What the binding does, read from its source (naudiodon2 2.5.0), because
 * the output is built around it:
 * - `AudioIO({ outOptions })` is a Node Writable. Each write() hands its
 *   buffer (copied) to a native queue of at most `maxQueue` chunks; the write
 *   completes when the chunk is queued, so 'drain' means "the device took a
 *   block". PortAudio's callback blocks until a chunk is there.
 * - Its default sample format is 8-bit: always pass SampleFormatFloat32.
 * - `closeOnError: true` ends the stream at the first under/overflow flag;
 *   with false it only prints the flag (from C, to stdout).
 * - getDevices() reports latencies through napi uint32, so any latency below
 *   one second reads as 0: the device's latency cannot be read through it.
 * - Opening a stream prints PortAudio's version and the options to stdout,
 *   and ALSA prints its probing to stderr (from C).
 */
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';

export interface PortAudioDevice {
  id: number;
  name: string;
  hostApi: string;
  maxInputChannels: number;
  maxOutputChannels: number;
  defaultSampleRate: number;
  /** PortAudio's default low output latency, ms, as the binding reports it (naudiodon2 truncates it to whole seconds, so 0). */
  defaultLowOutputLatencyMs: number;
}

interface RawDevice {
  id: number;
  name: string;
  hostAPIName: string;
  maxInputChannels: number;
  maxOutputChannels: number;
  defaultSampleRate: number;
  defaultLowOutputLatency?: number;
}

/** The stream naudiodon's AudioIO returns for outOptions: a Writable with start/quit/abort. */
export interface PortAudioOutStream extends Writable {
  start(): void;
  /** Stops after the queued chunks have played; resolves when PortAudio has closed the stream. */
  quit(): Promise<void>;
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
    defaultLowOutputLatencyMs: (d.defaultLowOutputLatency ?? 0) * 1000,
  }));
}

export function listOutputDevices(pa?: PortAudioBinding): PortAudioDevice[] {
  return listAudioDevices(pa).filter((d) => d.maxOutputChannels > 0);
}

function describeOutputs(outputs: readonly PortAudioDevice[]): string {
  if (outputs.length === 0) return 'PortAudio lists no output devices';
  return `output devices: ${outputs.map((d) => `${d.id} "${d.name}" (${d.hostApi})`).join(', ')}`;
}

/**
 * The output device `query` names: an id (a number, or a string of digits
 * that is no device's name), else the exact name, else the one name that
 * contains it ignoring case. Throws naming the output devices when none or
 * several match.
 */
export function findOutputDevice(query: string | number, outputs: readonly PortAudioDevice[]): PortAudioDevice {
  if (typeof query === 'number' || (/^\d+$/.test(query) && !outputs.some((d) => d.name === query))) {
    const id = Number(query);
    const byId = outputs.find((d) => d.id === id);
    if (byId) return byId;
    throw new Error(`no output device with id ${id}; ${describeOutputs(outputs)}`);
  }
  const exact = outputs.find((d) => d.name === query);
  if (exact) return exact;
  const lower = query.toLowerCase();
  const caseless = outputs.filter((d) => d.name.toLowerCase() === lower);
  if (caseless.length === 1) return caseless[0];
  const partial = outputs.filter((d) => d.name.toLowerCase().includes(lower));
  if (partial.length === 1) return partial[0];
  if (partial.length > 1) {
    throw new Error(`output device "${query}" is ambiguous, it matches ${partial.map((d) => `${d.id} "${d.name}"`).join(', ')}; name one exactly or by id`);
  }
  throw new Error(`output device "${query}" not found; ${describeOutputs(outputs)}`);
}

export interface OutStreamOptions {
  deviceId: number;
  sampleRate: number;
  channels: number;
  /** PortAudio's callback size, frames. */
  framesPerBuffer: number;
  /** Chunks the binding may hold before write() waits. */
  maxQueue: number;
  /** The Writable's own buffer, bytes. */
  highWaterMark: number;
}

/** Opens (does not start) a float32 output stream; closeOnError is off so an underflow never ends it. */
export function openOutStream(opts: OutStreamOptions, pa: PortAudioBinding = loadPortAudio()): PortAudioOutStream {
  return new pa.AudioIO({
    outOptions: {
      deviceId: opts.deviceId,
      sampleRate: opts.sampleRate,
      channelCount: opts.channels,
      sampleFormat: pa.SampleFormatFloat32,
      framesPerBuffer: opts.framesPerBuffer,
      maxQueue: opts.maxQueue,
      highwaterMark: opts.highWaterMark,
      closeOnError: false,
    },
  }) as PortAudioOutStream;
}
