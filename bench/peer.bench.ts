/**
 * Milliseconds per generation step of our runtime and of transformers.js on the same MusicGen export, in one
 * run: greedy, with guidance, on the same onnxruntime-node with the same threads (bench/peer.ts says what a
 * step is). The two take turns, `rounds` times each, so a machine that slows down mid-run slows both; the first
 * step of each generation (no cache yet) is left out of the figures. Also says whether the tokens agree.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/peer.bench.js [model dir, default test/fixtures/musicgen-tiny] [frames, default the window] [fp32|fp16|q8] [threads, default 1] [rounds, default 3]
 */
import { fileURLToPath } from 'node:url';
import { DTYPES, type Dtype } from '../src/model/musicgen/index.js';
import { percentile } from '../src/util/percentile.js';
import { OurMusicgen, PeerMusicgen, type GreedyRun } from './peer.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)); // from dist/bench/
const dir = process.argv[2] ?? `${REPO}test/fixtures/musicgen-tiny`;
const dtype = (process.argv[4] ?? 'fp32') as Dtype;
if (!DTYPES.includes(dtype)) throw new RangeError(`dtype must be one of ${DTYPES.join(', ')}, got: ${dtype}`);
const threads = Number(process.argv[5] ?? 1);
const rounds = Number(process.argv[6] ?? 3);
const PROMPT = 'funk happy energetic drums';
const GUIDANCE = 3;

const settings = { dtype, threads };
const ours = await OurMusicgen.load(dir, settings);
const peer = await PeerMusicgen.load(dir, settings);
const frames = Number(process.argv[3] ?? ours.maxFrames);
if (!Number.isInteger(frames) || frames < 1 || frames > ours.maxFrames) throw new RangeError(`frames must be an integer in [1, ${ours.maxFrames}], got: ${process.argv[3]}`);

const cached = { ours: [] as number[], peer: [] as number[] };
let agree = true;
const stepsOf = (run: GreedyRun) => run.stepMs.slice(1);
for (let r = 0; r < rounds; r++) {
  const a = await ours.generate(PROMPT, frames, GUIDANCE);
  const b = await peer.generate(PROMPT, frames, GUIDANCE);
  cached.ours.push(...stepsOf(a));
  cached.peer.push(...stepsOf(b));
  agree &&= a.codes.every((row, k) => row.every((id, f) => id === b.codes[k][f]));
}
await Promise.all([ours.release(), peer.release()]);

const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
const line = (name: string, ms: number[]) =>
  `  ${name.padEnd(16)} p50 ${percentile(ms, 50).toFixed(3)} ms  mean ${mean(ms).toFixed(3)} ms  p99 ${percentile(ms, 99).toFixed(3)} ms  (${ms.length} cached steps)`;
console.log(`${dir}, ${dtype}, ${threads} thread${threads > 1 ? 's' : ''}: greedy with guidance ${GUIDANCE}, ${frames} frames, ${rounds} rounds each`);
console.log(line('smitin-live', cached.ours));
console.log(line('transformers.js', cached.peer));
console.log(
  `  transformers.js / smitin-live: x${(percentile(cached.peer, 50) / percentile(cached.ours, 50)).toFixed(2)} p50, x${(mean(cached.peer) / mean(cached.ours)).toFixed(2)} mean; tokens ${agree ? 'identical' : 'DIFFER'}`,
);
