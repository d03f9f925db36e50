/**
 * The live session for a long stretch at default settings, as on stage: the
 * real-time null sink pulls, a knob moves every 2 s (a random feature to a
 * random strength), the prompt changes every minute. Prints underruns and
 * memory (process RSS, which includes the worker, and the main thread's
 * heap) at the first minute and at the end: growth past the first minute is
 * what a leak would show.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/live-soak.bench.js [minutes, default 10] [mix|stems]
 */
import { DEFAULT_LATENCY_MS } from '../src/engine/live-engine.js';
import { Rng } from '../src/util/rng.js';
import { startBenchSession } from './live-session.js';

const MINUTES = Number(process.argv[2] ?? 10);
/** `stems`: --outputs stems (ten channels through the ring and the null sink). */
const OUTPUTS = process.argv[3] === 'stems' ? 'stems' : 'mix';
const PROMPTS = ['funk happy energetic', 'rock dark steady', 'bossa calm', 'house bright energetic', 'ballad sad calm'];

const session = await startBenchSession({ prompt: PROMPTS[0], outputs: OUTPUTS });
const { engine, output } = session;
let rtf = 0;
let stepMs = 0;
engine.telemetry$.subscribe((t) => {
  if (!t) return;
  rtf = t.realtimeFactor;
  stepMs = t.stepMs;
});
const rng = new Rng(7);
const t0 = performance.now();
const mb = (b: number) => b / 2 ** 20;
let first: NodeJS.MemoryUsage | null = null;
const knobs = setInterval(() => session.command({ type: 'strength', feature: rng.pick(engine.features), value: Math.round((rng.next() * 2 - 1) * 100) / 100 }), 2000);
let p = 0;
const prompts = setInterval(() => session.command({ type: 'prompt', text: PROMPTS[++p % PROMPTS.length] }), 60_000);
const samples = setInterval(() => {
  const m = process.memoryUsage();
  const minute = (performance.now() - t0) / 60_000;
  if (!first && minute >= 1) first = m;
  process.stderr.write(`${minute.toFixed(1)} min: rss ${mb(m.rss).toFixed(1)} MB, heap ${mb(m.heapUsed).toFixed(1)} MB, underruns ${engine.output.underruns}, x${rtf.toFixed(1)} real time, step ${stepMs.toFixed(2)} ms\n`);
}, 10_000);
await new Promise((r) => setTimeout(r, MINUTES * 60_000));
clearInterval(knobs);
clearInterval(prompts);
clearInterval(samples);
const end = process.memoryUsage();
const base = first ?? end;
console.log(`live session, ${MINUTES} min at default settings, --outputs ${OUTPUTS} (ring target ${DEFAULT_LATENCY_MS} ms, 512-frame null sink at 48 kHz, a knob move every 2 s, a prompt change every minute)`);
console.log(`underruns ${engine.output.underruns}, output blocks ${output.stats.blocks}, resyncs ${output.stats.resyncs}, errors ${output.stats.errors}`);
console.log(`rss ${mb(base.rss).toFixed(1)} MB at 1 min -> ${mb(end.rss).toFixed(1)} MB at the end (${((end.rss / base.rss - 1) * 100).toFixed(1)} %); main heap ${mb(base.heapUsed).toFixed(1)} -> ${mb(end.heapUsed).toFixed(1)} MB (${((end.heapUsed / base.heapUsed - 1) * 100).toFixed(1)} %)`);
await session.stop();
