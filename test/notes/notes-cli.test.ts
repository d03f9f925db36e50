/**
 * `smitin live --record-midi` as a user runs it, on the real-time null sink:
 * the MIDI file of the session is readable, holds the band on its channels
 * with the tempo, lines up with the --record WAV of the same session, and an
 * existing file is kept. What cannot work is refused with exit 2 before any
 * audio: an EnCodec model (no notes), a name that is not .mid.
 */
import { Midi } from '@tonejs/midi';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { GM_DRUM_NOTES } from '../../src/notes/band-channels.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { runLive, summaryOf } from '../helpers/live.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

const ready = MODEL_DIR === SHIPPED_MODEL;
const ENCODEC_FIXTURE = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));

describe.skipIf(!ready)('smitin live --record-midi', () => {
  it('writes a readable MIDI file of the session beside the WAV take, keeping an existing file', async () => {
    const dir = tempDir('smitin-midi-cli-');
    writeFileSync(join(dir, 'set.mid'), 'an earlier take');
    const live = runLive(['0', '--duration', '3', '--record-midi', join(dir, 'set.mid'), '--record', join(dir, 'set.wav'), '--midi-notes-out', 'no such port', '--json', '--prompt', 'funk']);
    expect(await live.exited).toBe(0);
    const err = live.err();
    // no sequencer here: the port is reported, the music and the file go on
    expect(err).toContain('--midi-notes-out');
    expect(err).toMatch(/MIDI notes: wrote .*set-2\.mid \(\d+ notes\)/);
    expect(readFileSync(join(dir, 'set.mid'), 'utf8')).toBe('an earlier take');

    const midi = new Midi(readFileSync(join(dir, 'set-2.mid')));
    expect(midi.header.tempos[0].bpm).toBeCloseTo(120, 3);
    expect(midi.tracks.map((t) => [t.name, t.channel + 1])).toEqual([
      ['drums', 10],
      ['bass', 1],
      ['piano', 2],
      ['guitar', 3],
    ]);
    const notes = midi.tracks.flatMap((t) => t.notes);
    expect(notes.length).toBeGreaterThan(20);
    const drumKeys = new Set(Object.values(GM_DRUM_NOTES));
    for (const n of midi.tracks[0].notes) expect(drumKeys.has(n.midi)).toBe(true);
    // without an underrun the music played without a gap: every note starts on a 16th after the first
    // (an underrun, possible on a loaded machine, puts silence into the take and the file alike)
    if (summaryOf(live.out()).underruns === 0) {
      const first = Math.min(...notes.map((n) => n.ticks));
      for (const n of notes) expect((n.ticks - first) % 120).toBe(0);
    }
    // the file and the WAV cover the same span (within a 16th at the end)
    const wav = decodeWav(readFileSync(join(dir, 'set.wav')));
    const seconds = wav.channels[0].length / wav.sampleRate;
    const end = Math.max(...notes.map((n) => n.time + n.duration));
    expect(end).toBeLessThanOrEqual(seconds + 0.001);
    expect(end).toBeGreaterThan(seconds - 0.13);
  }, 60_000);

  it('refuses an EnCodec model (its tokens are not notes) and a name that is not .mid, with exit 2 before audio', () => {
    const dir = tempDir('smitin-midi-cli-');
    const encodec = smitin(['live', '--model', ENCODEC_FIXTURE, '--probes', 'none', '--osc-port', '0', '--no-web', '--record-midi', join(dir, 'x.mid')]);
    expect(encodec.status).toBe(2);
    expect(encodec.stderr).toContain('EnCodec model');
    expect(encodec.stderr).toContain('--record-midi');
    const name = smitin(['live', '--osc-port', '0', '--no-web', '--record-midi', join(dir, 'x.txt')]);
    expect(name.status).toBe(2);
    expect(name.stderr).toContain('expected a file name ending in .mid');
    const folder = smitin(['live', '--osc-port', '0', '--no-web', '--record-midi', join(dir, 'nope', 'x.mid')]);
    expect(folder.status).toBe(2);
    expect(folder.stderr).toContain('does not exist');
  }, 60_000);
});
