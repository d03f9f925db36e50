import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { smitin, tempDir } from '../helpers/cli.js';

describe('smitin CLI', () => {
  it('has --help on every command', () => {
    const top = smitin(['--help']);
    expect(top.status).toBe(0);
    for (const cmd of ['compose', 'dataset', 'devices']) {
      expect(top.stdout).toContain(cmd);
      const r = smitin([cmd, '--help']);
      expect(r.status, cmd).toBe(0);
      expect(r.stdout).toMatch(/Usage: smitin /);
    }
    expect(smitin(['compose', '--help']).stdout).toContain('--tempo <bpm>');
  });

  it('`npx smitin` runs the linked CLI at once: nothing is installed into npx\'s cache (that re-ran tsc for 20 s)', () => {
    const cache = tempDir('smitin-npm-cache-');
    const r = spawnSync('npx', ['--no-install', 'smitin', '--help'], { encoding: 'utf8', env: { ...process.env, npm_config_cache: cache }, timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Usage: smitin /);
    expect(existsSync(join(cache, '_npx'))).toBe(false);
  });

  it("render --help leads with what a musician sets; the steering research options come last; no machine path", () => {
    const help = smitin(['render', '--help']).stdout;
    const at = (s: string) => help.indexOf(s);
    expect(at('Music:')).toBeGreaterThan(0);
    expect(at('--prompt <text>')).toBeGreaterThan(at('Music:'));
    expect(at('--steer <list>')).toBeLessThan(at('Model and sampling:'));
    expect(at('Steering research')).toBeGreaterThan(at('--temperature'));
    for (const research of ['--halves', '--from-layer', '--shift-prompt', '--direction', '--every']) expect(at(research)).toBeGreaterThan(at('Steering research'));
    const flat = help.replace(/\s+/g, ' ');
    expect(flat).toMatch(/tinyband knows: rock funk house ballad bossa happy bright sad dark calm steady energetic drums bass piano guitar;/);
    expect(flat).toContain('(default: the shipped tinyband)');
  });

  it('renders a composed piece of the asked length to a 48 kHz stereo WAV', () => {
    const dir = tempDir();
    const out = join(dir, 'band.wav');
    const r = smitin(['compose', '--seed', '7', '--seconds', '4', '--tempo', '100', '--style', 'funk', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.style).toBe('funk');
    const wav = decodeWav(readFileSync(out));
    expect(wav.sampleRate).toBe(48_000);
    expect(wav.channels).toHaveLength(2);
    expect(wav.channels[0].length).toBe(4 * 48_000);
    const rms = Math.sqrt(wav.channels[0].reduce((a, x) => a + x * x, 0) / wav.channels[0].length);
    expect(rms).toBeGreaterThan(0.01);
    expect(wav.channels[0].reduce((m, x) => Math.max(m, Math.abs(x)), 0)).toBeLessThanOrEqual(1);
    expect(readdirSync(dir)).toEqual(['band.wav']);
  });

  it('--only drums leaves no pitched band in the mix, --without drums leaves no drums', () => {
    const dir = tempDir();
    const args = ['compose', '--seed', '3', '--seconds', '6', '--style', 'rock'];
    expect(smitin([...args, '--only', 'drums', '--out', join(dir, 'd.wav')]).status).toBe(0);
    expect(smitin([...args, '--out', join(dir, 'all.wav')]).status).toBe(0);
    expect(smitin([...args, '--without', 'drums', '--out', join(dir, 'nod.wav')]).status).toBe(0);
    const read = (f: string) => decodeWav(readFileSync(join(dir, f))).channels[0];
    const [drums, all, noDrums] = [read('d.wav'), read('all.wav'), read('nod.wav')];
    // Without the limiter acting much, the full mix is close to drums + the rest.
    let diff = 0;
    let energy = 0;
    for (let i = 0; i < all.length; i++) {
      diff += (all[i] - drums[i] - noDrums[i]) ** 2;
      energy += all[i] ** 2;
    }
    expect(diff / energy).toBeLessThan(0.35);
    expect(energy).toBeGreaterThan(0);
  });

  it("the README's --only and --without examples play what they say; an instrument that never plays, or a silent result, is warned about", () => {
    const dir = tempDir();
    const peak = (f: string) => decodeWav(readFileSync(join(dir, f))).channels[0].reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    for (const [flag, list] of [['--only', 'drums,bass'], ['--without', 'piano']]) {
      const r = smitin(['compose', '--seed', '13', '--seconds', '20', flag, list, '--out', join(dir, `${flag}.wav`), '--json']);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout).warnings).toEqual([]);
      expect(peak(`${flag}.wav`)).toBeGreaterThan(0.05);
    }
    // seed 7 at 120 BPM: piano and guitar, then guitar alone
    const silent = smitin(['compose', '--seed', '7', '--seconds', '20', '--only', 'drums,bass', '--out', join(dir, 'silent.wav')]);
    expect(silent.status).toBe(0);
    expect(silent.stderr).toMatch(/^warning: drums, bass never play in seed 7 \(rock in E minor[^\n]*\): there is nothing of it to keep\nwarning: the result is silent/);
    expect(peak('silent.wav')).toBe(0);
    const nothing = smitin(['compose', '--seed', '7', '--seconds', '20', '--without', 'bass', '--out', join(dir, 'nobass.wav')]);
    expect(nothing.stderr).toMatch(/^warning: bass never plays in seed 7 [^\n]*: there is nothing to remove\n$/);
  });

  const bad: [string, string[], RegExp][] = [
    ['unknown instrument', ['--without', 'tuba'], /unknown instrument "tuba": expected one of drums, bass, piano, guitar/],
    ['unknown style', ['--style', 'polka'], /unknown style "polka": expected one of rock, funk, house, ballad, bossa/],
    ['negative seconds', ['--seconds', '-5'], /seconds must be within \[0.001, 3600\], got: -5/],
    ['absurd seconds', ['--seconds', '1e9'], /seconds must be within/],
    ['not a number', ['--seconds', 'ten'], /seconds must be a number/],
    ['tempo too fast', ['--tempo', '300'], /tempo must be within \[60, 200\], got: 300/],
    ['tempo too slow', ['--tempo', '20'], /tempo must be within \[60, 200\], got: 20/],
    ['only and without together', ['--only', 'drums', '--without', 'bass'], /cannot be used with/],
    ['unknown option', ['--loud'], /unknown option '--loud'/],
  ];
  it.each(bad)('rejects %s with one line and exit code 2, writing nothing', (_name, extra, message) => {
    const dir = tempDir();
    const out = join(dir, 'x.wav');
    const r = smitin(['compose', '--seconds', '2', '--out', out, ...extra]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['a missing directory', '/nonexistent-smitin/dir/x.wav', /--out \/nonexistent-smitin\/dir\/x.wav cannot be written: directory \/nonexistent-smitin\/dir does not exist/],
    ['a read-only place', '/proc/smitin-x.wav', /--out \/proc\/smitin-x.wav cannot be written/],
    ['a directory', '/tmp', /--out must name a .wav file/],
  ])('rejects an unwritable output path (%s) with exit code 2', (_name, out, message) => {
    const r = smitin(['compose', '--seconds', '2', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out) && out !== '/tmp').toBe(false);
  });

  it('says in one line that there is no MIDI subsystem, and lists a PortAudio device defined in .asoundrc', () => {
    const home = tempDir('smitin-home-');
    const pcm = 'pcm.smitintest { type file slave.pcm "null" file "/dev/null" format "raw" }\n';
    writeFileSync(join(home, '.asoundrc'), pcm);
    const table = smitin(['devices'], { HOME: home });
    expect(table.status).toBe(0);
    const json = smitin(['devices', '--json'], { HOME: home });
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.audio.available).toBe(true);
    expect(report.audio.outputs.map((d: { name: string }) => d.name)).toContain('smitintest');
    expect(table.stdout).toMatch(/smitintest\s+ALSA/);
    if (!report.midi.available) {
      expect(table.stdout.split('\n').filter((l) => l.startsWith('MIDI'))).toEqual([expect.stringMatching(/^MIDI: unavailable: no MIDI subsystem/)]);
    } else {
      expect(table.stdout).toMatch(/^MIDI inputs:/m);
    }
  });
});
