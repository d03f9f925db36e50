/**
 * Control latency of the live session at `smitin live`'s defaults: from an OSC
 * packet leaving a client (UDP on loopback) to the first sample generated
 * with the new strength being handed to the audio output, over 200 knob
 * moves. The output is the real-time null sink with the default device
 * buffer (a device adds its own reported latency on top: printed). The
 * moves go through the whole control path: OSC parsing, the preset's
 * smoothing, shared memory, the worker's next step, the ring.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/control-latency.bench.js [moves, default 200] [ms between moves, default 250]
 */
import dgram from 'node:dgram';
import { DEFAULT_BUFFER_FRAMES } from '../src/audio/output.js';
import { OSC } from '../src/control/osc-source.js';
import { nowMs } from '../src/engine/control-block.js';
import { DEFAULT_LATENCY_MS } from '../src/engine/live-engine.js';
import { percentile } from '../src/util/percentile.js';
import { startBenchSession } from './live-session.js';
import { freeUdpPort } from './free-port.js';

const MOVES = Number(process.argv[2] ?? 200);
const GAP_MS = Number(process.argv[3] ?? 250);
const TEMPO = 120;

const port = await freeUdpPort();
const session = await startBenchSession({ oscPort: port, tempo: TEMPO });
const { engine, output } = session;
await new Promise((r) => setTimeout(r, 2000)); // warm up: ring full, telemetry flowing

const client = dgram.createSocket('udp4');
const sent: number[] = [];
for (let i = 0; i < MOVES; i++) {
  const value = i % 2 ? -0.5 : 0.5;
  sent.push(nowMs() % 2 ** 31);
  client.send(Buffer.from(new OSC.Message('/smitin/feature/drums', value).pack()), port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, GAP_MS));
}
await new Promise((r) => setTimeout(r, 1000));
client.close();

// each move: the first marked sample whose stamp is at or after the send, handed out after it
const handed = engine.output.handed;
const latencies: number[] = [];
for (const t of sent) {
  const h = handed.find((x) => x.stamp >= Math.floor(t) && x.at >= t);
  if (h) latencies.push(h.at - t);
}
latencies.sort((a, b) => a - b);
const pct = (p: number) => percentile(latencies, p);
const frameMs = 60_000 / (TEMPO * 4);
const deviceMs = (1000 * DEFAULT_BUFFER_FRAMES) / 48000;
const bound = frameMs + DEFAULT_LATENCY_MS + deviceMs;
console.log(`control latency, OSC packet sent -> first sample with the new strength handed to the output; ${latencies.length} of ${MOVES} moves matched`);
console.log(`defaults: ring target ${DEFAULT_LATENCY_MS} ms, device buffer ${DEFAULT_BUFFER_FRAMES} frames (${deviceMs.toFixed(1)} ms), ${TEMPO} BPM (one frame ${frameMs} ms), preset smoothing 40 ms`);
console.log(`p50 ${pct(50).toFixed(1)} ms  p90 ${pct(90).toFixed(1)} ms  p99 ${pct(99).toFixed(1)} ms  max ${latencies[latencies.length - 1].toFixed(1)} ms`);
console.log(`goal p99 <= frame + ring target + device buffer = ${bound.toFixed(1)} ms: ${pct(99) <= bound ? 'met' : 'NOT met'} (p99 / bound = ${(pct(99) / bound).toFixed(2)})`);
console.log(`underruns ${engine.output.underruns}, output errors ${output.stats.errors}`);
await session.stop();
