/**
 * The PortAudio output played into a JACK dummy server (a real-time clock,
 * no sound card) and recorded by jack_rec, as a DAW would record it.
 * This file sets HOME and JACK_DEFAULT_SERVER for its own process (vitest
 * runs each file in a process of its own) before PortAudio first reads them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { openPortAudioOutput } from '../../src/audio/output.js';
import { decodeWav } from '../../src/audio/wav.js';
import { WavTee } from '../../src/audio/wav-tee.js';
import { JACK_PCM, JACK_PERIOD, JACK_RATE, JackSession, jackLateClients, jackUnavailableReason, jackXruns, readJackRecording } from '../helpers/jack.js';
import { alignPiecewise, describeAlignment, gapProblems } from './piecewise-align.js';
import { deinterleave, fillTestSignal } from './signals.js';

const unavailable = jackUnavailableReason();
const SIGNAL_SECONDS = 6;
const SIGNAL_FRAMES = SIGNAL_SECONDS * JACK_RATE;
const periodMs = (JACK_PERIOD / JACK_RATE) * 1000;

describe.skipIf(unavailable !== null)(`PortAudio output into a JACK dummy server${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let jack: JackSession;
  let keep = false;

  beforeAll(async () => {
    jack = await JackSession.start();
    Object.assign(process.env, jack.env);
  });

  afterAll(async () => {
    await jack?.stop(keep);
  });

  it('plays a known signal at the real-time pace: jack_rec records what was pulled, in order and intact, and the WAV tee holds the same', async () => {
    onTestFailed(() => {
      keep = true;
      console.log(`JACK session files kept in ${jack.dir}`);
    });
    // stopped once the signal has played: a fixed duration would cut it short when this process is slow to start playing
    const recording = await jack.record(SIGNAL_SECONDS + 600);
    const teePath = join(jack.dir, 'tee.wav');
    const tee = new WavTee(teePath);
    const errors: Error[] = [];
    const output = openPortAudioOutput({ device: JACK_PCM, onError: (e) => errors.push(e) });
    expect(output.deviceName).toBe(JACK_PCM);
    expect(output.latencyMs).toBeGreaterThan(0);

    const pulled: Float32Array[] = [];
    const pulledAt: number[] = [];
    let frame = 0;
    let signalDoneAt = 0;
    const startedAt = performance.now();
    const finished = new Promise<void>((resolve) => {
      output.start((frames) => {
        pulledAt.push(performance.now());
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
    await recording.stop(performance.now() + 500);

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

    // jack_rec's recording, walked sample for sample against what was pulled, each channel on its own: a player late
    // within a cycle can tear a period (jack_rec reads one port before this process has written it and one after)
    const rec = readJackRecording(recording.file);
    expect(rec.sampleRate).toBe(JACK_RATE);
    // this process handing blocks over late is what makes the PCM run dry: the pauses between pulls, longest first
    const stalls = pulledAt.slice(1).map((t, i) => t - pulledAt[i]).sort((x, y) => y - x);
    const pullSeconds = (signalDoneAt - startedAt) / 1000;
    const lateReports = jackLateClients(jack.log()).length;
    const xruns = jackXruns(jack.log()).length;
    const aligned = [pl, pr].map((ref, c) => alignPiecewise([ref], [rec.channels[c]], { cycle: JACK_PERIOD }));
    const diagnosis =
      `${aligned.map((a, c) => `${'LR'[c]}: ${describeAlignment(a, JACK_RATE)}`).join(' | ')} | pulled ${SIGNAL_SECONDS} s in ${pullSeconds.toFixed(3)} s, ` +
      `longest pauses between pulls ${stalls.slice(0, 3).map((m) => m.toFixed(0)).join(', ')} ms, blocks ${output.stats.blocks}, jackd xruns ${xruns} (clients late ${lateReports})`;
    console.log(`jackout: ${diagnosis}`);

    expect(errors).toEqual([]);
    expect(output.stats.errors).toBe(0);
    expect(output.onFallbackClock).toBe(false);
    for (const a of aligned) {
      expect(a.failure, diagnosis).toBeNull();
      // the signal sounds from its first sample and is never silent: all of it was compared, from its first frame (its last cycle may be lost)
      expect(a.refStart, diagnosis).toBe(0);
      expect(a.refEnd, diagnosis).toBeGreaterThanOrEqual(SIGNAL_FRAMES - JACK_PERIOD);
      expect(
        gapProblems(a, { period: JACK_PERIOD, maxGapFrames: JACK_RATE, maxRepeatFrames: JACK_PERIOD, maxInsertedFrames: 0.1 * SIGNAL_FRAMES, maxDroppedFrames: 0.1 * SIGNAL_FRAMES }),
        diagnosis,
      ).toEqual([]);
      // a cycle lost or a port read twice: a client (jack_rec, or this process's) missed that cycle, which jackd reports
      expect(a.droppedFrames / JACK_PERIOD, `${diagnosis}: lost cycles without as many xruns reported`).toBeLessThanOrEqual(xruns);
      expect(a.gaps.filter((g) => g.kind === 'repeated' || g.kind === 'torn').length, `${diagnosis}: repeats and torn cycles without as many clients reported late`).toBeLessThanOrEqual(lateReports);
      // each silence the graph played is explained by a pause of this process at least as long (the k-th longest by the k-th longest)
      const silencesMs = a.gaps.filter((g) => g.insertedFrames > 0).map((g) => (g.insertedFrames / JACK_RATE) * 1000).sort((x, y) => y - x);
      silencesMs.forEach((silence, k) => expect(stalls[k] ?? 0, `${diagnosis}: silence ${k + 1} without a pause that long`).toBeGreaterThanOrEqual(silence - 2 * periodMs));
    }
    // real-time pace: the signal took its own length to pull (the first blocks are pulled at once to fill the queue), plus the silences the graph played while this process was late
    const insertedSeconds = Math.max(...aligned.map((a) => a.insertedFrames)) / JACK_RATE;
    expect(pullSeconds, diagnosis).toBeGreaterThan(SIGNAL_SECONDS * 0.97);
    expect(pullSeconds, diagnosis).toBeLessThan(SIGNAL_SECONDS * 1.05 + insertedSeconds);
  }, 60_000);

  it('names the output devices when the device asked for is not there', () => {
    expect(() => openPortAudioOutput({ device: 'no-such-device' })).toThrow(
      new RegExp(`output device "no-such-device" not found; output devices: .*"${JACK_PCM}"`),
    );
    expect(() => openPortAudioOutput({ device: 9999 })).toThrow(/no output device with id 9999; output devices: .*jackout/);
  });

  it('finds a device by a case-insensitive part of its name', async () => {
    // jackout connects to jack_rec's inputs when it opens, so a recorder must be running
    const recording = await jack.record(60);
    const byPart = openPortAudioOutput({ device: 'JACKOU' });
    expect(byPart.deviceName).toBe(JACK_PCM);
    await byPart.stop();
    await recording.stop();
  });
});
