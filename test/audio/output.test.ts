/**
 * The outputs without a sound card: the null sink's real-time pacing, the
 * device lookup, and the PortAudio output's behaviour when the device stalls
 * or fails (through a fake binding with naudiodon's stream contract).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openDefaultOutput, openNullOutput, openPortAudioOutput, RealTimeClock } from '../../src/audio/output.js';
import { findOutputDevice, listOutputDevices, type PortAudioBinding, type PortAudioDevice, type PortAudioOutStream } from '../../src/audio/portaudio.js';
import { percentile } from './signals.js';

// Before PortAudio first reads it: an empty HOME, so no .asoundrc adds devices.
process.env.HOME = mkdtempSync(join(tmpdir(), 'smitin-home-'));
delete process.env.JACK_DEFAULT_SERVER;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RATE = 48_000;

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // a stalled main thread
  }
}

describe('null output', () => {
  it('pulls sampleRate frames per second of wall time, paced by hrtime (within 2 % over 3 s)', async () => {
    const output = openNullOutput({ sampleRate: RATE, bufferFrames: 256 });
    expect(output.latencyMs).toBeCloseTo((256 / RATE) * 1000, 6);
    const times: number[] = [];
    let frames = 0;
    output.start((n) => {
      times.push(performance.now());
      frames += n;
      return new Float32Array(n * 2);
    });
    await sleep(3000);
    await output.stop();
    const elapsed = (times[times.length - 1] - times[0]) / 1000;
    const rate = (frames - 256) / elapsed;
    const intervals = times.slice(1).map((t, i) => t - times[i]);
    console.log(
      `null output: ${frames} frames in ${elapsed.toFixed(3)} s = ${rate.toFixed(0)} frames/s; interval p50 ${percentile(intervals, 50).toFixed(2)} ms, p99 ${percentile(intervals, 99).toFixed(2)} ms (nominal ${((256 / RATE) * 1000).toFixed(2)})`,
    );
    expect(rate / RATE).toBeGreaterThan(0.98);
    expect(rate / RATE).toBeLessThan(1.02);
    expect(output.stats.blocks).toBe(frames / 256);
    const pullsAfterStop = times.length;
    await sleep(50);
    expect(times.length).toBe(pullsAfterStop);
  });

  it('makes up a short delay, and drops the missed time after a long main-thread stall instead of bursting', async () => {
    const times: number[] = [];
    let stalled = false;
    const clock = new RealTimeClock(5, () => {
      times.push(performance.now());
      if (times.length === 20 && !stalled) {
        stalled = true;
        busyWait(400);
      }
    });
    clock.start();
    await sleep(1000);
    clock.stop();
    expect(clock.resyncs).toBe(1);
    // the 400 ms stall (80 ticks, more than the 100 ms made up) is dropped, not played in a burst
    const elapsed = times[times.length - 1] - times[0];
    expect(Math.abs(times.length - (elapsed / 5 - 80))).toBeLessThan(10);
    // right after the stall one tick plays, not the 80 missed ones back to back (elsewhere a loaded machine may delay a
    // timer by a few ticks, which the clock makes up in a short burst, as it should)
    const afterStall = times.slice(20, 30).map((t, i) => times[20 + i + 1] - t).filter((d) => d < 0.5).length;
    expect(afterStall).toBeLessThan(5);
  });

  it('counts a pull that throws or returns the wrong length, reports each kind once, and keeps pulling', async () => {
    const reported: string[] = [];
    const output = openNullOutput({ bufferFrames: 480, onError: (e) => reported.push(e.message) });
    let calls = 0;
    output.start((n) => {
      calls++;
      if (calls % 2) throw new Error('ring gone');
      return new Float32Array(n);
    });
    await sleep(200);
    await output.stop();
    expect(calls).toBeGreaterThan(10);
    expect(output.stats.errors).toBe(calls);
    expect(reported).toEqual(['pull(480) threw: ring gone', 'pull(480) must return 960 interleaved stereo samples, got: 480']);
  });

  it('rejects a bad sample rate or buffer size with the value', () => {
    expect(() => openNullOutput({ sampleRate: 0 })).toThrow('sample rate must be an integer in [1, 384000], got: 0');
    expect(() => openNullOutput({ bufferFrames: 12.5 })).toThrow('buffer frames must be an integer in [1, 65536], got: 12.5');
  });
});

function device(id: number, name: string): PortAudioDevice {
  return { id, name, hostApi: 'ALSA', maxInputChannels: 0, maxOutputChannels: 2, defaultSampleRate: 48_000, defaultLowOutputLatencyMs: 0 };
}

describe('findOutputDevice', () => {
  const outputs = [device(0, 'default'), device(3, 'Focusrite USB Audio: hw:1,0'), device(4, 'jackout'), device(7, '12')];

  it('takes an id, an exact name, or the one name containing it ignoring case', () => {
    expect(findOutputDevice(4, outputs).name).toBe('jackout');
    expect(findOutputDevice('3', outputs).name).toMatch(/Focusrite/);
    expect(findOutputDevice('12', outputs).id).toBe(7);
    expect(findOutputDevice('jackout', outputs).id).toBe(4);
    expect(findOutputDevice('focusrite', outputs).id).toBe(3);
  });

  it('says which devices exist when none matches, and which match when several do', () => {
    expect(() => findOutputDevice('scarlett', outputs)).toThrow(
      'output device "scarlett" not found; output devices: 0 "default" (ALSA), 3 "Focusrite USB Audio: hw:1,0" (ALSA), 4 "jackout" (ALSA), 7 "12" (ALSA)',
    );
    expect(() => findOutputDevice(9, outputs)).toThrow(/^no output device with id 9; output devices: 0 "default"/);
    expect(() => findOutputDevice('u', outputs)).toThrow('output device "u" is ambiguous, it matches 0 "default", 3 "Focusrite USB Audio: hw:1,0", 4 "jackout"; name one exactly or by id');
    expect(() => findOutputDevice('x', [])).toThrow('output device "x" not found; PortAudio lists no output devices');
  });
});

/** A binding with naudiodon's contract whose device takes `takes` blocks at the real-time pace and then stops taking any. */
function fakeBinding(takes: number, blockMs: number, opened: unknown[], streamRef: { stream?: PortAudioOutStream }): PortAudioBinding {
  return {
    getDevices: () => [{ id: 0, name: 'Fake Out', hostAPIName: 'Fake', maxInputChannels: 0, maxOutputChannels: 2, defaultSampleRate: 48_000 }],
    getHostAPIs: () => ({ defaultHostAPI: 0, HostAPIs: [{ id: 0, name: 'Fake', defaultOutput: 0 }] }),
    SampleFormatFloat32: 1,
    AudioIO: class {
      constructor(raw: unknown) {
        const options = raw as { outOptions: { highwaterMark: number } };
        opened.push(options);
        let taken = 0;
        const stream = new Writable({
          highWaterMark: options.outOptions.highwaterMark,
          write(_chunk, _enc, cb) {
            if (taken++ < takes) setTimeout(cb, blockMs);
          },
        }) as PortAudioOutStream;
        stream.start = () => undefined;
        stream.quit = async () => undefined;
        streamRef.stream = stream;
        return stream;
      }
    },
  };
}

describe('PortAudio output (fake binding)', () => {
  it('opens float32 with closeOnError off, the buffer size as PortAudio block, one block of Writable buffer', () => {
    const opened: unknown[] = [];
    const output = openPortAudioOutput({ device: 'fake', bufferFrames: 128, sampleRate: 44_100 }, fakeBinding(0, 1, opened, {}));
    expect(opened).toEqual([
      { outOptions: { deviceId: 0, sampleRate: 44_100, channelCount: 2, sampleFormat: 1, framesPerBuffer: 128, maxQueue: 2, highwaterMark: 128 * 2 * 4, closeOnError: false } },
    ]);
    expect(output.deviceName).toBe('Fake Out');
    expect(output.latencySource).toBe('estimate');
    expect(output.latencyMs).toBeCloseTo((2 * 128 * 1000) / 44_100, 6);
    expect(output.queueMs).toBeCloseTo((3 * 128 * 1000) / 44_100, 6);
  });

  it('when the device stops taking audio: reports it once, counts it, and keeps pulling at the real-time pace', async () => {
    const reported: Error[] = [];
    const blockMs = (256 / RATE) * 1000;
    const output = openPortAudioOutput(
      { bufferFrames: 256, stallMs: 200, onError: (e) => reported.push(e) },
      fakeBinding(20, blockMs, [], {}),
    );
    let pulls = 0;
    output.start((n) => {
      pulls++;
      return new Float32Array(n * 2);
    });
    await sleep(600);
    expect(output.onFallbackClock).toBe(true);
    expect(reported.map((e) => e.message)).toEqual([expect.stringMatching(/^output device "Fake Out" took no audio for \d+ ms \(unplugged or stalled\); keeping time on a null clock$/)]);
    expect(output.stats.errors).toBe(1);
    const before = pulls;
    await sleep(1000);
    await output.stop();
    const perSecond = pulls - before;
    expect(perSecond).toBeGreaterThan((RATE / 256) * 0.9);
    expect(perSecond).toBeLessThan((RATE / 256) * 1.1);
  });

  it('a stream error is counted and reported, and the clock goes on', async () => {
    const reported: string[] = [];
    const ref: { stream?: PortAudioOutStream } = {};
    const output = openPortAudioOutput({ onError: (e) => reported.push(e.message) }, fakeBinding(1e9, 10, [], ref));
    let pulls = 0;
    output.start((n) => {
      pulls++;
      return new Float32Array(n * 2);
    });
    await sleep(50);
    ref.stream!.emit('error', new Error('device unplugged'));
    const at = pulls;
    await sleep(300);
    await output.stop();
    expect(reported).toEqual(['output device "Fake Out": device unplugged']);
    expect(output.onFallbackClock).toBe(true);
    expect(pulls - at).toBeGreaterThan(15);
  });
});

describe('openDefaultOutput', () => {
  it('falls back to the real-time null sink, with the reason, when PortAudio has no output device', async () => {
    if (listOutputDevices().length > 0) return; // a machine with a sound card: nothing to fall back from
    const { output, reason } = openDefaultOutput({ bufferFrames: 256 });
    expect(output.deviceName).toBe('null sink');
    expect(reason).toBe('no audio output device: PortAudio lists none; playing on a real-time null sink (control, telemetry and recording still work)');
    await output.stop();
  });

  it('fails, naming the devices, when the device asked for is missing', () => {
    expect(() => openDefaultOutput({ device: 'Scarlett' })).toThrow(/^output device "Scarlett" not found; /);
  });
});
