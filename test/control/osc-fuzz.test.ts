/**
 * The project's OSC fuzzer (bench/osc-fuzz.ts) against the OSC source: once
 * in memory (decoder, coalescer, namespace), once over real UDP through the
 * whole control path to the mapping, whose values are what the engine plays.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FUZZ_KINDS, MAX_FUZZ_PACKET_BYTES, OscFuzzer, sendFuzz, sendPaced } from '../../bench/osc-fuzz.js';
import { OscCoalescer } from '../../src/control/coalesce.js';
import { controlCommands, type Control } from '../../src/control/index.js';
import { IssueLog } from '../../src/control/issues.js';
import { OscNamespace } from '../../src/control/osc-namespace.js';
import { OSC, parsePacket } from '../../src/control/osc-source.js';
import { parsePreset } from '../../src/control/presets.js';

const FEATURES = ['drums', 'bass', 'piano', 'guitar', 'minor', 'dense'];
const preset = parsePreset({ name: 't', source: 'test', smoothingMs: 0, features: Object.fromEntries(FEATURES.map((n) => [n, {}])) }, 'inline');

/** The mapping's target for a continuous address: a feature name, or tempo/temperature/guidance. */
const target = (address: string) => address.slice(address.lastIndexOf('/') + 1);

async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('OSC fuzzer', () => {
  it('is seeded, makes every kind, and keeps packets within a UDP datagram', () => {
    const a = new OscFuzzer({ seed: 3 });
    const b = new OscFuzzer({ seed: 3 });
    const kinds = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const p = a.next();
      // Buffer.equals: a deep toEqual over 60 KB packets takes seconds
      expect(Buffer.from(b.next().bytes).equals(p.bytes), `packet ${i}`).toBe(true);
      expect(p.bytes.length).toBeLessThanOrEqual(MAX_FUZZ_PACKET_BYTES);
      kinds.add(p.kind);
    }
    for (const kind of FUZZ_KINDS) expect(a.make(kind).bytes.length).toBeLessThanOrEqual(MAX_FUZZ_PACKET_BYTES);
    expect(kinds.size).toBeGreaterThanOrEqual(FUZZ_KINDS.length - 1); // oversized bundles are rare
  });

  it('packets it says are broken are refused whole; the values it records are what the decoder reads', () => {
    const fuzzer = new OscFuzzer({ seed: 5 });
    for (let i = 0; i < 20_000; i++) {
      const p = fuzzer.next();
      let messages;
      try {
        messages = parsePacket(p.bytes);
      } catch {
        expect(p.values, `${p.kind} ${i} was refused but carries values`).toEqual([]);
        continue;
      }
      if (['random-bytes', 'truncated', 'wrong-type-tags', 'missing-type-tags'].includes(p.kind)) {
        // still accepted: then it must hold nothing the engine would play
        expect(messages.filter((m) => m.args.length === 1 && typeof m.args[0] === 'number' && Number.isFinite(m.args[0]) && fuzzer.continuousAddresses.includes(m.address))).toEqual([]);
      }
    }
  });

  it('50,000 packets at the source in memory: nothing throws, memory stays bounded, the last valid value of each control wins', () => {
    const issues = new IssueLog();
    const coalescer = new OscCoalescer({ features: FEATURES, issues });
    const namespace = new OscNamespace({ features: FEATURES, issues });
    const fuzzer = new OscFuzzer({ seed: 1234, features: FEATURES, maxBytes: 8192 });
    const expected = new Map<string, number>();
    const played = new Map<string, number>();
    let malformed = 0;
    const drain = () => {
      for (const m of coalescer.drain()) {
        const e = namespace.toEvent(m);
        if (e?.type === 'strength') played.set(`/smitin/feature/${e.feature}`, e.value);
        else if (e?.type === 'tempo') played.set('/smitin/tempo', e.bpm);
        else if (e?.type === 'temperature' || e?.type === 'guidance') played.set(`/smitin/${e.type}`, e.value);
      }
    };
    for (let i = 0; i < 50_000; i++) {
      const p = fuzzer.next();
      for (const [address, value] of p.values) expected.set(address, value);
      try {
        for (const m of parsePacket(p.bytes, `127.0.0.1:${40000 + (i % 5)}`)) coalescer.push(m);
      } catch {
        malformed += 1;
      }
      // an I/O turn reads up to 32 datagrams
      if (i % 32 === 31) drain();
    }
    drain();
    expect(played).toEqual(expected);
    const stats = coalescer.stats();
    // per drain at most: 9 continuous slots, 64 passed-on invalid messages, 5 senders' bursts of 50
    expect(stats.peakWaiting).toBeLessThanOrEqual(9 + 64 + 5 * 50);
    expect(stats.peakQueued).toBeLessThanOrEqual(5 * 32);
    expect(stats.peakSenders).toBeLessThanOrEqual(5);
    expect(malformed).toBeGreaterThan(5_000);
    console.log(`in memory: ${stats.messages} messages from 50,000 packets (${malformed} malformed), ${stats.emitted} handed on; peaks ${stats.peakWaiting} waiting, ${stats.peakQueued} queued; ${issues.summary()}`);
  });
});

describe('OSC fuzzer over real UDP', () => {
  let control: Control | null = null;
  afterEach(async () => {
    await control?.dispose();
    control = null;
  });

  it('100,000 fuzz packets: every one read, no crash, memory bounded, and the engine ends on the last valid value of each control', async () => {
    control = controlCommands({
      preset,
      features: FEATURES,
      osc: { port: 0 },
      loadPreset: async (name) => {
        throw new Error(`no presets in this test (${name})`);
      },
    });
    const c = control;
    const lastCommand = new Map<string, number>();
    c.commands$.subscribe((cmd) => {
      if (cmd.type === 'strength') lastCommand.set(cmd.feature, cmd.value);
      else if (cmd.type === 'tempo') lastCommand.set('tempo', cmd.bpm);
      else if (cmd.type === 'temperature' || cmd.type === 'guidance') lastCommand.set(cmd.type, cmd.value);
    });
    const { port, recvBufferBytes } = await c.oscReady!;
    // 32 packets a turn must fit the kernel's buffer twice over (Linux counts about twice the payload)
    const maxBytes = Math.min(MAX_FUZZ_PACKET_BYTES, Math.floor(recvBufferBytes / 128));
    const heapBefore = process.memoryUsage().heapUsed;

    const report = await sendFuzz({ port, packets: 100_000, ratePerSecond: 25_000, seed: 2024, features: FEATURES, maxBytes });
    await until(() => c.osc!.stats().packets === report.sent, 20_000, 'every packet to be read');
    await new Promise((r) => setTimeout(r, 200)); // settings are throttled to one per 50 ms

    const stats = c.osc!.stats();
    console.log(
      `fuzz over UDP: ${report.sent} packets (${(report.bytes / 1e6).toFixed(1)} MB, up to ${maxBytes} bytes) in ${(report.elapsedMs / 1000).toFixed(1)} s (${Math.round(report.rate)}/s), ` +
        `${stats.packets} read, ${stats.malformed} malformed, ${stats.messages} messages, ${stats.emitted} handed on; peaks ${stats.peakWaiting} waiting, ${stats.peakQueued} queued; ` +
        `heap change ${((process.memoryUsage().heapUsed - heapBefore) / 1e6).toFixed(0)} MB; issues: ${c.issues.summary({ max: 20 })}`,
    );
    expect(report.sendErrors).toBe(0);
    expect(stats.packets).toBe(100_000);
    expect(report.lastValid.size).toBe(FEATURES.length + 3);
    for (const [address, value] of report.lastValid) {
      expect(c.mapping.value(target(address)), address).toBe(value);
      expect(lastCommand.get(target(address)), address).toBe(value);
    }
    expect(stats.peakWaiting).toBeLessThanOrEqual(9 + 64 + 50);
    expect(stats.peakQueued).toBeLessThanOrEqual(32);
    expect(stats.senders).toBe(1);
    expect(c.issues.count('osc', 'malformed')).toBe(stats.malformed);
    expect(c.issues.count('osc', 'internal')).toBe(0);
    expect(c.issues.count('mapping', 'internal')).toBe(0);

    // and it still listens
    await sendPaced({ port, count: 1, ratePerSecond: 1, packet: () => new OSC.Message('/smitin/feature/drums', 0.125).pack() });
    await until(() => c.mapping.value('drums') === 0.125, 5000, 'a knob move after the fuzz');
  }, 90_000);
});
