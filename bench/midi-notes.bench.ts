/**
 * The band's notes as MIDI: what decoding costs per frame, what writing a
 * long take's file costs (done once, when the session stops), and how late
 * the live port's sends come against their due time on Node's real timers
 * (a pull every 512 frames at 48 kHz, as the device does).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/midi-notes.bench.js [minutes]
 */
import { FRAMES_PER_BAR, samplesPerFrame } from '../src/constants.js';
import { densePattern } from '../src/model/codec/synth/demo-pattern.js';
import { LiveNotesOut } from '../src/notes/live-notes-out.js';
import { NoteDecoder } from '../src/notes/note-decoder.js';
import { NotesFile } from '../src/notes/notes-file.js';
import { percentile } from '../src/util/percentile.js';

const RATE = 48000;
const TEMPO = 120;
const minutes = Number(process.argv[2] ?? 60);
const frames = Math.round(minutes * 60 * (TEMPO / 60) * 4);
const tokens = densePattern(64);
const loop = 64 * FRAMES_PER_BAR;
const spf = samplesPerFrame(TEMPO, RATE);

const decoder = new NoteDecoder();
const file = new NotesFile(RATE, TEMPO);
const t0 = performance.now();
for (let i = 0; i < frames; i++) {
  const t = i % loop;
  file.frame(Math.round(i * spf), TEMPO, decoder.push([tokens[0][t], tokens[1][t], tokens[2][t], tokens[3][t]], i));
}
const t1 = performance.now();
const bytes = file.bytes(Math.round(frames * spf));
const t2 = performance.now();
console.log(`decode + file, per frame: ${((1000 * (t1 - t0)) / frames).toFixed(1)} us (${minutes} min of the dense pattern, ${file.count} notes)`);
console.log(`encode the file: ${(t2 - t1).toFixed(0)} ms, ${(bytes.length / 1024).toFixed(0)} KiB`);

const PULLS = 1000;
const BLOCK = 512;
const LATENCY_MS = 10;
const late: number[] = [];
const due = new Map<number, number>();
const out = new LiveNotesOut(
  { sendNote: (_c, note, v) => void (v > 0 && late.push(performance.now() - due.get(note)!)), sendCc: () => undefined, close: () => undefined },
  { sampleRate: RATE, latencyMs: LATENCY_MS },
);
let k = 0;
const timer = setInterval(() => {
  k++;
  const note = k % 128;
  const offset = (k * 37) % BLOCK;
  due.set(note, performance.now() + LATENCY_MS + (1000 * offset) / RATE);
  out.heard(
    [
      { type: 'on', instrument: 'bass', channel: 1, note, velocity: 100, frame: k },
      { type: 'off', instrument: 'bass', channel: 1, note, velocity: 0, frame: k },
    ],
    offset,
  );
  if (k < PULLS) return;
  clearInterval(timer);
  setTimeout(() => {
    out.close();
    console.log(`live send lateness against due (${late.length} notes): p50 ${percentile(late, 50).toFixed(2)} ms, p99 ${percentile(late, 99).toFixed(2)} ms, max ${Math.max(...late).toFixed(2)} ms`);
  }, 100);
}, (1000 * BLOCK) / RATE);
