/**
 * Floods over real UDP on 127.0.0.1, through the whole control path
 * (socket, decoder, coalescer, namespace, mapping). Senders are paced and
 * at most 32 packets per event-loop turn (what Node reads per turn), so
 * the kernel never drops a packet and each test can check that every
 * packet sent was read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sendPaced } from '../../bench/osc-fuzz.js';
import type { EngineCommand } from '../../src/protocol.js';
import { controlCommands, type Control } from '../../src/control/index.js';
import { OSC, type OscArg } from '../../src/control/osc-source.js';
import { parsePreset } from '../../src/control/presets.js';

const FEATURES = ['drums', 'bass', 'piano', 'guitar', 'minor', 'dense'];
const DRUMS = '/smitin/feature/drums';
const preset = parsePreset({ name: 't', source: 'test', smoothingMs: 0, features: Object.fromEntries(FEATURES.map((n) => [n, {}])) }, 'inline');
type Arg = string | number | { type: string; value: unknown };
/** A message; plain args typed s, i (integers) or f, or given as {type, value} (osc-js's Message would re-infer those). */
const pack = (address: string, ...args: Arg[]): Uint8Array =>
  new OSC.TypedMessage(address, args.map((a) => (typeof a === 'object' ? a : { type: typeof a === 'string' ? 's' : Number.isInteger(a) ? 'i' : 'f', value: a })) as never).pack();

async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function open(): Control {
  return controlCommands({
    preset,
    features: FEATURES,
    osc: { port: 0 },
    loadPreset: async (name) => {
      throw new Error(`no presets in this test (${name})`);
    },
  });
}

describe('OSC floods over real UDP', () => {
  let control: Control | null = null;
  afterEach(async () => {
    await control?.dispose();
    control = null;
  });

  it(
    '10,000 msg/s of one control for 10 s with 5 prompts in it, then one final value: the engine plays the final value',
    async () => {
      control = open();
      const c = control;
      let lastStrength: number | undefined;
      const prompts: string[] = [];
      c.commands$.subscribe((cmd: EngineCommand) => {
        if (cmd.type === 'strength' && cmd.feature === 'drums') lastStrength = cmd.value;
        if (cmd.type === 'prompt') prompts.push(cmd.text);
      });
      let lastOnWire: OscArg | undefined;
      let drumsEmitted = 0;
      c.osc!.messages$.subscribe((m) => {
        if (m.address !== DRUMS) return;
        lastOnWire = m.args[0];
        drumsEmitted += 1;
      });
      const { port, recvBufferBytes } = await c.oscReady!;

      const count = 100_000;
      const promptAt = new Map([10_000, 30_000, 50_000, 70_000, 90_000].map((i, k): [number, string] => [i, `prompt ${k + 1}`]));
      const values = Array.from({ length: 1000 }, (_, k) => pack(DRUMS, { type: 'f', value: 0.6377 - k / 2000 }));
      const flood = await sendPaced({ port, count, ratePerSecond: 10_000, packet: (i) => (promptAt.has(i) ? pack('/smitin/prompt', promptAt.get(i)!) : values[i % 1000]) });
      await until(() => c.osc!.stats().packets === flood.sent, 10_000, 'the flood to be read');
      await sendPaced({ port, count: 1, ratePerSecond: 1, packet: () => pack(DRUMS, { type: 'f', value: 0.4087 }) });
      await until(() => lastStrength === 0.4087, 5000, 'the final value as a strength command');

      const stats = c.osc!.stats();
      console.log(
        `flood: ${flood.sent} packets in ${(flood.elapsedMs / 1000).toFixed(1)} s (${Math.round(flood.rate)}/s), ${stats.packets} read, ` +
          `${drumsEmitted} drums values handed on (${stats.coalesced} coalesced away), receive buffer ${recvBufferBytes} bytes; issues: ${c.issues.summary() || 'none'}`,
      );
      expect(flood.sendErrors).toBe(0);
      expect(stats.packets).toBe(count + 1); // nothing lost before the socket
      expect(lastOnWire).toBe(0.4087);
      expect(c.mapping.value('drums')).toBe(0.4087);
      expect(prompts).toEqual([...promptAt.values()]);
      expect(c.issues.count('osc', 'flood')).toBe(0);
    },
    60_000,
  );

  it("two senders flooding do not starve a third sender's commands", async () => {
    control = open();
    const c = control;
    const prompts: string[] = [];
    c.commands$.subscribe((cmd) => cmd.type === 'prompt' && prompts.push(cmd.text));
    const { port } = await c.oscReady!;
    const stop = pack('/smitin/stop');
    const spam = pack('/smitin/prompt', 'spam');
    // 5,000/s each, half of it commands; together with the third sender, under the 32 packets a turn Node reads
    const a = sendPaced({ port, count: 5000, ratePerSecond: 5000, maxBurst: 15, packet: (i) => (i % 2 ? pack('/smitin/feature/bass', { type: 'f', value: (i % 100) / 100 }) : stop) });
    const b = sendPaced({ port, count: 5000, ratePerSecond: 5000, maxBurst: 15, packet: (i) => (i % 2 ? pack('/smitin/feature/piano', { type: 'f', value: (i % 100) / 100 }) : spam) });
    const third = sendPaced({ port, count: 10, ratePerSecond: 10, maxBurst: 1, packet: (i) => pack('/smitin/prompt', `third ${i}`) });
    const sent = (await Promise.all([a, b, third])).reduce((n, r) => n + r.sent, 0);
    await until(() => c.osc!.stats().packets === sent, 10_000, 'all packets to be read');
    await until(() => prompts.filter((p) => p.startsWith('third')).length === 10, 5000, "the third sender's prompts");
    expect(prompts.filter((p) => p.startsWith('third'))).toEqual(Array.from({ length: 10 }, (_, i) => `third ${i}`));
    // the floods' own commands were limited (and their latest kept), and that shows in the counts
    expect(c.issues.count('osc', 'flood')).toBeGreaterThan(0);
    expect(prompts.filter((p) => p === 'spam').length).toBeLessThan(2500);
    expect(c.mapping.value('bass')).toBe(0.99);
    expect(c.mapping.value('piano')).toBe(0.99);
    const stats = c.osc!.stats();
    expect(stats.peakSenders).toBe(3);
    console.log(`three senders: ${sent} packets read, dropped ${JSON.stringify(stats.dropped)}; issues: ${c.issues.summary()}`);
  });

  it('counts per kind are exposed for the status view and telemetry', async () => {
    control = open();
    const c = control;
    c.commands$.subscribe();
    const { port } = await c.oscReady!;
    const bad = [
      Buffer.from('garbage!'),
      pack('/smitin/nope', 1),
      pack(DRUMS, 'loud'),
      pack(DRUMS, { type: 'f', value: 3 }),
      pack('/smitin/tempo', { type: 'f', value: NaN }),
      pack('/smitin/feature/vocals', { type: 'f', value: 0.5 }),
      pack(`/${'a'.repeat(1000)}`, 1),
    ];
    await sendPaced({ port, count: bad.length, ratePerSecond: 1000, packet: (i) => bad[i] });
    await until(() => c.osc!.stats().packets === bad.length);
    await until(() => c.issues.total() >= bad.length);
    expect(c.issues.snapshot()).toEqual({
      'osc/malformed': 1,
      'osc/unknown-address': 2,
      'osc/wrong-type': 1,
      'osc/out-of-range': 1,
      'osc/non-finite': 1,
      'osc/unknown-feature': 1,
    });
    expect(c.issues.summary()).toBe('osc/malformed 1, osc/unknown-address 2, osc/wrong-type 1, osc/out-of-range 1, osc/non-finite 1, osc/unknown-feature 1');
    expect(c.issues.total()).toBe(7);
  });
});
