/**
 * The stage test as a benchmark: `smitin live` as a user starts it (default
 * settings, a --record session take, OSC on loopback, the real-time null
 * sink), and for the whole run two senders on threads of their own hit its
 * OSC port: the project's fuzzer (bench/osc-fuzz.ts) and a flood of one
 * knob at 10,000 messages a second, at nice 19 (they stand for other
 * machines: on a 2-core box at normal priority they would take half of the
 * CPU the system under test has). At the end one valid value per knob.
 *
 * Prints packets sent and read, what the process counted by kind, underruns,
 * control latency p50/p99 over the run (every flood value moves the knob),
 * the session take's length against the run, RSS at start, peak and end,
 * and whether the engine ended on the last values sent. Goals (issue 10):
 * 0 underruns, p99 control latency within the live issue's bound (236 ms:
 * frame 125 + ring 100 + buffer 10.7), RSS growth < 10 % over the second
 * half of the storm. Why the second half: a leak grows for as long as the
 * storm lasts, while V8's heap and the malloc arenas size up to the load and
 * then stop; over 150 s at the defaults RSS rose 267 -> 310 MB in the first
 * 50 s and stayed within 305-319 MB for the next 100 s, and two heap
 * snapshots 40 s apart held the same 19 MB of live objects. The trace is
 * printed every 10 s, so a slow leak still shows.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/stage.bench.js [seconds, default 60] [fuzz packets/s, default 2000] [flood messages/s, default 10000]
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { setPriority } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { decodeWav } from '../src/audio/wav.js';
import { OSC, parsePacket } from '../src/control/osc-source.js';
import { sendFuzz, sendPaced, TINYBAND_FEATURES } from './osc-fuzz.js';
import { freeUdpPort } from './free-port.js';

const BIN = fileURLToPath(new URL('../../bin/smitin.js', import.meta.url));
const SECONDS = Number(process.argv[2] ?? 60);
const FUZZ_RATE = Number(process.argv[3] ?? 2000);
const FLOOD_RATE = Number(process.argv[4] ?? 10_000);
/** Seconds into the storm after which RSS growth is also printed (the figure the goal used before the second-half rule). */
const WARMUP_S = 10;
/** The live issue's bound on control latency at the defaults: a 16th at 120 BPM + the 100 ms ring + a 512-frame buffer. */
const LATENCY_BOUND_MS = 125 + 100 + (512 / 48000) * 1000;

type Job = { kind: 'flood' | 'fuzz'; port: number; seconds: number; rate: number };
type SenderResult = { sent: number; sendErrors: number; rate: number; lastValid: [string, number][] };

if (!isMainThread) {
  const job = workerData as Job;
  parentPort!.postMessage(await sender(job));
} else {
  await main();
}

async function sender(job: Job): Promise<SenderResult> {
  if (job.kind === 'flood') {
    const values = Array.from({ length: 2001 }, (_, k) => new OSC.Message('/smitin/feature/drums', (k - 1000) / 1000).pack());
    const r = await sendPaced({ port: job.port, count: job.seconds * job.rate, ratePerSecond: job.rate, maxBurst: 200, packet: (i) => values[(i * 7919) % values.length] });
    return { sent: r.sent, sendErrors: r.sendErrors, rate: r.rate, lastValid: [] };
  }
  const r = await sendFuzz({ port: job.port, packets: job.seconds * job.rate, ratePerSecond: job.rate, seed: 10, features: TINYBAND_FEATURES });
  return { sent: r.sent, sendErrors: r.sendErrors, rate: r.rate, lastValid: [...r.lastValid] };
}

function runSender(job: Job): Promise<SenderResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: job });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'smitin-stage-'));
  const port = await freeUdpPort();
  const telemetry = dgram.createSocket('udp4');
  const strengths = new Map<string, number>();
  telemetry.on('message', (data) => {
    for (const m of parsePacket(data)) if (m.address.startsWith('/smitin/strength/')) strengths.set(m.address.slice(17), m.args[0] as number);
  });
  await new Promise<void>((r) => telemetry.bind(0, '127.0.0.1', () => r()));
  const take = join(dir, 'session.wav');
  const live = spawn(process.execPath, [BIN, 'live', '--web-port', '0', '--osc-port', String(port), '--osc-target', `127.0.0.1:${telemetry.address().port}`, '--record', take, '--takes', join(dir, 'takes'), '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: dir,
  });
  let stdout = '';
  let stderr = '';
  live.stdout.on('data', (d) => (stdout += d));
  live.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => live.on('exit', r));
  const started = Date.now();
  while (!stderr.includes('recording to')) {
    if (Date.now() - started > 30_000 || live.exitCode !== null) throw new Error(`smitin live did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // the live process's memory, read from outside (/proc): before the storm, through it, and at its end
  const rssOf = () => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${live.pid}/status`, 'utf8'))?.[1]) / 1024;
    } catch {
      return NaN;
    }
  };
  const rssTrace: number[] = [rssOf()];
  const sampler = setInterval(() => rssTrace.push(rssOf()), 1000);
  // The senders stand for other machines on the stage network: at nice 19 they take only CPU the system under test
  // leaves (threads inherit the nice value of the thread that creates them; live was spawned before, at the normal
  // priority). Their achieved rates are printed: a rate below the asked one means the machine had no CPU to spare.
  setPriority(19);
  console.log(`stage: smitin live at the defaults for ${SECONDS} s: fuzz ${FUZZ_RATE}/s + flood of one knob ${FLOOD_RATE}/s, each sender on its own thread`);
  const [fuzz, flood] = await Promise.all([runSender({ kind: 'fuzz', port, seconds: SECONDS, rate: FUZZ_RATE }), runSender({ kind: 'flood', port, seconds: SECONDS, rate: FLOOD_RATE })]);
  // after the storm, one valid value per knob: the engine must end there
  const finals = new Map(TINYBAND_FEATURES.map((f, i) => [f, Math.round((i / 5 - 0.5) * 1000) / 1000]));
  // the fuzzer's discrete commands wait in its sender's queue (32 at 50/s): let them drain before the final values
  await new Promise((r) => setTimeout(r, 1000));
  const client = dgram.createSocket('udp4');
  // the fuzz may have ended on /smitin/stop: the strengths the telemetry shows are those of the engine's last step
  client.send(new OSC.Message('/smitin/play').pack(), port, '127.0.0.1');
  for (const [f, v] of finals) client.send(new OSC.Message(`/smitin/feature/${f}`, v).pack(), port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 1500));
  client.close();
  clearInterval(sampler);
  rssTrace.push(rssOf());
  live.kill('SIGINT');
  const code = await exited;
  telemetry.close();
  const summary = JSON.parse(stdout.split('\n').filter((l) => l.startsWith('{')).at(-1) ?? '{}');
  const takeSeconds = decodeWav(readFileSync(take)).channels[0].length / 48000;
  const ended = [...finals].every(([f, v]) => Math.abs((strengths.get(f) ?? NaN) - v) < 1e-6);
  const osc = summary.osc ?? {};
  const lat = summary.controlLatencyMs ?? {};
  const warm = rssTrace[Math.min(WARMUP_S, rssTrace.length - 1)];
  const last = rssTrace[rssTrace.length - 1];
  const mid = rssTrace[Math.floor(rssTrace.length / 2)];
  const growth = (last - mid) / mid;
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  console.log(`exit code ${code}; ran ${Number(summary.seconds).toFixed(1)} s; session take ${takeSeconds.toFixed(2)} s (run - take ${(summary.seconds - takeSeconds).toFixed(3)} s)`);
  console.log(`packets sent: fuzz ${fuzz.sent} (${fuzz.rate.toFixed(0)}/s, ${fuzz.sendErrors} send errors), flood ${flood.sent} (${flood.rate.toFixed(0)}/s); read by the process ${osc.packets} of ${fuzz.sent + flood.sent + finals.size + 1} (${pct(osc.packets / (fuzz.sent + flood.sent + finals.size + 1))})`);
  console.log(`messages ${osc.messages}, coalesced ${osc.coalesced}, handed on ${osc.emitted}; peaks: waiting ${osc.peakWaiting}, queued ${osc.peakQueued}, senders ${osc.peakSenders}`);
  console.log(`issues by kind: ${Object.entries(summary.issues ?? {}).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(`underruns ${summary.underruns}, audio errors ${summary.audioErrors}, output clock resyncs (main thread stalled > 100 ms) ${summary.resyncs}, x${Number(summary.realtimeFactor).toFixed(1)} real time`);
  console.log(`control latency over ${lat.count} moves: p50 ${lat.p50} ms, p99 ${lat.p99} ms; bound ${LATENCY_BOUND_MS.toFixed(0)} ms, p99 / bound ${(lat.p99 / LATENCY_BOUND_MS).toFixed(2)}`);
  const mb = (x: number) => x.toFixed(1);
  console.log(`RSS MB (the live process, from /proc): before the storm ${mb(rssTrace[0])}, after ${WARMUP_S} s of it ${mb(warm)}, half way ${mb(mid)}, peak ${mb(Math.max(...rssTrace))}, end ${mb(last)}; growth over the second half ${pct(growth)}, after ${WARMUP_S} s ${pct((last - warm) / warm)}, from before the storm ${pct((last - rssTrace[0]) / rssTrace[0])}; main-thread JS heap at the end ${summary.heapMb} MB`);
  console.log(`RSS MB every 10 s: ${rssTrace.filter((_, i) => i % 10 === 0).map(mb).join(' ')}`);
  console.log(`engine ended on the last value sent for every knob: ${ended ? 'yes' : `no (${[...finals].map(([f, v]) => `${f} sent ${v} plays ${strengths.get(f)}`).join(', ')})`}`);
  const met = code === 0 && summary.underruns === 0 && lat.p99 <= LATENCY_BOUND_MS && growth < 0.1 && ended && Math.abs(summary.seconds - takeSeconds) < 0.1;
  console.log(`goals (exit 0, 0 underruns, p99 within bound, RSS growth over the second half < 10 %, last values, whole take): ${met ? 'met' : 'NOT met'}`);
  rmSync(dir, { recursive: true, force: true });
}
