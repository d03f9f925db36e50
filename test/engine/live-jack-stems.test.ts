/**
 * `smitin live --outputs stems` into a JACK dummy server with 10 ports, as a
 * DAW records it: PortAudio's `jackout` PCM plays 10 channels into jack_rec's
 * 10 inputs in real time. Each recorded pair must be its instrument: by what
 * the band is (only drums reach above 8 kHz, the bass sits low and centred,
 * the piano left and the guitar right: the synth's default placement), and
 * by its spectrum and stereo place being nearest to that stem's take file of
 * the four (the device kept the channel map). Pairs 3..10 must sum to 1-2 at
 * every frame.
 *
 * Under load (see ENVIRONMENT.md) a real-time graph inserts silences or
 * drops periods; both hit all ten channels of a frame alike, so neither the
 * sum nor a stem's spectrum over seconds can be changed by them. A player
 * late within a cycle can tear a period (some ports a period ahead): such
 * periods are told apart by a port repeating a neighbouring period, and
 * counted against jackd's late reports. These assertions tell a wrong channel map or
 * a broken stem, not jitter.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { STEM_NAMES } from '../../src/audio/outputs.js';
import { stemPath } from '../../src/audio/takes.js';
import { decodeWav } from '../../src/audio/wav.js';
import { JACK_PCM, JACK_PERIOD, JACK_RATE, JackSession, jackLateClients, jackUnavailableReason, readJackRecording } from '../helpers/jack.js';
import { smitin } from '../helpers/cli.js';
import { runLive, summaryOf } from '../helpers/live.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';
import { rms } from '../helpers/arrays.js';
import { powerSpectrum } from '../synth/helpers.js';

const unavailable = MODEL_DIR !== SHIPPED_MODEL ? 'the shipped model is not the test model' : jackUnavailableReason();
const SECONDS = 8;
const CHANNELS = 2 * (1 + STEM_NAMES.length);
/** Band edges (Hz) of a spectral profile. */
const BANDS = [0, 150, 400, 1000, 3000, 8000, JACK_RATE / 2];

/** Share of a pair's energy in each band, and its stereo balance (left minus right over their sum, in rms). */
function profile(left: Float32Array, right: Float32Array): number[] {
  const mono = new Float32Array(left.length);
  for (let i = 0; i < mono.length; i++) mono[i] = 0.5 * (left[i] + right[i]);
  const p = powerSpectrum(mono);
  const hz = (k: number) => (k * JACK_RATE) / ((p.length - 1) * 2);
  const total = p.reduce((a, b) => a + b, 0);
  const shares = BANDS.slice(1).map((hi, b) => {
    let e = 0;
    for (let k = 0; k < p.length; k++) if (hz(k) >= BANDS[b] && hz(k) < hi) e += p[k];
    return e / total;
  });
  const l = rms(left);
  const r = rms(right);
  return [...shares, (l - r) / (l + r)];
}

const distance = (a: number[], b: number[]) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0);

/**
 * Compares the recorded mix (channels 1-2) with the sum of the recorded stems
 * (3..10), period by period. A player's JACK client that is late for a cycle
 * can still be writing its ports while jack_rec reads them: that period is
 * torn, some ports (or the first frames of a port) holding the next cycle
 * and the rest this one (seen: 4-9 a period ahead of 0-3; one side of a
 * pair ahead; 174 frames of one port ahead), or the last one again. A torn
 * period shows as a sounding port that repeats its own period before or
 * after, sample for sample at the same places, for 32 frames or more
 * (music does not); a period whose sum is wrong without that is a broken
 * stem or channel map.
 */
function mixAgainstStems(recorded: Float32Array[]): { worst: number; tornPeriods: number; unexplained: string[] } {
  const periods = Math.floor(recorded[0].length / JACK_PERIOD);
  /** Whether port `c` holds, somewhere in period `p`, 32 sounding frames of a neighbouring period at the same places. */
  const repeatsNeighbour = (c: Float32Array, p: number): boolean => {
    const at = p * JACK_PERIOD;
    return [p - 1, p + 1].some((q) => {
      if (q < 0 || q >= periods) return false;
      let run = 0;
      let sounding = false;
      for (let k = 0; k < JACK_PERIOD; k++) {
        const v = c[at + k];
        if (v === c[q * JACK_PERIOD + k]) {
          run++;
          sounding ||= v !== 0;
          if (run >= 32 && sounding) return true;
        } else {
          run = 0;
          sounding = false;
        }
      }
      return false;
    });
  };
  let worst = 0;
  let tornPeriods = 0;
  const unexplained: string[] = [];
  for (let p = 0; p < periods; p++) {
    let off = 0;
    for (let i = p * JACK_PERIOD; i < (p + 1) * JACK_PERIOD; i++) {
      for (let side = 0; side < 2; side++) {
        let sum = 0;
        for (let k = 0; k < STEM_NAMES.length; k++) sum += recorded[2 + 2 * k + side][i];
        off = Math.max(off, Math.abs(recorded[side][i] - sum));
      }
    }
    if (off < 1e-6) continue;
    if (recorded.some((c) => repeatsNeighbour(c, p))) tornPeriods++;
    else {
      worst = Math.max(worst, off);
      if (unexplained.length < 5) unexplained.push(`period ${p} (from frame ${p * JACK_PERIOD}): off by ${off.toExponential(2)}, no port repeating a neighbouring period in it`);
    }
  }
  return { worst, tornPeriods, unexplained };
}

describe.skipIf(unavailable !== null)(`smitin live --outputs stems into JACK${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let jack: JackSession;
  let keep = false;
  beforeAll(async () => {
    jack = await JackSession.start({ ports: CHANNELS });
    // a device with two channels: stems must be refused on it
    appendFileSync(join(jack.env.HOME, '.asoundrc'), 'pcm.jack2 { type jack  playback_ports { 0 jackrec:input1  1 jackrec:input2 } }\n');
  });
  afterAll(async () => jack?.stop(keep));

  it('a device with too few output channels is refused before any audio: exit 2, naming it and its channel count', () => {
    const tee = join(jack.dir, 'refused.wav');
    const r = smitin(['live', '--device', 'jack2', '--outputs', 'stems', '--record', tee, '--duration', '2', '--osc-port', '0', '--web-port', '0', '--json'], jack.env);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--outputs stems: output device \d+ "jack2" has 2 output channels, 10 are needed \(1-2 mix, 3-4 drums, 5-6 bass, 7-8 piano, 9-10 guitar\)/);
    expect(existsSync(tee)).toBe(false);
  }, 60_000);

  it(`plays ${SECONDS} s on 10 channels: each pair is its instrument, and pairs 3..10 sum to 1-2`, async () => {
    onTestFailed(() => {
      keep = true;
      console.log(`JACK session files kept in ${jack.dir}`);
    });
    const recording = await jack.record(SECONDS + 600, join(jack.dir, 'rec.wav'), CHANNELS);
    const tee = join(jack.dir, 'tee.wav');
    // the band named in the prompt, so that every stem has its instrument to carry within the take (tinyband's
    // "funk happy energetic" at seed 1 plays no drums in its first bars)
    const band = ['--prompt', 'funk happy energetic drums bass piano guitar'];
    const live = runLive(['0', '--device', JACK_PCM, '--outputs', 'stems', '--record', tee, '--duration', String(SECONDS), ...band, '--json'], jack.env);
    const code = await live.exited;
    await recording.stop(performance.now() + 500);
    expect(code, live.err()).toBe(0);
    expect(summaryOf(live.out())).toMatchObject({ device: JACK_PCM, channels: CHANNELS, audioErrors: 0 });
    expect(live.err()).toContain('stems on their own channels: 1-2 mix, 3-4 drums, 5-6 bass, 7-8 piano, 9-10 guitar');

    const rec = readJackRecording(recording.file);
    expect(rec.channels.length).toBe(CHANNELS);
    const frames = rec.channels[0].length;
    expect(frames / JACK_RATE).toBeGreaterThan(SECONDS - 1);

    // the stems sum to the mix at every frame: float32 rounding and jack_rec's 32-bit integers, nothing more; except in a
    // period torn by a late player (some ports hold this cycle, some the next), which jackd reports
    const takes = STEM_NAMES.map((s) => decodeWav(readFileSync(stemPath(tee, s))).channels);
    const { worst, tornPeriods, unexplained } = mixAgainstStems(rec.channels);
    const lateReports = jackLateClients(jack.log()).length;
    const sums = `|mix - sum of the stems| <= ${worst.toExponential(1)} outside ${tornPeriods} torn period(s) (clients reported late ${lateReports} times)`;
    expect(unexplained, sums).toEqual([]);
    expect(worst, sums).toBeLessThan(1e-6);
    expect(tornPeriods, sums).toBeLessThanOrEqual(lateReports);
    expect(rms(rec.channels[0])).toBeGreaterThan(0.01);

    // each pair is its instrument: of the four stem takes, its own is the nearest in spectrum and stereo place
    const wanted = takes.map(([l, r]) => profile(l, r));
    const got = STEM_NAMES.map((_, k) => profile(rec.channels[2 + 2 * k], rec.channels[3 + 2 * k]));
    const report = STEM_NAMES.map((s, k) => `${s}: recorded ${got[k].map((v) => v.toFixed(3)).join(' ')} | take ${wanted[k].map((v) => v.toFixed(3)).join(' ')}`).join('\n');
    console.log(`stems into JACK: ${sums}, ${(frames / JACK_RATE).toFixed(2)} s recorded; profiles (band shares ${BANDS.join('/')} Hz, balance):\n${report}`);
    // and what each instrument is, whatever the engine's own files say: only the drums (hats, cymbals) reach above
    // 8 kHz; the bass is all below 1 kHz and in the middle; the piano stands left of centre and the guitar right
    const [drums, bass, piano, guitar] = got;
    const above8k = (p: number[]) => p[5];
    const above1k = (p: number[]) => p[3] + p[4] + p[5];
    const balance = (p: number[]) => p[6];
    expect(above8k(drums), report).toBeGreaterThan(0.01);
    for (const other of [bass, piano, guitar]) expect(above8k(other), report).toBeLessThan(above8k(drums) / 5);
    expect(above1k(bass), report).toBeLessThan(0.01);
    expect(Math.abs(balance(bass)), report).toBeLessThan(0.05);
    expect(balance(piano), report).toBeGreaterThan(0.15);
    expect(balance(guitar), report).toBeLessThan(-0.15);
    for (let k = 0; k < STEM_NAMES.length; k++) {
      expect(rms(rec.channels[2 + 2 * k]) + rms(rec.channels[3 + 2 * k]), `${STEM_NAMES[k]} plays`).toBeGreaterThan(0.005);
      const nearest = wanted.map((w) => distance(got[k], w));
      expect(nearest.indexOf(Math.min(...nearest)), `pair ${3 + 2 * k}-${4 + 2 * k}\n${report}`).toBe(k);
    }
  }, (SECONDS + 120) * 1000);
});
