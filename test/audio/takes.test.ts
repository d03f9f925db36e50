/**
 * The takes of a live session: a new file for every start, never one
 * overwritten or shrunk, at most one new file a second whatever the
 * controllers send, no name from the network, and a full disk or a deleted
 * folder that ends a take cleanly without ending the next one.
 */
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, closeSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { checkRecordOptions, MIN_TAKE_INTERVAL_MS, Takes, type TakeIssueLog, type TakesOptions } from '../../src/audio/takes.js';
import { tempDir } from '../helpers/cli.js';
import { mountSmallDisk } from '../helpers/tmpfs.js';

const RATE = 48_000;
/** 2026-12-01 20:30:00 local time: the stamp in the names below. */
const EVENING = new Date(2026, 11, 1, 20, 30, 0).getTime();

function readWav(path: string) {
  return decodeWav(new Uint8Array(readFileSync(path)));
}

/** A stereo block of `frames` frames whose samples encode their position, so a take's content can be checked. */
function block(from: number, frames: number): Float32Array {
  const out = new Float32Array(frames * 2);
  for (let i = 0; i < frames; i++) out[2 * i] = out[2 * i + 1] = Math.fround(((from + i) % 1000) / 1000 - 0.5);
  return out;
}

/** A recorder on an injected clock, collecting what it says. */
function recorder(opts: Partial<TakesOptions> & { dir?: string } = {}) {
  const clock = { t: EVENING };
  const errors: string[] = [];
  const notes: string[] = [];
  const takes = new Takes({
    sampleRate: RATE,
    now: () => clock.t,
    onError: (e) => errors.push(e.message),
    onNote: (m) => notes.push(m),
    ...opts,
  });
  return { takes, clock, errors, notes };
}

/** Fills what is left of a disk with a file (until ENOSPC); returns its path. */
function fillUp(dir: string, name: string): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}

describe('Takes: a new file for every start, none overwritten', () => {
  it('a toggle storm on an injected clock: at most one new file a second, no take shrinks, every take holds exactly what played while it ran', () => {
    const folder = join(tempDir(), 'takes');
    mkdirSync(folder);
    // a take from an earlier session in the same second: kept
    writeFileSync(join(folder, 'take-20261201-203000.wav'), 'an earlier take');
    const counted: string[] = [];
    const issues: TakeIssueLog = { report: (source, kind) => counted.push(`${source}/${kind}`) };
    const { takes, clock, errors, notes } = recorder({ dir: folder, issues });
    const expected = new Map<string, number>();
    const sizes = new Map<string, number>();
    let frame = 0;
    let starts = 0;
    // 600 toggles 37 ms apart (22 s), 256 frames played between each
    for (let i = 0; i < 600; i++) {
      clock.t += 37;
      if (i % 2 === 0) {
        const file = takes.start();
        if (file) {
          starts++;
          expect(expected.has(file), `${file} opened twice`).toBe(false);
          expected.set(file, 0);
        }
      } else {
        takes.stop();
      }
      const now = takes.status();
      takes.write(block(frame, 256));
      frame += 256;
      if (now) expected.set(now.file, expected.get(now.file)! + 256);
      for (const f of readdirSync(folder)) {
        const size = statSync(join(folder, f)).size;
        expect(size, `${f} shrank`).toBeGreaterThanOrEqual(sizes.get(f) ?? 0);
        sizes.set(f, size);
      }
    }
    takes.stop();
    const elapsed = 600 * 37;
    expect(starts).toBeLessThanOrEqual(Math.floor(elapsed / MIN_TAKE_INTERVAL_MS) + 1);
    expect(starts).toBeGreaterThanOrEqual(Math.floor(elapsed / MIN_TAKE_INTERVAL_MS) - 1);
    expect(readdirSync(folder)).toHaveLength(starts + 1);
    expect(readFileSync(join(folder, 'take-20261201-203000.wav'), 'utf8')).toBe('an earlier take');
    expect([...expected.keys()][0]).toBe(join(folder, 'take-20261201-203000-2.wav'));
    expect([...expected.keys()][1]).toBe(join(folder, 'take-20261201-203001.wav'));
    for (const [file, frames] of expected) expect(readWav(file).channels[0].length, file).toBe(frames);
    expect(takes.list()).toEqual([...expected].map(([file, frames]) => ({ file, seconds: frames / RATE, recording: false, error: null })));
    // refusals are counted as a control problem, every one, and nothing else went wrong
    expect(takes.refused).toBeGreaterThan(200);
    expect(counted).toHaveLength(takes.refused);
    expect(new Set(counted)).toEqual(new Set(['record/refused']));
    expect(errors).toEqual([]);
    expect(notes.filter((n) => n.startsWith('recording to'))).toHaveLength(starts);
  });

  it('on the real clock: a start/stop storm (every 2 ms) makes at most one file a second', async () => {
    const folder = join(tempDir(), 'takes');
    const notes: string[] = [];
    const takes = new Takes({ dir: folder, sampleRate: RATE, onNote: (m) => notes.push(m) });
    const t0 = Date.now();
    let starts = 0;
    let loops = 0;
    while (Date.now() - t0 < 1500) {
      if (takes.start()) starts++;
      takes.write(block(0, 64));
      takes.stop();
      loops++;
      // a storm, not a busy loop: real-time tests may be running beside this file
      await new Promise((r) => setTimeout(r, 2));
    }
    const elapsed = Date.now() - t0;
    expect(loops).toBeGreaterThan(100);
    expect(starts).toBeGreaterThanOrEqual(2);
    expect(starts).toBeLessThanOrEqual(Math.floor(elapsed / 1000) + 1);
    expect(readdirSync(folder)).toHaveLength(starts);
    // without an issue log, a burst of refusals is reported once
    expect(notes.filter((n) => n.startsWith('record start refused'))).toHaveLength(starts);
  });

  it('--record NAME.wav: an existing file is kept and the take is NAME-2.wav; later takes are NAME-3.wav, ... beside it', () => {
    const dir = tempDir();
    const record = join(dir, 'take.wav');
    writeFileSync(record, 'an earlier take');
    writeFileSync(join(dir, 'take-3.wav'), 'another');
    const { takes, clock, notes } = recorder({ record, dir: join(dir, 'unused') });
    expect(takes.folder).toBe(dir);
    const names: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      names.push(takes.start());
      takes.write(block(0, 4800));
      takes.stop();
      clock.t += 1000;
    }
    expect(names).toEqual(['take-2.wav', 'take-4.wav', 'take-5.wav'].map((n) => join(dir, n)));
    expect(readFileSync(record, 'utf8')).toBe('an earlier take');
    expect(readFileSync(join(dir, 'take-3.wav'), 'utf8')).toBe('another');
    expect(existsSync(join(dir, 'unused'))).toBe(false);
    expect(notes).toContain(`recording to ${join(dir, 'take-2.wav')}`);
    expect(notes).toContain(`recorded ${join(dir, 'take-2.wav')}: 0.1 s`);
  });

  it('--overwrite: the first take replaces the named file, and only the first: later takes still never replace one', () => {
    const dir = tempDir();
    const record = join(dir, 'take.wav');
    writeFileSync(record, 'an earlier take');
    writeFileSync(join(dir, 'take-2.wav'), 'keep me');
    const { takes, clock } = recorder({ record, overwrite: true });
    expect(takes.start()).toBe(record);
    takes.write(block(0, 4800));
    takes.stop();
    expect(readWav(record).channels[0].length).toBe(4800);
    clock.t += 1000;
    expect(takes.start()).toBe(join(dir, 'take-3.wav'));
    takes.stop();
    expect(readFileSync(join(dir, 'take-2.wav'), 'utf8')).toBe('keep me');
    // a second session may not replace what the first recorded either: only the user's name, only the first take
    clock.t += 1000;
    const before = readFileSync(record);
    expect(takes.start()).toBe(join(dir, 'take-4.wav'));
    takes.stop();
    expect(readFileSync(record).equals(before)).toBe(true);
  });

  it('a file name from the network is impossible by construction: start() takes no argument', () => {
    const folder = join(tempDir(), 'takes');
    const { takes } = recorder({ dir: folder });
    expect(Takes.prototype.start.length).toBe(0);
    // @ts-expect-error start() has no parameter for a name: this line must not type-check
    const file = takes.start('/tmp/evil.wav');
    takes.stop();
    expect(file).toBe(join(folder, 'take-20261201-203000.wav'));
    expect(readdirSync(folder)).toEqual(['take-20261201-203000.wav']);
  });

  it('a second start while recording changes nothing; status() and list() show the take and its length', () => {
    const folder = join(tempDir(), 'takes');
    const { takes, clock } = recorder({ dir: folder });
    expect(takes.status()).toBeNull();
    const file = takes.start()!;
    takes.write(block(0, 24_000));
    clock.t += 2000;
    expect(takes.start()).toBeNull();
    expect(takes.refused).toBe(0);
    expect(takes.status()).toEqual({ file, seconds: 0.5 });
    expect(takes.stop()).toEqual({ file, seconds: 0.5 });
    expect(takes.stop()).toBeNull();
    expect(takes.status()).toBeNull();
    expect(takes.list()).toEqual([{ file, seconds: 0.5, recording: false, error: null }]);
  });

  it('the f32 | s24 | s16 choice reaches the file', () => {
    const folder = join(tempDir(), 'takes');
    const { takes } = recorder({ dir: folder, format: 's16' });
    const file = takes.start()!;
    takes.write(block(0, 1000));
    takes.stop();
    const b = readFileSync(file);
    expect(b.readUInt16LE(20)).toBe(1);
    expect(b.readUInt16LE(34)).toBe(16);
    expect(b.length).toBe(44 + 1000 * 4);
  });

  it('says what is wrong with its options', () => {
    expect(() => new Takes({ sampleRate: RATE, record: 'take.mp3' })).toThrow('--record must name a .wav file, got: take.mp3');
    expect(() => new Takes({ sampleRate: RATE, format: 'mp3' as 'f32' })).toThrow('record format must be one of f32, s24, s16, got: mp3');
    expect(() => new Takes({ sampleRate: 0 })).toThrow('takes: sample rate must be a positive integer, got: 0');
  });

  it('a takes folder deleted mid-take: the take stops with a message within a second, and the next start makes the folder again', () => {
    const folder = join(tempDir(), 'takes');
    const { takes, clock, errors } = recorder({ dir: folder });
    const first = takes.start()!;
    takes.write(block(0, 9600));
    rmSync(folder, { recursive: true });
    clock.t += 1000;
    expect(() => takes.write(block(9600, 9600))).not.toThrow();
    expect(takes.status()).toBeNull();
    expect(errors).toEqual([`recording ${first} stopped: the file is gone (deleted, or its folder removed, during the take); what it held is lost`]);
    expect(takes.list()[0].error).toBe(errors[0]);
    clock.t += 1000;
    const second = takes.start()!;
    takes.write(block(0, 4800));
    takes.stop();
    expect(readWav(second).channels[0].length).toBe(4800);
  });

  it('--record into a folder that went away: the start fails with a message, nothing is made up', () => {
    const dir = join(tempDir(), 'gig');
    mkdirSync(dir);
    const { takes, errors } = recorder({ record: join(dir, 'take.wav') });
    rmSync(dir, { recursive: true });
    expect(takes.start()).toBeNull();
    expect(errors).toEqual([`cannot start a take: cannot create recording ${join(dir, 'take.wav')}: the folder does not exist (ENOENT)`]);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('checkRecordOptions: what the CLI checks before audio starts (exit 2 with the line)', () => {
  it('names the path and the problem in one line', () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(checkRecordOptions({ record: join(dir, 'nope', 'take.wav') })).toBe(`--record ${join(dir, 'nope', 'take.wav')}: the folder ${join(dir, 'nope')} does not exist`);
    expect(checkRecordOptions({ record: join(dir, 'take.mp3') })).toBe(`--record ${join(dir, 'take.mp3')}: expected a file name ending in .wav`);
    mkdirSync(join(dir, 'folder.wav'));
    expect(checkRecordOptions({ record: join(dir, 'folder.wav') })).toBe(`--record ${join(dir, 'folder.wav')} is a folder, expected a .wav file`);
    expect(checkRecordOptions({ takes: file })).toBe(`--takes ${file} exists and is not a folder`);
    expect(checkRecordOptions({ takes: join(file, 'takes') })).toBe(`--takes ${join(file, 'takes')}: cannot create the folder: a part of the path is not a folder (ENOTDIR)`);
  });

  it('creates the takes folder (nested), accepts an existing --record file (it is kept), checks both, and leaves nothing behind', () => {
    const dir = tempDir();
    expect(checkRecordOptions({ takes: join(dir, 'a', 'b', 'takes') })).toBeNull();
    expect(readdirSync(join(dir, 'a', 'b', 'takes'))).toEqual([]);
    writeFileSync(join(dir, 'take.wav'), 'x');
    // live keeps a takes folder beside the session take (--record): both are checked, and both left empty
    expect(checkRecordOptions({ record: join(dir, 'take.wav'), takes: join(dir, 'takes') })).toBeNull();
    expect(checkRecordOptions({ record: join(dir, 'take.wav'), takes: join(dir, 'takes'), overwrite: true })).toBeNull();
    expect(readdirSync(dir).sort()).toEqual(['a', 'take.wav', 'takes']);
    expect(readdirSync(join(dir, 'takes'))).toEqual([]);
  });
});

describe('Takes on a disk that fills up (a real 512 KiB tmpfs)', () => {
  const disk = mountSmallDisk(512);
  const skip = 'reason' in disk ? disk.reason : null;
  afterAll(() => {
    if (!('reason' in disk)) disk.unmount();
  });

  it.skipIf(skip !== null)(`disk full mid-take: that take stops cleanly and plays, the music goes on, a start on the full disk fails cleanly, and one once there is room works${skip ? ` (skipped: ${skip})` : ''}`, () => {
    if ('reason' in disk) return;
    const folder = join(disk.dir, 'takes');
    writeFileSync(join(disk.dir, 'other.bin'), Buffer.alloc(200 * 1024));
    const { takes, clock, errors } = recorder({ dir: folder });
    const first = takes.start()!;
    let frame = 0;
    for (let i = 0; i < 300; i++, frame += 512) expect(() => takes.write(block(frame, 512))).not.toThrow();
    expect(takes.status()).toBeNull();
    const [take] = takes.list();
    expect(errors).toEqual([`recording ${first} stopped: the disk is full (ENOSPC); the file keeps the first ${take.seconds.toFixed(1)} s and plays`]);
    expect(take).toMatchObject({ file: first, recording: false, error: errors[0] });
    expect(take.seconds).toBeGreaterThan(0.2);
    const wav = readWav(first);
    expect(wav.channels[0].length).toBe(Math.round(take.seconds * RATE));
    expect(Array.from(wav.channels[0].subarray(0, 3))).toEqual(Array.from(block(0, 3).filter((_, i) => i % 2 === 0)));

    // still full: the start fails with a message and leaves no empty file behind
    const rest = fillUp(disk.dir, 'rest.bin');
    clock.t += 1000;
    expect(takes.start()).toBeNull();
    expect(errors[1]).toMatch(new RegExp(`^cannot start a take: cannot create recording ${folder}/take-20261201-203001\\.wav: the disk is full \\(ENOSPC\\)$`));
    expect(readdirSync(folder)).toEqual([first.split('/').at(-1)]);

    // room again: the next take records in full
    rmSync(rest);
    rmSync(join(disk.dir, 'other.bin'));
    clock.t += 1000;
    const second = takes.start()!;
    expect(second).toBe(join(folder, 'take-20261201-203002.wav'));
    takes.write(block(0, 24_000));
    expect(takes.stop()).toEqual({ file: second, seconds: 0.5 });
    expect(readWav(second).channels[0].length).toBe(24_000);
    expect(errors).toHaveLength(2);
  });

  it.skipIf(skip !== null)(`checkRecordOptions says so when the disk is full or read-only${skip ? ` (skipped: ${skip})` : ''}`, () => {
    if ('reason' in disk) return;
    const folder = join(disk.dir, 'check');
    mkdirSync(folder);
    const full = fillUp(disk.dir, 'full.bin');
    expect(checkRecordOptions({ takes: folder })).toBe(`--takes ${folder}: cannot write in it: the disk is full (ENOSPC)`);
    expect(checkRecordOptions({ record: join(folder, 'take.wav') })).toBe(`--record ${join(folder, 'take.wav')}: cannot write in ${folder}: the disk is full (ENOSPC)`);
    expect(readdirSync(folder)).toEqual([]);
    rmSync(full);
    disk.readOnly(true);
    try {
      expect(checkRecordOptions({ takes: folder })).toBe(`--takes ${folder}: cannot write in it: the file system is read-only (EROFS)`);
      expect(checkRecordOptions({ takes: join(disk.dir, 'new') })).toBe(`--takes ${join(disk.dir, 'new')}: cannot create the folder: the file system is read-only (EROFS)`);
    } finally {
      disk.readOnly(false);
    }
    expect(checkRecordOptions({ takes: folder })).toBeNull();
  });
});
