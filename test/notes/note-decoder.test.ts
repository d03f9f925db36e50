/**
 * The note decoder against frames whose notes are known (built with the
 * layout's own encoders), and against the dense demo pattern: drums on
 * channel 10 with GM keys, notes lasting through their holds, chords voiced
 * as the synth voices them, velocities following the synth's accents, and
 * on/off alternating on every key.
 */
import { describe, expect, it } from 'vitest';
import { densePattern } from '../../src/model/codec/synth/index.js';
import { encodeFrame, HOLD, REST, type FrameEvents } from '../../src/model/tinyband/layout.js';
import { NoteDecoder, type NoteEvent } from '../../src/notes/note-decoder.js';

const silent: FrameEvents = { drums: new Set(), bass: { kind: 'rest' }, harmony: { kind: 'rest' }, melody: { kind: 'rest' } };
const hold: FrameEvents = { drums: new Set(), bass: { kind: 'hold' }, harmony: { kind: 'hold' }, melody: { kind: 'hold' } };

function decodeAll(frames: readonly (readonly number[])[]): NoteEvent[] {
  const d = new NoteDecoder();
  return [...frames.flatMap((f, i) => d.push(f, i)), ...d.release(frames.length)];
}

/** Notes as [channel, key, start frame, end frame, velocity], paired from the events (and checked to pair). */
function notesOf(events: readonly NoteEvent[]): [number, number, number, number, number][] {
  const open = new Map<number, NoteEvent>();
  const out: [number, number, number, number, number][] = [];
  for (const e of events) {
    const key = e.channel * 128 + e.note;
    if (e.type === 'on') {
      expect(open.has(key), `a second on for channel ${e.channel} key ${e.note} at frame ${e.frame}`).toBe(false);
      open.set(key, e);
    } else {
      const on = open.get(key);
      expect(on, `an off without an on: channel ${e.channel} key ${e.note} at frame ${e.frame}`).toBeDefined();
      open.delete(key);
      out.push([e.channel, e.note, on!.frame, e.frame, on!.velocity]);
    }
  }
  expect(open.size).toBe(0);
  return out.sort((a, b) => a[2] - b[2] || a[0] - b[0] || a[1] - b[1]);
}

describe('NoteDecoder', () => {
  it('turns known frames into the notes they play, on the band channels', () => {
    const frames = [
      encodeFrame({ drums: new Set(['kick', 'closedHat']), bass: { kind: 'note', pitch: 40 }, harmony: { kind: 'strike', instrument: 'piano', root: 0, quality: 'maj' }, melody: { kind: 'note', instrument: 'guitar', pitch: 67 } }),
      encodeFrame(hold),
      encodeFrame({ ...hold, drums: new Set(['snare', 'crash']), bass: { kind: 'rest' } }),
      // the melody moves to piano and strikes C4, which the held piano chord sounds: struck again, one note at a time
      encodeFrame({ ...hold, drums: new Set(['clap', 'openHat', 'ride']), melody: { kind: 'note', instrument: 'piano', pitch: 60 } }),
      encodeFrame({ ...hold, harmony: { kind: 'rest' } }),
      encodeFrame({ ...silent, harmony: { kind: 'strike', instrument: 'guitar', root: 4, quality: 'maj' } }),
      encodeFrame(silent),
    ];
    const notes = notesOf(decodeAll(frames)).map(([ch, key, from, to]) => [ch, key, from, to]);
    expect(notes).toEqual([
      // piano C major in close position F3..E4 (G3 C4 E4); guitar G4 melody; bass E2 held a frame; kick and closed hat one 16th each
      [1, 40, 0, 2],
      [2, 55, 0, 4],
      [2, 60, 0, 3],
      [2, 64, 0, 4],
      [3, 67, 0, 3],
      [10, 36, 0, 1],
      [10, 42, 0, 1],
      [10, 38, 2, 3],
      [10, 49, 2, 3],
      [2, 60, 3, 5],
      [10, 39, 3, 4],
      [10, 46, 3, 4],
      [10, 51, 3, 4],
      // guitar E major: E2 low, then B2 E3 G#3 a fourth and more above it
      [3, 40, 5, 6],
      [3, 47, 5, 6],
      [3, 52, 5, 6],
      [3, 56, 5, 6],
    ]);
  });

  it('offs come before ons within a frame, and every velocity is a note-on velocity', () => {
    const events = decodeAll([...Array.from({ length: 4 }, () => encodeFrame({ ...silent, drums: new Set(['kick']), bass: { kind: 'note', pitch: 33 } }))]);
    for (let f = 0; f < 4; f++) {
      const at = events.filter((e) => e.frame === f).map((e) => e.type);
      expect(at).toEqual(f === 0 ? ['on', 'on'] : ['off', 'off', 'on', 'on']);
    }
    for (const e of events) expect(e.type === 'on' ? e.velocity >= 1 && e.velocity <= 127 : e.velocity === 0).toBe(true);
  });

  it("velocities follow the synth's bar accent: a downbeat kick is louder than the same kick on a 16th off the beat, on average", () => {
    const bars = 32;
    const kick = encodeFrame({ ...silent, drums: new Set(['kick', 'closedHat']) });
    const events = decodeAll(Array.from({ length: bars * 16 }, () => kick)).filter((e) => e.type === 'on');
    const mean = (pos: number, note: number) => {
      const v = events.filter((e) => e.frame % 16 === pos && e.note === note).map((e) => e.velocity);
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    expect(mean(0, 36)).toBeGreaterThan(mean(1, 36) + 5);
    // hats follow the accent most
    expect(mean(0, 42) - mean(1, 42)).toBeGreaterThan(mean(0, 36) - mean(1, 36));
    // the humanizing dice vary the same hit
    expect(new Set(events.filter((e) => e.frame % 16 === 0 && e.note === 36).map((e) => e.velocity)).size).toBeGreaterThan(3);
  });

  it('on the dense pattern: every drum bit and every note token starts a note, and each note lasts through its holds', () => {
    const tokens = densePattern(8);
    const frames = Array.from({ length: tokens[0].length }, (_, t) => [tokens[0][t], tokens[1][t], tokens[2][t], tokens[3][t]]);
    const notes = notesOf(decodeAll(frames));
    const drumHits = frames.reduce((n, f) => n + [...f[0].toString(2)].filter((b) => b === '1').length, 0);
    expect(notes.filter((n) => n[0] === 10)).toHaveLength(drumHits);
    const bassStarts = frames.map((f, t) => [f[1], t]).filter(([tok]) => tok !== HOLD && tok !== REST);
    const bass = notes.filter((n) => n[0] === 1);
    expect(bass.map((n) => n[2])).toEqual(bassStarts.map(([, t]) => t));
    for (const [, , from, to] of bass) {
      let end = from + 1;
      while (end < frames.length && frames[end][1] === HOLD) end++;
      expect(to).toBe(end);
    }
    expect(notes.some((n) => n[0] === 2) && notes.some((n) => n[0] === 3)).toBe(true);
  });
});
