/**
 * The band's notes to a MIDI port, tested at the easymidi boundary (no ALSA
 * sequencer here): an Output stand-in records every send() with the time
 * of a virtual clock. A simulated output stage pulls the ring block by
 * block as a device would; a note must go out when its frame's audio is
 * handed to the device plus the device latency: from ring positions, not
 * the wall clock, so it holds under any load. A real port is opened where
 * a sequencer exists.
 */
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { IssueLog } from '../../src/control/issues.js';
import { openMidiOutput, type MidiFactory } from '../../src/control/midi-source.js';
import { listMidiPorts } from '../../src/control/midi-ports.js';
import type { TokenFrame } from '../../src/engine/live-engine.js';
import { densePattern } from '../../src/model/codec/synth/index.js';
import { BandNotes, openBandNotes } from '../../src/notes/band-notes.js';
import { BAND_CHANNELS, GM_DRUM_NOTES } from '../../src/notes/band-channels.js';
import type { Clock } from '../../src/notes/live-notes-out.js';
import { NoteDecoder } from '../../src/notes/note-decoder.js';

const RATE = 48000;
const SPF = 6000; // a 16th at 120 BPM
const BLOCK = 1024;
const LATENCY_MS = 25;

interface Sent {
  at: number;
  type: string;
  msg: { channel: number; note?: number; velocity?: number; controller?: number; value?: number };
}

/** Virtual time: timers fire when the test moves the clock. */
class VirtualClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now = () => this.t;
  setTimer = (fn: () => void, ms: number) => {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimer = (id: unknown) => void (this.timers = this.timers.filter((x) => x.id !== id));
  advanceTo(t: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > t) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = t;
  }
}

function fakePort(fail = false) {
  const sent: Sent[] = [];
  let clock: VirtualClock | null = null;
  const factory: MidiFactory = {
    input: () => {
      throw new Error('no inputs here');
    },
    output: () => ({
      send: (type: string, msg: Sent['msg']) => {
        if (fail) throw new Error('port gone');
        sent.push({ at: clock!.t, type, msg: { ...msg } });
      },
      close: () => undefined,
    }),
    inputs: () => [],
    outputs: () => ['IAC Bus 1'],
  };
  return { sent, factory, setClock: (c: VirtualClock) => (clock = c) };
}

/** A ring and an output stage in miniature: the worker writes frames, the device pulls blocks on time. */
function stage(fail = false) {
  const clock = new VirtualClock();
  const port = fakePort(fail);
  port.setClock(clock);
  const tokens$ = new Subject<TokenFrame>();
  let written = 0;
  let read = 0;
  let playing = true;
  const taps: ((b: Float32Array) => void)[] = [];
  const output = {
    sampleRate: RATE,
    readPosition: () => read,
    tap: (l: (b: Float32Array) => void) => {
      taps.push(l);
      return () => taps.splice(taps.indexOf(l), 1);
    },
  };
  const issues = new IssueLog();
  const openPort = (name: string, iss: IssueLog) => openMidiOutput(name, { factory: port.factory, issues: iss });
  const notes = openBandNotes({ port: 'IAC', overwrite: false }, { tokens$, output, deviceLatencyMs: LATENCY_MS, tempo: 120, issues, clock, openPort });
  const pattern = densePattern(4);
  let index = 0;
  return {
    notes,
    sent: port.sent,
    issues,
    clock,
    /** The worker makes one frame (the ring takes it whole). */
    generate() {
      const t = index++;
      tokens$.next({ frame: pattern.map((row) => row[t % row.length]), position: written, index: t, dice: t, tempo: 120 });
      written += SPF;
    },
    /** The device pulls one block, on time: block k is handed out at k * BLOCK / RATE s. */
    pull(k: number) {
      clock.advanceTo((1000 * k * BLOCK) / RATE);
      if (playing) read = Math.min(written, read + BLOCK);
      else read = written; // stopped: the ring is flushed
      for (const t of taps) t(new Float32Array(BLOCK * 2));
    },
    setPlaying(on: boolean) {
      playing = on;
      notes.setPlaying(on);
    },
    frames: (n: number) => Array.from({ length: n }, (_, t) => pattern.map((row) => row[t % row.length])),
  };
}

describe('--midi-notes-out at the easymidi boundary', () => {
  it('sends every note when its audio is heard: ring position handed out plus the device latency', () => {
    const s = stage();
    const FRAMES = 40;
    let k = 0;
    // the worker keeps the ring about 100 ms ahead, as the engine does
    for (let f = 0; f < FRAMES; f++) {
      s.generate();
      while (k * BLOCK < (f + 1) * SPF - 4800) s.pull(k++);
    }
    while (k * BLOCK < FRAMES * SPF + 2 * BLOCK) s.pull(k++);
    s.clock.advanceTo(s.clock.t + 1000);

    // what the decoder makes of the same frames, each due when frame f's first sample is heard
    const decoder = new NoteDecoder();
    const want = s.frames(FRAMES).flatMap((f, i) => decoder.push(f, i).map((e) => ({ e, due: (1000 * i * SPF) / RATE + LATENCY_MS })));
    const notes = s.sent.filter((x) => x.type === 'noteon' || x.type === 'noteoff');
    expect(notes.length).toBe(want.length);
    notes.forEach((x, i) => {
      const { e, due } = want[i];
      expect([x.type, x.msg.channel, x.msg.note, x.msg.velocity]).toEqual([e.type === 'on' ? 'noteon' : 'noteoff', e.channel - 1, e.note, e.velocity]);
      // sent at the moment its audio reaches the listener (virtual ms; the flush rounds to half a ms)
      expect(Math.abs(x.at - due)).toBeLessThanOrEqual(0.5);
    });
    // drums on channel 10 (9 on the wire) with GM keys; the rest on their own channels
    const drumKeys = new Set(Object.values(GM_DRUM_NOTES));
    const channels = new Set(notes.map((x) => x.msg.channel + 1));
    expect([...channels].sort((a, b) => a - b)).toEqual([BAND_CHANNELS.bass, BAND_CHANNELS.piano, BAND_CHANNELS.guitar, BAND_CHANNELS.drums]);
    for (const x of notes.filter((n) => n.msg.channel === 9)) expect(drumKeys.has(x.msg.note!)).toBe(true);
    // in time order, and on/off alternate on every key
    for (let i = 1; i < notes.length; i++) expect(notes[i].at).toBeGreaterThanOrEqual(notes[i - 1].at);
    const on = new Set<number>();
    for (const x of notes) {
      const key = x.msg.channel * 128 + x.msg.note!;
      expect(on.has(key)).toBe(x.type === 'noteoff');
      if (x.type === 'noteon') on.add(key);
      else on.delete(key);
    }
    s.notes.close();
  });

  it('stop: queued frames are never sent, every sounding note ends, All Notes Off on every band channel; play goes on', () => {
    const s = stage();
    let k = 0;
    for (let f = 0; f < 6; f++) s.generate();
    // 3 frames heard, 3 still in the ring
    while (k * BLOCK < 3 * SPF) s.pull(k++);
    s.clock.advanceTo(s.clock.t + 100);
    const before = s.sent.length;
    const sounding = new Set<number>();
    for (const x of s.sent) {
      const key = x.msg.channel * 128 + (x.msg.note ?? 0);
      if (x.type === 'noteon') sounding.add(key);
      if (x.type === 'noteoff') sounding.delete(key);
    }
    expect(sounding.size).toBeGreaterThan(0);
    s.setPlaying(false);
    const atStop = s.sent.slice(before);
    const offs = atStop.filter((x) => x.type === 'noteoff').map((x) => x.msg.channel * 128 + x.msg.note!);
    expect(new Set(offs)).toEqual(sounding);
    expect(atStop.filter((x) => x.type === 'cc').map((x) => [x.msg.channel, x.msg.controller, x.msg.value])).toEqual([
      [9, 123, 0],
      [0, 123, 0],
      [1, 123, 0],
      [2, 123, 0],
    ]);
    for (let i = 0; i < 20; i++) s.pull(k++);
    s.clock.advanceTo(s.clock.t + 1000);
    expect(s.sent.length).toBe(before + atStop.length);
    // play: the next frames are heard and sent
    s.setPlaying(true);
    s.generate();
    for (let i = 0; i < 8; i++) s.pull(k++);
    s.clock.advanceTo(s.clock.t + 1000);
    expect(s.sent.slice(before + atStop.length).some((x) => x.type === 'noteon')).toBe(true);
    s.notes.close();
  });

  it('a port that fails on every send is counted as an issue; the audio path never sees an error', () => {
    const s = stage(true);
    let k = 0;
    for (let f = 0; f < 4; f++) s.generate();
    expect(() => {
      while (k * BLOCK < 4 * SPF) s.pull(k++);
      s.clock.advanceTo(s.clock.t + 1000);
      s.notes.close();
    }).not.toThrow();
    expect(s.issues.count('midi', 'send-failed')).toBeGreaterThan(10);
  });

  it('a port that will not open is reported, and the notes (here: none) go on without it', () => {
    const issues = new IssueLog();
    const notes = openBandNotes(
      { port: 'nowhere', overwrite: false },
      { tokens$: new Subject<TokenFrame>(), output: { sampleRate: RATE, readPosition: () => 0, tap: () => () => undefined }, deviceLatencyMs: 0, tempo: 120, issues },
    );
    expect(notes).toBeInstanceOf(BandNotes);
    expect(issues.count('midi', 'open-failed')).toBe(1);
    notes.close();
  });

  const ports = listMidiPorts();
  it.skipIf(!ports.available)(`sends notes through a real port (skipped here: ${ports.reason ?? 'MIDI available'})`, () => {
    const issues = new IssueLog();
    const name = ports.outputs[0];
    if (name === undefined) return;
    const out = openMidiOutput(name, { issues });
    out.sendNote(9, 36, 100);
    out.sendNote(9, 36, 0);
    out.close();
    expect(issues.total()).toBe(0);
  });
});
