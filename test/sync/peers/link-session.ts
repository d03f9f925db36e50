/**
 * The band following Link, for test/sync/link.test.ts: run inside a network namespace with only loopback, beside
 * other-link-peer.cjs (started here, in the same namespace). The shipped tinyband plays on the real-time null sink
 * in-process and follows Link through the session's own path (openSync, openLinkSource: the Link peer in its child
 * process). Prints JSON lines: the other peer's timeline, each heard downbeat and the engine's telemetry tempo, all
 * on process.hrtime's clock (ms). Arguments: seconds to run, our tempo, the other peer's tempo, the tempo it sets,
 * and when (ms after it sees us).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openNullOutput } from '../../../src/audio/output.js';
import { LiveEngine } from '../../../src/engine/live-engine.js';
import { hrtimeMs } from '../../../src/sync/link-binding.js';
import { openLinkSource } from '../../../src/sync/link-source.js';
import { openSync } from '../../../src/sync/open-sync.js';

const [seconds, ours, theirs, setTo, afterMs] = process.argv.slice(2).map(Number);
const model = fileURLToPath(new URL('../../../models/tinyband', import.meta.url));
const toHr = hrtimeMs() - performance.now();
const print = (o: object) => process.stdout.write(JSON.stringify({ t: hrtimeMs(), ...o }) + '\n');

const other = spawn(process.execPath, [fileURLToPath(new URL('./other-link-peer.cjs', import.meta.url)), String(theirs), String(setTo), String(afterMs)], { stdio: ['ignore', 'inherit', 'inherit'] });
const engine = await LiveEngine.start({ modelDir: model, probesFile: join(model, 'probes.safetensors'), prompt: 'funk', tempo: ours, sampleRate: 48000, latencyMs: 100, threads: 1 });
const output = openNullOutput({ sampleRate: 48000, bufferFrames: 512 });
output.start(engine.pull);
const follower = await openSync('link', {
  midi: null,
  send: (cmd) => engine.command(cmd),
  tapGrid: (l) => engine.output.tapGrid(l),
  outputLatencyMs: 0,
  say: (m) => print({ type: 'say', message: m }),
  open: { link: () => openLinkSource(ours, { startStopSync: false, say: (m) => print({ type: 'say', message: m }) }) },
});
const untap = engine.output.tapGrid((beats, at) => beats % 4 === 0 && print({ type: 'downbeat', beats, t: at + toHr }));
const sub = engine.telemetry$.subscribe((t) => t && print({ type: 'telemetry', t: hrtimeMs(), tempo: t.tempo, playing: t.playing }));
await new Promise((r) => setTimeout(r, seconds * 1000));
untap();
sub.unsubscribe();
print({ type: 'stats', errorsMs: follower?.stats.errorsMs ?? [], cues: follower?.stats.cues ?? 0 });
follower?.close();
other.kill('SIGKILL');
await output.stop();
await engine.close();
process.exit(0);
