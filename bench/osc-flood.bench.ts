/**
 * OSC under floods, with the sender on its own thread (as a real sender
 * is another program), through the whole control path to the mapping:
 *
 *   1. the issue's flood: 10,000 msg/s of /smitin/feature/drums for 10 s
 *      with 5 prompts in it, then one final value;
 *   2. a burst: 100,000 messages as fast as one thread sends them;
 *   3. 100,000 fuzz packets (bench/osc-fuzz.ts) at 20,000/s.
 *
 * Prints packets sent and read, what the kernel dropped (Linux: the UDP
 * RcvbufErrors counter, all sockets of the machine), the receive buffer
 * granted, and whether the engine ended on the last value sent.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/osc-flood.bench.js [flood seconds, default 10] [receive buffer bytes to ask for, default the source's 4 MiB]
 */
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { controlCommands } from '../src/control/index.js';
import { OSC } from '../src/control/osc-source.js';
import { parsePreset } from '../src/control/presets.js';
import { sendFuzz, sendPaced, TINYBAND_FEATURES, type FuzzReport, type PacedSendReport } from './osc-fuzz.js';

type Job =
  | { kind: 'flood'; port: number; seconds: number }
  | { kind: 'burst'; port: number; count: number }
  | { kind: 'fuzz'; port: number; count: number; seed: number };

const DRUMS = '/smitin/feature/drums';
const FINAL = 0.4087;
const PROMPTS = ['prompt 1', 'prompt 2', 'prompt 3', 'prompt 4', 'prompt 5'];

if (!isMainThread) {
  const job = workerData as Job;
  const result = await runSender(job);
  parentPort!.postMessage(result);
} else {
  await main();
}

async function runSender(job: Job): Promise<PacedSendReport | (Omit<FuzzReport, 'lastValid'> & { lastValid: [string, number][] })> {
  const pack = (address: string, ...args: unknown[]) => new OSC.Message(address, ...(args as never[])).pack();
  if (job.kind === 'flood') {
    const count = job.seconds * 10_000;
    const values = Array.from({ length: 1000 }, (_, k) => pack(DRUMS, 0.6377 - k / 2000));
    const promptAt = new Map(PROMPTS.map((p, k): [number, string] => [Math.floor(((2 * k + 1) * count) / 10), p]));
    const report = await sendPaced({ port: job.port, count, ratePerSecond: 10_000, maxBurst: 200, packet: (i) => (promptAt.has(i) ? pack('/smitin/prompt', promptAt.get(i)) : values[i % 1000]) });
    await new Promise((r) => setTimeout(r, 200));
    await sendPaced({ port: job.port, count: 1, ratePerSecond: 1, packet: () => pack(DRUMS, FINAL) });
    return report;
  }
  if (job.kind === 'burst') {
    const values = Array.from({ length: 1000 }, (_, k) => pack(DRUMS, k / 1000));
    return sendPaced({ port: job.port, count: job.count, ratePerSecond: 1e9, maxBurst: 1000, packet: (i) => (i === job.count - 1 ? pack(DRUMS, FINAL) : values[i % 1000]) });
  }
  const report = await sendFuzz({ port: job.port, packets: job.count, ratePerSecond: 20_000, maxBurst: 200, seed: job.seed, features: TINYBAND_FEATURES });
  return { ...report, lastValid: [...report.lastValid] };
}

function rcvbufErrors(): number | null {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0].split(/\s+/);
    return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')]);
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 10);
  const recvBufferBytes = process.argv[3] ? Number(process.argv[3]) : undefined;
  const preset = parsePreset({ name: 'bench', source: 'bench', smoothingMs: 0, features: Object.fromEntries(TINYBAND_FEATURES.map((n) => [n, {}])) }, 'inline');
  const jobs: Job['kind'][] = ['flood', 'burst', 'fuzz'];
  for (const kind of jobs) {
    const control = controlCommands({
      preset,
      features: TINYBAND_FEATURES,
      osc: { port: 0, recvBufferBytes },
      loadPreset: async (name) => {
        throw new Error(`no presets in this bench (${name})`);
      },
    });
    const prompts: string[] = [];
    const last = new Map<string, number>();
    control.commands$.subscribe((c) => {
      if (c.type === 'prompt') prompts.push(c.text);
      else if (c.type === 'strength') last.set(c.feature, c.value);
      else if (c.type === 'tempo') last.set('tempo', c.bpm);
      else if (c.type === 'temperature' || c.type === 'guidance') last.set(c.type, c.value);
    });
    const { port, recvBufferBytes: granted } = await control.oscReady!;
    const dropsBefore = rcvbufErrors();
    const job: Job = kind === 'flood' ? { kind, port, seconds } : kind === 'burst' ? { kind, port, count: 100_000 } : { kind, port, count: 100_000, seed: 99 };
    const worker = new Worker(new URL(import.meta.url), { workerData: job });
    const report = await new Promise<PacedSendReport & { lastValid?: [string, number][] }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    await new Promise((r) => setTimeout(r, 500));
    const stats = control.osc!.stats();
    const dropsAfter = rcvbufErrors();
    const sent = report.sent + (kind === 'fuzz' ? 0 : kind === 'flood' ? 1 : 0);
    const kernel = dropsBefore === null || dropsAfter === null ? 'n/a' : String(dropsAfter - dropsBefore);
    console.log(`\n${kind}: ${sent} packets sent in ${(report.elapsedMs / 1000).toFixed(2)} s (${Math.round(report.rate)}/s), ${stats.packets} read (${(100 * (1 - stats.packets / sent)).toFixed(1)} % lost), kernel RcvbufErrors +${kernel}`);
    console.log(`  receive buffer granted ${granted} bytes; ${stats.messages} messages, ${stats.emitted} handed on, ${stats.coalesced} coalesced; peaks ${stats.peakWaiting} waiting, ${stats.peakQueued} queued, ${stats.peakSenders} senders`);
    if (kind !== 'fuzz') console.log(`  drums ends on ${last.get('drums')} (last sent ${FINAL})${kind === 'flood' ? `; prompts ${JSON.stringify(prompts)}` : ''}`);
    else {
      const wrong = (report.lastValid ?? []).filter(([address, value]) => last.get(address.slice(address.lastIndexOf('/') + 1)) !== value);
      console.log(`  last valid value of ${report.lastValid?.length} controls: ${wrong.length === 0 ? 'all played' : `${wrong.length} not played: ${JSON.stringify(wrong)}`}`);
    }
    console.log(`  issues: ${control.issues.summary({ max: 20 }) || 'none'}`);
    await control.dispose();
  }
}
