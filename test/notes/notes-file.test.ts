/**
 * The MIDI file read back with an independent reader (@tonejs/midi) and
 * compared with the tokens: every note, its channel, key, velocity, start
 * and length in ticks; the tempo map; one named track per instrument.
 */
import { Midi } from '@tonejs/midi';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { densePattern } from '../../src/model/codec/synth/index.js';
import { samplesPerFrame } from '../../src/constants.js';
import { MidiTake } from '../../src/notes/midi-take.js';
import { NoteDecoder, type NoteEvent } from '../../src/notes/note-decoder.js';
import { NotesFile, PPQ, TICKS_PER_FRAME } from '../../src/notes/notes-file.js';
import { tempDir } from '../helpers/cli.js';

const RATE = 48000;

/** The notes the tokens hold, as [channel, key, start tick, length in ticks, velocity], frame n on tick n * 120. */
function expectedNotes(events: readonly NoteEvent[]): number[][] {
  const open = new Map<number, NoteEvent>();
  const out: number[][] = [];
  for (const e of events) {
    const key = e.channel * 128 + e.note;
    if (e.type === 'on') open.set(key, e);
    else {
      const on = open.get(key)!;
      open.delete(key);
      out.push([e.channel, e.note, on.frame * TICKS_PER_FRAME, (e.frame - on.frame) * TICKS_PER_FRAME, on.velocity]);
    }
  }
  return out.sort(byStart);
}

function byStart(a: number[], b: number[]): number {
  return a[2] - b[2] || a[0] - b[0] || a[1] - b[1];
}

function notesRead(midi: Midi): number[][] {
  return midi.tracks.flatMap((t) => t.notes.map((n) => [t.channel + 1, n.midi, n.ticks, n.durationTicks, Math.round(n.velocity * 127)])).sort(byStart);
}

describe('the MIDI file of a take', () => {
  it('holds every note of the tokens, on its channel, at its tick and length, with the tempo map', () => {
    const tokens = densePattern(40); // long enough that every track is encoded in several slices
    const frames = tokens[0].length;
    const decoder = new NoteDecoder();
    const file = new NotesFile(RATE, 120);
    const all: NoteEvent[] = [];
    // two bars at 120, then 90 BPM; each frame heard where the synth's frame clock puts it
    let sample = 0;
    for (let t = 0; t < frames; t++) {
      const tempo = t < 32 ? 120 : 90;
      const events = decoder.push([tokens[0][t], tokens[1][t], tokens[2][t], tokens[3][t]], t);
      all.push(...events);
      file.frame(Math.round(sample), tempo, events);
      sample += samplesPerFrame(tempo, RATE);
    }
    all.push(...decoder.release(frames));
    const midi = new Midi(file.bytes(Math.round(sample)));

    expect(midi.header.ppq).toBe(PPQ);
    expect(midi.header.tempos.map((t) => [t.ticks, Math.round(t.bpm * 1000) / 1000])).toEqual([
      [0, 120],
      [32 * TICKS_PER_FRAME, 90],
    ]);
    expect(midi.header.timeSignatures[0].timeSignature).toEqual([4, 4]);
    expect(midi.tracks.map((t) => [t.name, t.channel + 1])).toEqual([
      ['drums', 10],
      ['bass', 1],
      ['piano', 2],
      ['guitar', 3],
    ]);
    const want = expectedNotes(all);
    expect(want.length).toBeGreaterThan(2000);
    expect(notesRead(midi)).toEqual(want);
    // the file ends where the take does
    expect(midi.durationTicks).toBe(frames * TICKS_PER_FRAME);
  });

  it('a pause in the take is a pause in the file: notes end at the stop, and resume where they are heard', () => {
    const decoder = new NoteDecoder();
    const file = new NotesFile(RATE, 120);
    const spf = samplesPerFrame(120, RATE);
    const long = [0, 2 + 40 - 28, 0, 0]; // a bass E2 note...
    const held = [0, 1, 0, 0]; // ...held
    file.frame(0, 120, decoder.push(long, 0));
    file.frame(spf, 120, decoder.push(held, 1));
    file.releaseAt(2 * spf); // stop
    // the hold heard after the pause has no note to continue; the next note starts where it is heard
    file.frame(10 * spf, 120, decoder.push(held, 2));
    file.frame(11 * spf, 120, decoder.push(long, 3));
    const midi = new Midi(file.bytes(12 * spf));
    expect(notesRead(midi).map((n) => n.slice(0, 4))).toEqual([
      [1, 40, 0, 2 * TICKS_PER_FRAME],
      [1, 40, 11 * TICKS_PER_FRAME, TICKS_PER_FRAME],
    ]);
  });

  it('never replaces a file: the take goes beside it as NAME-2.mid', () => {
    const dir = tempDir('smitin-midi-');
    const path = join(dir, 'take.mid');
    writeFileSync(path, 'keep me');
    const take = MidiTake.claim(path, false);
    expect(take.path).toBe(join(dir, 'take-2.mid'));
    take.write(new NotesFile(RATE, 120).bytes(0));
    expect(readFileSync(path, 'utf8')).toBe('keep me');
    expect(new Midi(readFileSync(take.path)).tracks).toHaveLength(4);
    expect(MidiTake.claim(path, false).path).toBe(join(dir, 'take-3.mid'));
    expect(existsSync(join(dir, 'take-3.mid'))).toBe(true);
  });
});
