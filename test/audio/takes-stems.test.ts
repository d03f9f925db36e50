/**
 * Takes with --outputs stems: each take writes the mix to NAME.wav and each
 * stem to NAME.<stem>.wav beside it, every file the same length and holding
 * exactly its own pair of what played; a name is used only when the whole
 * set is free, so no file of an earlier take is ever overwritten.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STEM_NAMES } from '../../src/audio/outputs.js';
import { stemPath, Takes } from '../../src/audio/takes.js';
import { decodeWav } from '../../src/audio/wav.js';
import { tempDir } from '../helpers/cli.js';

const RATE = 48_000;
const PAIRS = 1 + STEM_NAMES.length;
const CH = 2 * PAIRS;

/** Frames of CH channels where channel c of frame i holds a value naming (i, c): a file holding the wrong pair, or frames out of order, shows. */
function block(from: number, frames: number): Float32Array {
  const out = new Float32Array(frames * CH);
  for (let i = 0; i < frames; i++) for (let c = 0; c < CH; c++) out[i * CH + c] = value(from + i, c);
  return out;
}
const value = (frame: number, channel: number) => Math.fround(((frame % 997) * 16 + channel) / 20000 - 0.4);

function stemsRecorder(opts: { dir?: string; record?: string; format?: 'f32' | 's24' } = {}) {
  let t = Date.UTC(2026, 11, 1, 20, 30);
  const errors: string[] = [];
  const takes = new Takes({ sampleRate: RATE, stems: STEM_NAMES, now: () => (t += 2000), onError: (e) => errors.push(e.message), ...opts });
  return { takes, errors };
}

function read(path: string) {
  return decodeWav(new Uint8Array(readFileSync(path)));
}

describe('takes with stems', () => {
  it('the mix and every stem in files of their own, beside the mix, the same length, each holding its own pair', () => {
    const dir = tempDir('takes-stems-');
    const { takes, errors } = stemsRecorder({ record: join(dir, 'take.wav') });
    expect(takes.start()).toBe(join(dir, 'take.wav'));
    // odd block sizes, across the tee's 100 ms flush chunks
    let at = 0;
    for (const n of [512, 333, 4800, 7, 9000, 512]) {
      takes.write(block(at, n));
      at += n;
    }
    takes.stop();
    expect(errors).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['take.bass.wav', 'take.drums.wav', 'take.guitar.wav', 'take.piano.wav', 'take.wav']);
    expect(takes.list()[0].stems).toEqual(STEM_NAMES.map((s) => join(dir, `take.${s}.wav`)));
    const files = [join(dir, 'take.wav'), ...STEM_NAMES.map((s) => join(dir, `take.${s}.wav`))];
    for (let p = 0; p < PAIRS; p++) {
      const wav = read(files[p]);
      expect(wav.channels.length).toBe(2);
      expect(wav.channels[0].length, files[p]).toBe(at);
      for (let i = 0; i < at; i += 101) {
        expect(wav.channels[0][i]).toBe(value(i, 2 * p));
        expect(wav.channels[1][i]).toBe(value(i, 2 * p + 1));
      }
      expect(wav.channels[1][at - 1]).toBe(value(at - 1, 2 * p + 1));
    }
  });

  it('later takes and kept names: take-2.wav and take-2.drums.wav ...; a stem file already there moves the whole set on and is kept', () => {
    const dir = tempDir('takes-stems-');
    const record = join(dir, 'take.wav');
    // someone's take-2.piano.wav from another session: take-2 is not free
    writeFileSync(join(dir, 'take-2.piano.wav'), 'keep me');
    const { takes, errors } = stemsRecorder({ record });
    takes.start();
    takes.write(block(0, 4800));
    takes.stop();
    expect(takes.start()).toBe(join(dir, 'take-3.wav'));
    takes.write(block(0, 2400));
    takes.stop();
    expect(errors).toEqual([]);
    expect(readFileSync(join(dir, 'take-2.piano.wav'), 'utf8')).toBe('keep me');
    // the refused set left nothing of its own behind
    expect(existsSync(join(dir, 'take-2.wav'))).toBe(false);
    expect(existsSync(join(dir, 'take-2.drums.wav'))).toBe(false);
    for (const s of STEM_NAMES) expect(read(stemPath(join(dir, 'take-3.wav'), s)).channels[0].length).toBe(2400);
    expect(stemPath(join(dir, 'take-3.wav'), 'drums')).toBe(join(dir, 'take-3.drums.wav'));
  });

  it('timestamped takes in the takes folder get their stems too (s24)', () => {
    const dir = tempDir('takes-stems-');
    const { takes, errors } = stemsRecorder({ dir, format: 's24' });
    const file = takes.start()!;
    takes.write(block(0, 1000));
    takes.stop();
    expect(errors).toEqual([]);
    expect(readdirSync(dir).length).toBe(PAIRS);
    for (const s of STEM_NAMES) expect(read(stemPath(file, s)).channels[1].length).toBe(1000);
  });

  it('refuses a channel count that does not fit the stems', () => {
    expect(() => new Takes({ sampleRate: RATE, stems: STEM_NAMES, channels: 2 })).toThrow(/4 stems need 10 channels/);
  });
});
