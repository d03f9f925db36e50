/**
 * The audio output the live engine plays through: a pull model. The output
 * owns the clock; each time it needs a block it calls `pull(frames)`, which
 * must return `frames` interleaved stereo float32 samples at once (read the
 * PCM ring, pad with silence on underrun, never wait for the generator).
 *
 * Threading model: everything here runs on the main JS thread. `pull` is
 * called from a timer (null sink, fallback clock) or from the PortAudio
 * stream's 'drain' event. Errors in the audio path (the device went away,
 * `pull` threw) are counted and reported through `onError`, once per kind;
 * they are never thrown out of a timer or an event handler.
 *
 * Two outputs:
 * - PortAudio (naudiodon2, through ./portaudio.ts): paced by the device. The
 *   binding holds at most `queueBlocks` blocks plus one write in flight, so
 *   the ring in the engine stays the buffer that matters. If the device
 *   stops taking audio (unplugged, stalled) the output reports it and keeps
 *   pulling on a real-time clock, so recording and telemetry go on.
 * - The null sink: a real-time clock with no device, for machines without
 *   one. Paced by hrtime against a fixed origin (tick k is due at
 *   origin + k * period), so timer lateness never accumulates into drift.
 */
import { CHANNELS, SAMPLE_RATE } from '../constants.js';
import {
  findOutputDevice,
  listOutputDevices,
  loadPortAudio,
  openOutStream,
  type PortAudioBinding,
  type PortAudioDevice,
  type PortAudioOutStream,
} from './portaudio.js';

/** Default device block: 512 frames = 10.7 ms at 48 kHz; small against the ring target, large enough for a busy JS main thread. */
export const DEFAULT_BUFFER_FRAMES = 512;
/** Blocks the PortAudio binding may queue ahead of the device (naudiodon's maxQueue). */
export const DEFAULT_QUEUE_BLOCKS = 2;
/** A device that takes no block for this long is treated as gone. */
export const DEFAULT_STALL_MS = 500;
/** The null clock makes up missed time (a late timer) by pulling several blocks at once up to this much; after a longer stall of the main thread all of the missed time is dropped instead of played in a burst. */
export const MAX_CATCH_UP_MS = 100;

export interface OutputStats {
  /** Blocks pulled and delivered (to the device, or to the clock after a device failure). */
  blocks: number;
  /** Errors seen in the audio path: device failures, stream errors, a `pull` that threw or returned the wrong length. */
  errors: number;
  /** Times a clock dropped missed time instead of bursting (the main thread was stalled for more than MAX_CATCH_UP_MS). */
  resyncs: number;
}

export interface AudioOutput {
  readonly sampleRate: number;
  /** Interleaved channels of every block: 2, or more with --outputs stems. */
  readonly channels: number;
  readonly bufferFrames: number;
  /** Latency the device reports (PortAudio's output latency), ms; for the null sink its buffer. See `latencySource`. */
  readonly latencyMs: number;
  /** 'device': reported by the device; 'estimate': the binding cannot report it, so two device buffers (PortAudio's usual ALSA/JACK buffering); 'buffer': null sink. */
  readonly latencySource: 'device' | 'estimate' | 'buffer';
  /** Audio queued in the binding ahead of the device, ms (add it to latencyMs for the output's share of control latency). */
  readonly queueMs: number;
  readonly deviceName: string;
  /** Starts pulling: `pull(frames)` must return `frames` interleaved stereo float32 samples, promptly and without blocking. */
  start(pull: (frames: number) => Float32Array): void;
  stop(): Promise<void>;
  /** counts: blocks written, device errors seen */
  readonly stats: OutputStats;
  /** True once the device failed and the output keeps time on the null clock. */
  readonly onFallbackClock: boolean;
}

export interface OutputOptions {
  sampleRate?: number;
  bufferFrames?: number;
  /** Interleaved channels `pull` returns and the device plays (default 2). */
  channels?: number;
  /** Called once per kind of error in the audio path (the count is in stats.errors). */
  onError?: (err: Error) => void;
}

export interface PortAudioOutputOptions extends OutputOptions {
  /** Device name (exact, else a case-insensitive part of it) or id; the default output when left out. */
  device?: string | number;
  queueBlocks?: number;
  stallMs?: number;
}

function checkPositiveInteger(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer in [1, ${max}], got: ${value}`);
  }
  return value;
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Calls `tick` every `periodMs` of wall time: tick k is due at
 * origin + k * periodMs (k = 0 at start), so a late timer is made up by the
 * next ones and the average rate is exact. If more than `maxCatchUpMs` of
 * ticks are due at once, the missed ones are dropped (counted in `resyncs`)
 * and one tick runs, rather than a burst.
 */
export class RealTimeClock {
  resyncs = 0;
  private origin = 0;
  private ticks = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly maxCatchUp: number;

  constructor(
    private readonly periodMs: number,
    private readonly tick: () => void,
    maxCatchUpMs = MAX_CATCH_UP_MS,
  ) {
    if (!(periodMs > 0)) throw new RangeError(`clock period must be > 0 ms, got: ${periodMs}`);
    this.maxCatchUp = Math.max(1, Math.ceil(maxCatchUpMs / periodMs));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.origin = nowMs();
    this.ticks = 0;
    this.run();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly run = (): void => {
    this.timer = null;
    if (!this.running) return;
    let due = Math.floor((nowMs() - this.origin) / this.periodMs) + 1 - this.ticks;
    if (due > this.maxCatchUp) {
      this.resyncs++;
      this.ticks += due - 1;
      due = 1;
    }
    for (let i = 0; i < due && this.running; i++) {
      this.ticks++;
      this.tick();
    }
    if (!this.running) return;
    const next = this.origin + this.ticks * this.periodMs;
    this.timer = setTimeout(this.run, Math.max(0, next - nowMs()));
  };
}

/** Counts every error and reports each distinct message once. */
class ErrorReporter {
  private readonly seen = new Set<string>();
  constructor(
    private readonly stats: OutputStats,
    private readonly listener?: (err: Error) => void,
  ) {}

  report(err: unknown): void {
    this.stats.errors++;
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.seen.has(error.message) || !this.listener) return;
    this.seen.add(error.message);
    try {
      this.listener(error);
    } catch {
      // a throwing listener must not take the audio path down with it
    }
  }
}

/** Calls `pull` and checks its answer; on failure reports and returns silence. */
function pullBlock(pull: (frames: number) => Float32Array, frames: number, channels: number, errors: ErrorReporter): Float32Array {
  try {
    const block = pull(frames);
    if (block instanceof Float32Array && block.length === frames * channels) return block;
    const what = channels === CHANNELS ? 'stereo samples' : `samples (${channels} channels)`;
    errors.report(new Error(`pull(${frames}) must return ${frames * channels} interleaved ${what}, got: ${block instanceof Float32Array ? block.length : typeof block}`));
  } catch (err) {
    errors.report(new Error(`pull(${frames}) threw: ${(err as Error)?.message ?? String(err)}`));
  }
  return new Float32Array(frames * channels);
}

/** The device has fewer output channels than asked for: the user's to fix (another device, or --outputs mix), never a reason to fall back to the null sink. */
export class ChannelCountError extends Error {}

const MAX_CHANNELS = 64;

class NullOutput implements AudioOutput {
  readonly latencySource = 'buffer' as const;
  readonly queueMs = 0;
  readonly deviceName = 'null sink';
  readonly onFallbackClock = false;
  readonly latencyMs: number;
  readonly stats: OutputStats = { blocks: 0, errors: 0, resyncs: 0 };
  private readonly errors: ErrorReporter;
  private clock: RealTimeClock | null = null;

  constructor(
    readonly sampleRate: number,
    readonly bufferFrames: number,
    readonly channels: number,
    onError?: (err: Error) => void,
  ) {
    this.latencyMs = (bufferFrames / sampleRate) * 1000;
    this.errors = new ErrorReporter(this.stats, onError);
  }

  start(pull: (frames: number) => Float32Array): void {
    if (this.clock) throw new Error('null output already started');
    const clock = new RealTimeClock(this.latencyMs, () => {
      pullBlock(pull, this.bufferFrames, this.channels, this.errors);
      this.stats.blocks++;
      this.stats.resyncs = clock.resyncs;
    });
    this.clock = clock;
    clock.start();
  }

  async stop(): Promise<void> {
    this.clock?.stop();
  }
}

/** A real-time null sink: pulls `bufferFrames` every bufferFrames / sampleRate seconds of wall time and discards them. */
export function openNullOutput(opts: OutputOptions = {}): AudioOutput {
  const sampleRate = checkPositiveInteger('sample rate', opts.sampleRate ?? SAMPLE_RATE, 384_000);
  const bufferFrames = checkPositiveInteger('buffer frames', opts.bufferFrames ?? DEFAULT_BUFFER_FRAMES, 65_536);
  const channels = checkPositiveInteger('channels', opts.channels ?? CHANNELS, MAX_CHANNELS);
  return new NullOutput(sampleRate, bufferFrames, channels, opts.onError);
}

class PortAudioOutput implements AudioOutput {
  readonly stats: OutputStats = { blocks: 0, errors: 0, resyncs: 0 };
  readonly latencyMs: number;
  readonly latencySource: 'device' | 'estimate';
  readonly queueMs: number;
  readonly deviceName: string;
  private readonly errors: ErrorReporter;
  private pull: ((frames: number) => Float32Array) | null = null;
  private running = false;
  private closed = false;
  private failed = false;
  private fallback: RealTimeClock | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  /** When the device last took a block (a write completed), ms. */
  private lastTaken = 0;
  private lastCheck = 0;
  /** Blocks the binding has taken. */
  private taken = 0;
  private deviceStarted = false;

  constructor(
    private readonly stream: PortAudioOutStream,
    device: PortAudioDevice,
    readonly sampleRate: number,
    readonly bufferFrames: number,
    readonly channels: number,
    private readonly queueBlocks: number,
    private readonly stallMs: number,
    onError?: (err: Error) => void,
  ) {
    this.deviceName = device.name;
    const blockMs = (bufferFrames / sampleRate) * 1000;
    this.latencySource = device.defaultLowOutputLatencyMs > 0 ? 'device' : 'estimate';
    this.latencyMs = device.defaultLowOutputLatencyMs > 0 ? device.defaultLowOutputLatencyMs : 2 * blockMs;
    // queued chunks + the write waiting for a free slot
    this.queueMs = (queueBlocks + 1) * blockMs;
    this.errors = new ErrorReporter(this.stats, onError);
    stream.on('error', this.onStreamError);
  }

  get onFallbackClock(): boolean {
    return this.failed;
  }

  start(pull: (frames: number) => Float32Array): void {
    if (this.pull || this.closed) throw new Error(`output "${this.deviceName}" already started or stopped`);
    this.pull = pull;
    this.running = true;
    this.lastTaken = this.lastCheck = nowMs();
    this.stream.on('drain', this.onDrain);
    this.feed();
    const every = Math.max(10, this.stallMs / 4);
    this.watchdog = setInterval(this.checkStall, every);
    this.watchdog.unref();
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    if (this.watchdog) clearInterval(this.watchdog);
    this.fallback?.stop();
    this.stream.off('drain', this.onDrain);
    // A dead device may never let the binding's quit finish (it waits for PortAudio's callback): give up waiting after a second.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1000);
      timer.unref();
    });
    try {
      await Promise.race([this.stream.quit(), gaveUp]);
    } catch (err) {
      this.errors.report(new Error(`output device "${this.deviceName}" did not close cleanly: ${(err as Error).message}`));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A block reached the binding's queue. The device starts once the queue is
   * full (queueBlocks taken, one more waiting), so its first callbacks find
   * audio there instead of racing the main thread.
   */
  private readonly onDrain = (): void => {
    this.taken++;
    if (!this.deviceStarted && this.taken >= this.queueBlocks && this.running && !this.failed) {
      this.deviceStarted = true;
      try {
        this.stream.start();
      } catch (err) {
        this.fail(new Error(`output device "${this.deviceName}" could not start: ${(err as Error).message}`));
        return;
      }
    }
    this.feed();
  };

  /** Writes blocks while the stream accepts them; 'drain' (the binding took a block) calls it again. */
  private readonly feed = (): void => {
    if (!this.running || this.failed || !this.pull) return;
    this.lastTaken = nowMs();
    for (;;) {
      const block = pullBlock(this.pull, this.bufferFrames, this.channels, this.errors);
      this.stats.blocks++;
      // a copy: the caller may reuse its array, and a busy Writable keeps the reference until the binding copies it
      const bytes = Buffer.from(new Float32Array(block).buffer);
      let more: boolean;
      try {
        more = this.stream.write(bytes);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      if (!more) return;
    }
  };

  private readonly checkStall = (): void => {
    if (!this.running || this.failed) return;
    const now = nowMs();
    const interval = Math.max(10, this.stallMs / 4);
    // If this check itself ran late, the main thread was stalled, not the device: the completed writes are still queued behind us.
    if (now - this.lastCheck > interval + this.stallMs / 2) this.lastTaken = now;
    this.lastCheck = now;
    const silentFor = now - this.lastTaken;
    if (silentFor > this.stallMs) {
      this.fail(new Error(`output device "${this.deviceName}" took no audio for ${Math.round(silentFor)} ms (unplugged or stalled); keeping time on a null clock`));
    }
  };

  private readonly onStreamError = (err: unknown): void => {
    const error = new Error(`output device "${this.deviceName}": ${err instanceof Error ? err.message : String(err)}`);
    if (this.running && !this.failed) this.fail(error);
    else this.errors.report(error);
  };

  /** Reports the failure and keeps pulling at the real-time pace, so recording and telemetry go on. */
  private fail(err: Error): void {
    this.errors.report(err);
    if (this.failed) return;
    this.failed = true;
    this.stream.off('drain', this.onDrain);
    if (!this.running || !this.pull) return;
    const pull = this.pull;
    const clock = new RealTimeClock((this.bufferFrames / this.sampleRate) * 1000, () => {
      pullBlock(pull, this.bufferFrames, this.channels, this.errors);
      this.stats.blocks++;
      this.stats.resyncs = clock.resyncs;
    });
    this.fallback = clock;
    clock.start();
  }
}

/**
 * A PortAudio output (float32, `channels` channels), opened but not started.
 * Throws when the device is not there (naming the output devices), has too
 * few output channels (ChannelCountError) or will not open.
 */
export function openPortAudioOutput(opts: PortAudioOutputOptions = {}, pa: PortAudioBinding = loadPortAudio()): AudioOutput {
  const sampleRate = checkPositiveInteger('sample rate', opts.sampleRate ?? SAMPLE_RATE, 384_000);
  const bufferFrames = checkPositiveInteger('buffer frames', opts.bufferFrames ?? DEFAULT_BUFFER_FRAMES, 65_536);
  const queueBlocks = checkPositiveInteger('queue blocks', opts.queueBlocks ?? DEFAULT_QUEUE_BLOCKS, 64);
  const outputs = listOutputDevices(pa);
  const channels = checkPositiveInteger('channels', opts.channels ?? CHANNELS, MAX_CHANNELS);
  const device = opts.device !== undefined ? findOutputDevice(opts.device, outputs) : defaultOutputDevice(pa, outputs);
  const problem = channelProblem(device, channels);
  if (problem) throw new ChannelCountError(problem);
  const blockBytes = bufferFrames * channels * 4;
  let stream: PortAudioOutStream;
  try {
    stream = openOutStream(
      { deviceId: device.id, sampleRate, channels, framesPerBuffer: bufferFrames, maxQueue: queueBlocks, highWaterMark: blockBytes },
      pa,
    );
  } catch (err) {
    throw new Error(`output device ${device.id} "${device.name}" could not be opened at ${sampleRate} Hz, ${bufferFrames} frames: ${(err as Error).message}`);
  }
  return new PortAudioOutput(stream, device, sampleRate, bufferFrames, channels, queueBlocks, opts.stallMs ?? DEFAULT_STALL_MS, opts.onError);
}

/** Why `device` cannot play `channels` channels (naming it and its count), or null when it can. */
export function channelProblem(device: PortAudioDevice, channels: number): string | null {
  if (device.maxOutputChannels >= channels) return null;
  return `output device ${device.id} "${device.name}" has ${device.maxOutputChannels} output channel${device.maxOutputChannels === 1 ? '' : 's'}, ${channels} are needed`;
}

/** PortAudio's default output device, else the first output device; throws when there is none. */
function defaultOutputDevice(pa: PortAudioBinding, outputs: readonly PortAudioDevice[]): PortAudioDevice {
  if (outputs.length === 0) throw new Error('no audio output device: PortAudio lists none');
  try {
    const apis = pa.getHostAPIs();
    const id = apis.HostAPIs.find((h) => h.id === apis.defaultHostAPI)?.defaultOutput;
    const preferred = outputs.find((d) => d.id === id);
    if (preferred) return preferred;
  } catch {
    // fall through to the first device
  }
  return outputs[0];
}

export interface DefaultOutput {
  output: AudioOutput;
  /** Why this output: the device chosen, or why there is none and the null sink plays. */
  reason: string;
}

/**
 * PortAudio when a device was named (an error if it cannot be opened) or when
 * the default device opens; otherwise the real-time null sink, with the reason.
 */
export function openDefaultOutput(opts: PortAudioOutputOptions = {}): DefaultOutput {
  if (opts.device !== undefined) {
    const output = openPortAudioOutput(opts);
    return { output, reason: `output device "${output.deviceName}"` };
  }
  try {
    const output = openPortAudioOutput(opts);
    return { output, reason: `default output device "${output.deviceName}"` };
  } catch (err) {
    if (err instanceof ChannelCountError) throw err;
    const { onError, sampleRate, bufferFrames, channels } = opts;
    return {
      output: openNullOutput({ onError, sampleRate, bufferFrames, channels }),
      reason: `${(err as Error).message}; playing on a real-time null sink (control, telemetry and recording still work)`,
    };
  }
}
