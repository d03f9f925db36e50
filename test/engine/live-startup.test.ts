/**
 * What `smitin live` refuses before any audio starts: every mistake on the
 * command line (a path, a value, a port in use, a preset for another model)
 * exits with code 2 within a few seconds, with one line that names the
 * value and what was expected, and nothing is left running or half-written.
 */
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { freePort, runLive } from '../helpers/live.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

const ready = MODEL_DIR === SHIPPED_MODEL;
const generic = JSON.parse(readFileSync(new URL('../../presets/generic-8-knob.json', import.meta.url), 'utf8'));

/** Runs live with `args` (OSC off unless they say otherwise) and returns its exit code, stderr and how long it took. */
async function refused(args: string[], cwd?: string) {
  const t0 = Date.now();
  const live = runLive(['0', '--duration', '5', ...args], {}, cwd);
  const timer = setTimeout(() => live.child.kill('SIGKILL'), 30_000);
  const code = await live.exited;
  clearTimeout(timer);
  return { code, err: live.err(), out: live.out(), seconds: (Date.now() - t0) / 1000, cwd: live.cwd };
}

function oneLine(err: string): string {
  const lines = err.trim().split('\n');
  expect(lines, err).toHaveLength(1);
  return lines[0];
}

describe.skipIf(!ready)('smitin live refuses bad start-up input with exit 2, before audio', () => {
  it('--record into a missing or unwritable folder', async () => {
    const dir = tempDir();
    const missing = await refused(['--record', join(dir, 'nope', 'take.wav')]);
    expect(missing.code).toBe(2);
    expect(oneLine(missing.err)).toContain(join(dir, 'nope'));
    expect(missing.seconds).toBeLessThan(15);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const notDir = await refused(['--takes', join(file, 'takes')]);
    expect(notDir.code).toBe(2);
    expect(oneLine(notDir.err)).toContain(file);
  }, 60_000);

  it('an OSC port in use: one line, exit 2', async () => {
    const port = await freePort();
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(port, '127.0.0.1', () => r()));
    try {
      const t0 = Date.now();
      const live = runLive([String(port), '--duration', '5']);
      const code = await live.exited;
      expect(code).toBe(2);
      expect((Date.now() - t0) / 1000).toBeLessThan(15);
      const line = oneLine(live.err());
      expect(line).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
      expect(line).not.toMatch(/OSC: OSC:/);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('bad values: a feature the probes lack, a hex tempo, a port out of range, --steer with steering off', async () => {
    const nope = await refused(['--steer', 'nope=1']);
    expect(nope.code).toBe(2);
    expect(oneLine(nope.err)).toMatch(/unknown feature "nope"; the model's probes have: drums, bass, piano, guitar/);
    const hex = await refused(['--tempo', '0x64']);
    expect(hex.code).toBe(2);
    expect(oneLine(hex.err)).toMatch(/tempo must be a number in \[60, 200\], got: 0x64/);
    const port = await refused(['--osc-target', '127.0.0.1:99999']);
    expect(port.code).toBe(2);
    expect(oneLine(port.err)).toMatch(/127\.0\.0\.1:99999.*port 1\.\.65535/);
    const off = await refused(['--probes', 'none', '--steer', 'drums=1']);
    expect(off.code).toBe(2);
    expect(oneLine(off.err)).toMatch(/steering is off \(--probes none\)/);
  }, 90_000);

  it('a preset with a feature the model does not have, and a preset path that is not a file', async () => {
    const dir = tempDir();
    const cowbell = join(dir, 'cowbell.json');
    writeFileSync(cowbell, JSON.stringify({ ...generic, features: { ...generic.features, cowbell: { cc: 90 } } }));
    const r = await refused(['--preset', cowbell]);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toMatch(/features\.cowbell is not a feature of this model's probes; expected one of drums, bass, piano, guitar/);
    mkdirSync(join(dir, 'folder.json'));
    const folder = await refused(['--preset', join(dir, 'folder.json')]);
    expect(folder.code).toBe(2);
    expect(oneLine(folder.err)).toMatch(/not a regular file/);
    const big = join(dir, 'big.json');
    writeFileSync(big, ' '.repeat(300_000));
    const tooBig = await refused(['--preset', big]);
    expect(tooBig.code).toBe(2);
    expect(oneLine(tooBig.err)).toMatch(/a preset is at most 262144 bytes/);
  }, 60_000);

  it('a wrong --device: exit 2, one line listing the devices there are, no ALSA chatter', async () => {
    const r = await refused(['--device', 'no-such-device-xyz']);
    expect(r.code).toBe(2);
    const line = oneLine(r.err);
    expect(line).toMatch(/no-such-device-xyz/);
    expect(line).toMatch(/output devices: |PortAudio is unavailable|PortAudio lists none|output devices/);
    expect(r.err).not.toMatch(/ALSA lib/);
  }, 60_000);

  it('an existing take is never overwritten at start: without --overwrite the take gets the next free name', async () => {
    const dir = tempDir();
    const take = join(dir, 'take.wav');
    writeFileSync(take, 'an earlier take');
    const live = runLive(['0', '--record', take, '--duration', '1.5', '--json']);
    expect(await live.exited).toBe(0);
    expect(readFileSync(take, 'utf8')).toBe('an earlier take');
    expect(existsSync(join(dir, 'take-2.wav'))).toBe(true);
  }, 60_000);
});
