/**
 * `smitin live --outputs` as a user meets it, without JACK: a device with
 * too few output channels (an ALSA PCM of exactly two channels, named or
 * the default) is refused with exit 2 before any audio, naming the device
 * and its count; an EnCodec model has no stems, says so and plays the mix;
 * the null sink takes stems, and the session take gets its stem files.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STEM_NAMES } from '../../src/audio/outputs.js';
import { stemPath } from '../../src/audio/takes.js';
import { decodeWav } from '../../src/audio/wav.js';
import { REPO, smitin, tempDir } from '../helpers/cli.js';
import { summaryOf } from '../helpers/live.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

const ready = MODEL_DIR === SHIPPED_MODEL;
const QUIET = ['--osc-port', '0', '--web-port', '0', '--json'];
/** An ALSA PCM of exactly two channels (multi over the null PCM): PortAudio lists it with 2 output channels, no sound card needed. */
const TWO = 'pcm.two { type multi  slaves.a { pcm "null"  channels 2 }  bindings { 0 { slave a  channel 0 }  1 { slave a  channel 1 } } }\n';

/** A HOME whose .asoundrc holds `asoundrc`. */
function home(asoundrc: string): string {
  const dir = join(tempDir('smitin-outputs-'), 'home');
  mkdirSync(dir);
  writeFileSync(join(dir, '.asoundrc'), asoundrc);
  return dir;
}


describe.skipIf(!ready)('smitin live --outputs', () => {
  it('a named device with two channels: exit 2 before any audio, naming the device, its count and the channel map', () => {
    const take = join(tempDir(), 'take.wav');
    const r = smitin(['live', '--device', 'two', '--outputs', 'stems', '--record', take, '--duration', '1', ...QUIET], { HOME: home(TWO) });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--outputs stems: output device \d+ "two" has 2 output channels, 10 are needed \(1-2 mix, 3-4 drums, 5-6 bass, 7-8 piano, 9-10 guitar\); choose a device with 10 or more, or --outputs mix/);
    expect(existsSync(take)).toBe(false);
  });

  it('the default device with two channels: refused the same way, not played on the null sink instead', () => {
    const take = join(tempDir(), 'take.wav');
    const r = smitin(['live', '--outputs', 'stems', '--record', take, '--duration', '1', ...QUIET], { HOME: home(`${TWO}pcm.!default two\n`) });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--outputs stems: output device \d+ "default" has 2 output channels, 10 are needed/);
    expect(existsSync(take)).toBe(false);
  });

  it('the same device plays the mix: --outputs mix needs two channels', () => {
    const r = smitin(['live', '--device', 'two', '--outputs', 'mix', '--duration', '1', ...QUIET], { HOME: home(TWO) });
    expect(r.status, r.stderr).toBe(0);
    // (the null PCM behind it takes no audio at a real-time pace: the output may report a stall; it is the channel count that matters here)
    expect(summaryOf(r.stdout)).toMatchObject({ device: 'two', channels: 2 });
  });

  it('an EnCodec model has no stems: it says so and plays the mix', () => {
    const take = join(tempDir(), 'take.wav');
    // --force: the fixture's EnCodec chunks may not fit the default ring on a loaded machine, and this test is about the outputs
    const r = smitin(['live', '--model', join(REPO, 'test', 'fixtures', 'musicgen-tiny'), '--force', '--outputs', 'stems', '--record', take, '--duration', '2', ...QUIET], { HOME: home('') });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--outputs stems: .*musicgen-tiny.* is an EnCodec model, which has no stems \(it decodes one mixed signal\); playing the mix on channels 1-2/);
    expect(summaryOf(r.stdout)).toMatchObject({ channels: 2, audioErrors: 0 });
    expect(decodeWav(readFileSync(take)).channels.length).toBe(2);
    for (const s of STEM_NAMES) expect(existsSync(stemPath(take, s))).toBe(false);
  }, 120_000);

  it('the null sink takes stems: the session take and its four stems, the same length, the stems summing to the mix', () => {
    const take = join(tempDir(), 'set.wav');
    const r = smitin(['live', '--outputs', 'stems', '--record', take, '--duration', '3', ...QUIET], { HOME: home('') });
    expect(r.status, r.stderr).toBe(0);
    const figures = summaryOf(r.stdout);
    expect(figures).toMatchObject({ device: 'null sink', channels: 10, audioErrors: 0 });
    expect(figures.takes[0].stems).toEqual(STEM_NAMES.map((s) => stemPath(take, s)));
    const mix = decodeWav(readFileSync(take)).channels;
    const stems = STEM_NAMES.map((s) => decodeWav(readFileSync(stemPath(take, s))).channels);
    let worst = 0;
    for (const st of stems) expect(st[0].length).toBe(mix[0].length);
    for (let side = 0; side < 2; side++) {
      for (let i = 0; i < mix[0].length; i++) worst = Math.max(worst, Math.abs(mix[side][i] - stems.reduce((a, st) => a + st[side][i], 0)));
    }
    expect(worst).toBeLessThan(1e-6);
    expect(mix[0].reduce((p, v) => Math.max(p, Math.abs(v)), 0)).toBeGreaterThan(0.05);
  });
});
