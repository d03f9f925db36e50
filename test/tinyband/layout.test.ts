import { describe, expect, it } from 'vitest';
import {
  BASS_LOW,
  BASS_PITCHES,
  CHORD_INSTRUMENTS,
  CHORD_QUALITIES,
  CODEBOOK_SIZES,
  DRUM_VOICES,
  decodeBass,
  decodeDrums,
  decodeFrame,
  decodeHarmony,
  decodeMelody,
  encodeBass,
  encodeDrums,
  encodeFrame,
  encodeHarmony,
  encodeMelody,
  HOLD,
  MELODY_LOW,
  MELODY_PITCHES,
  NUM_CODEBOOKS,
  PAD_ID,
  REST,
  removeInstrument,
  soundingInstruments,
  VOCAB_SIZE,
  type FrameTokens,
} from '../../src/model/tinyband/layout.js';

const encoders = [
  (t: number) => encodeDrums(decodeDrums(t)),
  (t: number) => encodeBass(decodeBass(t)),
  (t: number) => encodeHarmony(decodeHarmony(t)),
  (t: number) => encodeMelody(decodeMelody(t)),
];

describe('token layout', () => {
  it('round-trips every id of every codebook', () => {
    for (let k = 0; k < NUM_CODEBOOKS; k++) {
      for (let t = 0; t < CODEBOOK_SIZES[k]; t++) expect(encoders[k](t)).toBe(t);
    }
  });

  it('gives distinct ids to distinct events, filling each codebook exactly', () => {
    const drums = new Set<number>();
    for (let mask = 0; mask < 1 << DRUM_VOICES.length; mask++) {
      drums.add(encodeDrums(new Set(DRUM_VOICES.filter((_, b) => mask & (1 << b)))));
    }
    expect(drums.size).toBe(CODEBOOK_SIZES[0]);

    const bass = new Set([encodeBass({ kind: 'rest' }), encodeBass({ kind: 'hold' })]);
    for (let p = BASS_LOW; p < BASS_LOW + BASS_PITCHES; p++) bass.add(encodeBass({ kind: 'note', pitch: p }));
    expect(bass.size).toBe(CODEBOOK_SIZES[1]);
    expect(Math.max(...bass)).toBe(CODEBOOK_SIZES[1] - 1);

    const harmony = new Set([REST, HOLD]);
    for (const instrument of CHORD_INSTRUMENTS)
      for (let root = 0; root < 12; root++)
        for (const quality of CHORD_QUALITIES) {
          const id = encodeHarmony({ kind: 'strike', instrument, root, quality });
          expect(decodeHarmony(id)).toEqual({ kind: 'strike', instrument, root, quality });
          harmony.add(id);
        }
    expect(harmony.size).toBe(CODEBOOK_SIZES[2]);

    const melody = new Set([REST, HOLD]);
    for (const instrument of CHORD_INSTRUMENTS)
      for (let pitch = MELODY_LOW; pitch < MELODY_LOW + MELODY_PITCHES; pitch++) {
        const id = encodeMelody({ kind: 'note', instrument, pitch });
        expect(decodeMelody(id)).toEqual({ kind: 'note', instrument, pitch });
        melody.add(id);
      }
    expect(melody.size).toBe(CODEBOOK_SIZES[3]);
  });

  it('has one shared vocabulary with the pad id just past it, as MusicGen', () => {
    expect(VOCAB_SIZE).toBe(Math.max(...CODEBOOK_SIZES));
    expect(PAD_ID).toBe(VOCAB_SIZE);
  });

  it('decodes pad and out-of-range ids as silence', () => {
    for (const t of [PAD_ID, VOCAB_SIZE + 7, -1, 1.5]) {
      expect(decodeDrums(t).size).toBe(0);
      expect(decodeBass(t)).toEqual({ kind: 'rest' });
      expect(decodeHarmony(t)).toEqual({ kind: 'rest' });
      expect(decodeMelody(t)).toEqual({ kind: 'rest' });
    }
    expect(decodeBass(CODEBOOK_SIZES[1])).toEqual({ kind: 'rest' });
    expect(decodeMelody(CODEBOOK_SIZES[3])).toEqual({ kind: 'rest' });
  });

  it('round-trips whole frames', () => {
    const frame: FrameTokens = [5, encodeBass({ kind: 'note', pitch: 40 }), HOLD, encodeMelody({ kind: 'note', instrument: 'guitar', pitch: 70 })];
    expect(encodeFrame(decodeFrame(frame))).toEqual(frame);
  });

  it('rejects events outside the layout with the value and the range', () => {
    expect(() => encodeBass({ kind: 'note', pitch: 20 })).toThrow(/bass pitch must be an integer in \[28, 59\], got: 20/);
    expect(() => encodeMelody({ kind: 'note', instrument: 'piano', pitch: 90 })).toThrow(/melody pitch/);
    expect(() => encodeHarmony({ kind: 'strike', instrument: 'piano', root: 12, quality: 'maj' })).toThrow(/chord root/);
    expect(() => encodeDrums(new Set(['cowbell' as never]))).toThrow(/drum voice must be one of kick/);
  });
});

describe('which instruments sound', () => {
  const gtr = (p: number) => encodeMelody({ kind: 'note', instrument: 'guitar', pitch: p });
  const pianoC = encodeHarmony({ kind: 'strike', instrument: 'piano', root: 0, quality: 'maj' });
  const guitarC = encodeHarmony({ kind: 'strike', instrument: 'guitar', root: 0, quality: 'maj' });
  const tokens = [
    [1, 0, 0, 3, 0, 0],
    [encodeBass({ kind: 'note', pitch: 36 }), HOLD, REST, HOLD, encodeBass({ kind: 'note', pitch: 40 }), HOLD],
    [pianoC, HOLD, HOLD, guitarC, HOLD, REST],
    [REST, gtr(60), HOLD, REST, HOLD, gtr(62)],
  ];

  it('follows note-ons through their holds, per stream owner', () => {
    const [drums, bass, piano, guitar] = soundingInstruments(tokens);
    expect(Array.from(drums)).toEqual([1, 0, 0, 1, 0, 0]);
    expect(Array.from(bass)).toEqual([1, 1, 0, 0, 1, 1]);
    expect(Array.from(piano)).toEqual([1, 1, 1, 0, 0, 0]);
    expect(Array.from(guitar)).toEqual([0, 1, 1, 1, 1, 1]);
  });

  it('removes one instrument and nothing else', () => {
    const noGuitar = removeInstrument(tokens, 'guitar');
    expect(Array.from(noGuitar[2])).toEqual([pianoC, HOLD, HOLD, REST, REST, REST]);
    // a hold after a rest continues nothing, so it may stay as it was
    expect(Array.from(noGuitar[3])).toEqual([REST, REST, REST, REST, HOLD, REST]);
    expect(Array.from(noGuitar[0])).toEqual(tokens[0]);
    const s = soundingInstruments(noGuitar);
    expect(Array.from(s[3])).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(s[2])).toEqual([1, 1, 1, 0, 0, 0]);
    expect(Array.from(removeInstrument(tokens, 'drums')[0])).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(removeInstrument(tokens, 'bass')[1])).toEqual([0, 0, 0, 0, 0, 0]);
    expect(tokens[3][1]).toBe(gtr(60)); // input untouched
  });
});
