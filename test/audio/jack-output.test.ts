/**
 * The PortAudio output played into a JACK dummy server (a real-time clock,
 * no sound card) and recorded by jack_rec, as a DAW would record it.
 * This file sets HOME and JACK_DEFAULT_SERVER for its own process (vitest
 * runs each file in a process of its own) before PortAudio first reads them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPortAudioOutput } from '../../src/audio/output.js';
import { decodeWav } from '../../src/audio/wav.js';
import { WavTee } from '../../src/audio/wav-tee.js';
import { JACK_PCM, JACK_RATE, JackSession, jackUnavailableReason } from '../helpers/jack.js';
import { alignByCrossCorrelation, deinterleave, fillTestSignal, longestSilence } from './signals.js';

const unavailable = jackUnavailableReason();
const SIGNAL_SECONDS = 6;
const SIGNAL_FRAMES = SIGNAL_SECONDS * JACK_RATE;
/** jack_rec records this long: the signal plus start-up and a tail. */
const RECORD_SECONDS = SIGNAL_SECONDS + 3;

describe.skipIf(unavailable !== null)(`PortAudio output into a JACK dummy server${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let jack: JackSession;

  beforeAll(async () => {
    jack = await JackSession.start();
    Object.assign(process.env, jack.env);
  });

  afterAll(async () => {
    await jack?.stop();
  });

  it('plays a known signal at the real-time pace: jack_rec records exactly what was pulled, with no dropout, and the WAV tee holds the same', async () => {
    const recording = await jack.record(RECORD_SECONDS);
    const teePath = join(jack.dir, 'tee.wav');
    const tee = new WavTee(teePath);
    const errors: Error[] = [];
    const output = openPortAudioOutput({ device: JACK_PCM, onError: (e) => errors.push(e) });
    expect(output.deviceName).toBe(JACK_PCM);
    expect(output.latencyMs).toBeGreaterThan(0);

    const pulled: Float32Array[] = [];
    let frame = 0;
    let signalDoneAt = 0;
    const startedAt = performance.now();
    const finished = new Promise<void>((resolve) => {
      output.start((frames) => {
        const block = new Float32Array(frames * 2);
        fillTestSignal(block, frame, SIGNAL_FRAMES, JACK_RATE);
        frame += frames;
        pulled.push(block);
        tee.write(block);
        if (frame >= SIGNAL_FRAMES && signalDoneAt === 0) signalDoneAt = performance.now();
        // half a second of silence after the signal, then stop
        if (frame >= SIGNAL_FRAMES + JACK_RATE / 2) resolve();
        return block;
      });
    });
    await finished;
    await output.stop();
    tee.close();
    await recording.done;

    // real-time pace: the signal took about its own length to pull (the first blocks are pulled at once to fill the queue)
    const pullSeconds = (signalDoneAt - startedAt) / 1000;
    expect(pullSeconds).toBeGreaterThan(SIGNAL_SECONDS * 0.97);
    expect(pullSeconds).toBeLessThan(SIGNAL_SECONDS * 1.05);
    expect(errors).toEqual([]);
    expect(output.stats.errors).toBe(0);
    expect(output.onFallbackClock).toBe(false);

    const all = new Float32Array(pulled.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of pulled) {
      all.set(b, at);
      at += b.length;
    }
    const [pl, pr] = deinterleave(all);

    // the tee holds exactly what was pulled
    const teeWav = decodeWav(readFileSync(teePath));
    expect(teeWav.sampleRate).toBe(JACK_RATE);
    expect(teeWav.channels[0]).toEqual(pl);
    expect(teeWav.channels[1]).toEqual(pr);

    // jack_rec's recording: aligned by cross-correlation, it is the pulled signal
    const rec = decodeWav(readFileSync(recording.file));
    expect(rec.sampleRate).toBe(JACK_RATE);
    const [rl, rr] = rec.channels;
    const signalL = pl.subarray(0, SIGNAL_FRAMES);
    const { lag, correlation } = alignByCrossCorrelation(signalL, rl);
    expect(correlation, `correlation peak at lag ${lag}`).toBeGreaterThan(0.999);
    expect(lag + SIGNAL_FRAMES).toBeLessThanOrEqual(rl.length);
    // no dropout: no silent run inside the played part longer than 2 ms (the signal itself is never silent for 2 samples)
    const silence = longestSilence([rl, rr], lag, lag + SIGNAL_FRAMES);
    expect(silence, `longest silence inside the played part, samples`).toBeLessThan(JACK_RATE * 0.002);
    // and sample for sample the same, up to jack_rec's 32-bit integer quantization
    let maxDiff = 0;
    for (let i = 0; i < SIGNAL_FRAMES; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(rl[lag + i] - pl[i]), Math.abs(rr[lag + i] - pr[i]));
    }
    expect(maxDiff).toBeLessThan(1e-6);
    console.log(
      `jackout: pulled ${SIGNAL_SECONDS} s in ${pullSeconds.toFixed(3)} s; lag ${lag} samples (${((lag / JACK_RATE) * 1000).toFixed(1)} ms after jack_rec started), ` +
        `correlation ${correlation.toFixed(6)}, longest silence ${silence} samples, max |diff| ${maxDiff.toExponential(2)}, blocks ${output.stats.blocks}`,
    );
  }, 40_000);

  it('names the output devices when the device asked for is not there', () => {
    expect(() => openPortAudioOutput({ device: 'no-such-device' })).toThrow(
      new RegExp(`output device "no-such-device" not found; output devices: .*"${JACK_PCM}"`),
    );
    expect(() => openPortAudioOutput({ device: 9999 })).toThrow(/no output device with id 9999; output devices: .*jackout/);
  });

  it('finds a device by a case-insensitive part of its name', async () => {
    // jackout connects to jack_rec's inputs when it opens, so a recorder must be running
    const recording = await jack.record(1);
    const byPart = openPortAudioOutput({ device: 'JACKOU' });
    expect(byPart.deviceName).toBe(JACK_PCM);
    await byPart.stop();
    await recording.done;
  });
});
