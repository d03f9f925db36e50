/**
 * Knob -> audible, in beats: how long after a control reaches the engine a
 * performer hears the instrument come in (+1 on an absent instrument) or go
 * (-1 on a present one), at `smitin live`'s defaults (the model's steering,
 * ring target, tempo 120), on tinyband, where the tokens say exactly what
 * plays and when.
 *
 * - What "in" and "out" mean and where a move's time starts:
 *   src/session/time-to-effect.ts. The move arrives at a random moment of
 *   the bar; the device's own buffer comes on top and is added to the
 *   milliseconds (the null sink's, 512 frames).
 * - Moves alternate: -1 until the instrument is out, then +1 (in), then -1
 *   (out), ...; the knob goes from one end to the other, as a performer
 *   slams it. The control: the same from each end to 0 (released), which
 *   shows how often the music would have done it by itself.
 *
 * The output is pulled faster than real time, one device buffer at a time,
 * waiting after each until the worker has refilled the ring to its target:
 * the ring holds what it holds in real time, so the figures are those of a
 * session, in a fraction of the time.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/time-to-effect.bench.js [moves per instrument and direction, default 100] [control moves, default 25] [quantize: off|beat|bar|4bars|8bars, default live's]
 */
import { DEFAULT_BUFFER_FRAMES } from '../src/audio/output.js';
import { progressBar } from '../src/cli/progress.js';
import { BEATS_PER_BAR, FRAMES_PER_BAR } from '../src/constants.js';
import { LiveEngine } from '../src/engine/live-engine.js';
import { INSTRUMENTS, type Instrument } from '../src/model/tinyband/layout.js';
import { engineOptions } from '../src/session/live-session.js';
import { barHas, EFFECT_WINDOW_BARS, effectOf } from '../src/session/time-to-effect.js';
import { knobItems } from '../src/smitin/eval/knobs.js';
import { QUANTIZE_MODES, type Quantize } from '../src/protocol.js';
import { percentile } from '../src/util/percentile.js';
import { Rng } from '../src/util/rng.js';
import { benchConfig } from './live-session.js';

const MOVES = Number(process.argv[2] ?? 100);
const CONTROL_MOVES = Number(process.argv[3] ?? 25);
const QUANTIZE = process.argv[4] as Quantize | undefined;
if (QUANTIZE !== undefined && !(QUANTIZE_MODES as readonly string[]).includes(QUANTIZE)) throw new Error(`quantize must be one of ${QUANTIZE_MODES.join(', ')}, got: ${QUANTIZE}`);
const TEMPO = 120;
const RATE = 48000;
const BUFFER = DEFAULT_BUFFER_FRAMES;
const SAMPLES_PER_BEAT = (RATE * 60) / TEMPO;
/** Bars a move may wait for the instrument to be in the state it changes (in for a removal, out for an addition). */
const SETTLE_BARS = 8;

const config = benchConfig({ tempo: TEMPO, ...(QUANTIZE ? { quantize: QUANTIZE } : {}) });
const engine = await LiveEngine.start({ ...engineOptions(config, { sampleRate: RATE, latencyMs: (1000 * BUFFER) / RATE }), reportTokens: true });
const frames: { frame: number[]; position: number }[] = [];
engine.tokens$.subscribe((f) => frames.push(f));
const targetMs = config.latencyMs;
let heard = 0; // samples handed to the device so far
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Plays `samples` of audio, one device buffer at a time, the ring refilled to its target after each (as in real time). */
async function play(samples: number): Promise<void> {
  for (let done = 0; done < samples; done += BUFFER) {
    while (engine.output.ringMs() < targetMs) await sleep(0);
    engine.pull(BUFFER);
    heard += BUFFER;
  }
}

/** The frame heard at sample `at` (the last whose audio starts at or before it). */
function frameAt(at: number): number {
  let i = frames.length - 1;
  while (i > 0 && frames[i].position > at) i--;
  return i;
}

/** Whether the last whole bar heard has the instrument in (`wantIn`) or out. */
function lastBarIs(inst: number, wantIn: boolean): boolean {
  const bar = Math.floor(frameAt(heard) / FRAMES_PER_BAR) - 1;
  return bar >= 0 && barHas(frames, inst, bar) === wantIn;
}

interface Row {
  inst: Instrument;
  wantIn: boolean;
  /** Where the knob goes: +1/-1 (the move) or 0 (the control). */
  to: number;
  beats: (number | null)[];
  skipped: number;
}

const rng = new Rng(2026);
const prompts = knobItems(20, 3).map((p) => p.text);
const rows: Row[] = [];
const total = INSTRUMENTS.length * 2 * (MOVES + CONTROL_MOVES);
const bar = progressBar('  {bar} {value}/{total} moves | {row}', 20);
bar.start(total, 0, { row: '' });
const barSamples = BEATS_PER_BAR * SAMPLES_PER_BEAT;
await play(barSamples);

for (const [i, inst] of INSTRUMENTS.entries()) {
  for (const control of [false, true]) {
    const n = control ? CONTROL_MOVES : MOVES;
    const rowIn: Row = { inst, wantIn: true, to: control ? 0 : 1, beats: [], skipped: 0 };
    const rowOut: Row = { inst, wantIn: false, to: control ? 0 : -1, beats: [], skipped: 0 };
    rows.push(rowIn, rowOut);
    for (let m = 0; m < 2 * n; m++) {
      const row = m % 2 === 0 ? rowIn : rowOut;
      // a fresh prompt now and then: the moves meet different music
      if (m % 10 === 0) engine.command({ type: 'prompt', text: prompts[(i * 7 + m / 10) % prompts.length] });
      // bring the instrument to the state the move changes: out for an addition, in for a removal
      engine.command({ type: 'strength', feature: inst, value: row.wantIn ? -1 : 1 });
      let waited = 0;
      while (!lastBarIs(i, !row.wantIn) && waited < SETTLE_BARS) {
        await play(barSamples);
        waited++;
      }
      if (!lastBarIs(i, !row.wantIn)) {
        row.skipped++;
        bar.increment(1, { row: `${inst} ${row.wantIn ? 'in' : 'out'}${control ? ' (control)' : ''}` });
        continue;
      }
      // the move lands anywhere in the bar
      await play(Math.floor(rng.next() * barSamples));
      const at = heard;
      engine.command({ type: 'strength', feature: inst, value: row.to });
      await play((EFFECT_WINDOW_BARS + 1.5) * barSamples);
      const e = effectOf(frames, i, at, row.wantIn);
      row.beats.push(e.found ? e.samples / SAMPLES_PER_BEAT : null);
      bar.increment(1, { row: `${inst} ${row.wantIn ? 'in' : 'out'}${control ? ' (control)' : ''}` });
    }
    engine.command({ type: 'strength', feature: inst, value: 0 });
  }
}
bar.stop();

const deviceMs = (1000 * BUFFER) / RATE;
const msPerBeat = 60_000 / TEMPO;
console.log(`knob -> audible on tinyband at live's defaults: ${TEMPO} BPM (a beat ${msPerBeat} ms, a bar ${BEATS_PER_BAR} beats), ring target ${targetMs} ms, quantize ${config.quantize}, device buffer ${BUFFER} frames (${deviceMs.toFixed(1)} ms, added to ms)`);
console.log('in: first note heard in a bar where the instrument is present; out: first whole bar of silence. From the sample being heard when the knob moved (src/session/time-to-effect.ts).');
console.log('knob          moves  p50 beats  p90 beats  p50 ms  p90 ms  none in 4 bars  (skipped: never reached the start state)');
const fmt = (v: number, w: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-').padStart(w);
const all: number[] = [];
let allNone = 0;
let allMoves = 0;
for (const r of rows) {
  const got = r.beats.filter((b): b is number => b !== null).sort((a, b) => a - b);
  // a move with no effect within the window counts as the longest: percentiles over every move
  const withNone = [...got, ...Array<number>(r.beats.length - got.length).fill(Infinity)];
  const p50 = percentile(withNone, 50);
  const p90 = percentile(withNone, 90);
  const none = r.beats.length ? (r.beats.length - got.length) / r.beats.length : NaN;
  if (r.to !== 0) {
    all.push(...withNone);
    allNone += r.beats.length - got.length;
    allMoves += r.beats.length;
  }
  const name = `${r.inst} ${r.to > 0 ? '+1' : r.to < 0 ? '-1' : '-> 0'} ${r.wantIn ? 'in' : 'out'}`;
  console.log(
    `${name.padEnd(14)}${String(r.beats.length).padStart(5)}${fmt(p50, 11)}${fmt(p90, 11)}${fmt(p50 * msPerBeat + deviceMs, 8, 0)}${fmt(p90 * msPerBeat + deviceMs, 8, 0)}${fmt(100 * none, 13, 0)} %${r.skipped ? `  (${r.skipped} skipped)` : ''}`,
  );
}
all.sort((a, b) => a - b);
const p50 = percentile(all, 50);
const p90 = percentile(all, 90);
console.log(`all knob moves: p50 ${fmt(p50, 0)} beats (${fmt(p50 * msPerBeat + deviceMs, 0, 0)} ms), p90 ${fmt(p90, 0)} beats (${fmt(p90 * msPerBeat + deviceMs, 0, 0)} ms), no effect within 4 bars ${((100 * allNone) / Math.max(1, allMoves)).toFixed(0)} %`);
console.log(`goal p50 <= 1 bar (4 beats): ${p50 <= 4 ? 'met' : 'NOT met'}; p90 <= 2 bars (8 beats): ${p90 <= 8 ? 'met' : 'NOT met'}; underruns ${engine.output.underruns}`);
await engine.close();
