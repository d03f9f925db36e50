/**
 * The issue's stage test: `smitin live` plays 30 s into a JACK dummy server
 * (a real-time clock, as a DAW's audio engine runs) through PortAudio's
 * `jackout` PCM, jack_rec records it as a DAW would, and the recording is
 * the WAV tee sample for sample (aligned by cross-correlation): nothing the
 * engine handed to the device was lost on the way.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { alignByCrossCorrelation } from '../audio/signals.js';
import { BIN } from '../helpers/cli.js';
import { JACK_PCM, JACK_RATE, JackSession, jackUnavailableReason } from '../helpers/jack.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

const unavailable = MODEL_DIR !== SHIPPED_MODEL ? 'the shipped model is not the test model' : jackUnavailableReason();
const SECONDS = 30;

describe.skipIf(unavailable !== null)(`smitin live into JACK${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let jack: JackSession;
  beforeAll(async () => {
    jack = await JackSession.start();
  });
  afterAll(async () => jack?.stop());

  it(`plays ${SECONDS} s in real time; jack_rec's recording equals the WAV tee, with no dropout`, async () => {
    const recording = await jack.record(SECONDS + 8);
    const tee = join(jack.dir, 'tee.wav');
    const child = spawn(process.execPath, [BIN, 'live', '--device', JACK_PCM, '--record', tee, '--duration', String(SECONDS), '--osc-port', '0', '--json'], {
      env: { ...process.env, ...jack.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr).toBe(0);
    await recording.done;
    // PortAudio's binding prints its own lines on stdout from C: the summary is the last JSON line
    const summary = JSON.parse(stdout.split('\n').filter((l) => l.startsWith('{')).at(-1)!);
    expect(summary).toMatchObject({ device: JACK_PCM, underruns: 0, audioErrors: 0 });

    const played = decodeWav(readFileSync(tee));
    const rec = decodeWav(readFileSync(recording.file));
    const [tl, tr] = played.channels;
    const [rl, rr] = rec.channels;
    expect(tl.length / JACK_RATE).toBeGreaterThan(SECONDS - 0.5);
    // align on 5 s of music from the middle of the first 15 s
    const from = 5 * JACK_RATE;
    const { lag, correlation } = alignByCrossCorrelation(tl.subarray(from, from + 5 * JACK_RATE), rl.subarray(0, 20 * JACK_RATE));
    expect(correlation).toBeGreaterThan(0.999);
    const offset = lag - from; // rec[offset + i] is tee[i]
    expect(offset).toBeGreaterThanOrEqual(0);
    // the last blocks handed to the binding when it stopped may not have played: compare up to 100 ms before the end
    const end = Math.min(tl.length - JACK_RATE / 10, rl.length - offset);
    expect(end / JACK_RATE).toBeGreaterThan(SECONDS - 1);
    let worst = 0;
    let lost = 0;
    for (let i = 0; i < end; i++) {
      const d = Math.max(Math.abs(rl[offset + i] - tl[i]), Math.abs(rr[offset + i] - tr[i]));
      if (d > worst) worst = d;
      if (d > 1e-4) lost++;
    }
    expect(lost, `samples that differ (max |diff| ${worst})`).toBe(0);
    expect(worst).toBeLessThan(1e-6);
    const rms = Math.sqrt(tl.reduce((a, v) => a + v * v, 0) / tl.length);
    expect(rms).toBeGreaterThan(0.01);
  }, (SECONDS + 60) * 1000);
});
