import dgram from 'node:dgram';
import { firstValueFrom, filter, take, toArray, type Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineCommand } from '../../src/protocol.js';
import { controlCommands, type Control } from '../../src/control/index.js';
import { IssueLog } from '../../src/control/issues.js';
import { OscNamespace, type ControlEvent } from '../../src/control/osc-namespace.js';
import { OSC, openOscSource, parsePacket, shortestFloat32, type OscMessage, type OscSource } from '../../src/control/osc-source.js';
import { parsePreset } from '../../src/control/presets.js';

const FEATURES = ['drums', 'bass', 'piano', 'guitar', 'minor', 'dense'];

function message(address: string, ...args: { type: string; value: unknown }[]): Uint8Array {
  return new OSC.TypedMessage(address, args as never).pack();
}
const f = (value: number) => ({ type: 'f', value });
const s = (value: string) => ({ type: 's', value });

class Client {
  private readonly socket = dgram.createSocket('udp4');
  constructor(private readonly port: number) {}
  send(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, this.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }
  close(): void {
    this.socket.close();
  }
}

/** Waits until `cond` holds, polling the event loop (UDP arrives asynchronously). */
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function collect<T>(o: Observable<T>): T[] {
  const out: T[] = [];
  o.subscribe((x) => out.push(x));
  return out;
}

describe('OSC source over real UDP', () => {
  let source: OscSource | null = null;
  let client: Client | null = null;
  afterEach(async () => {
    client?.close();
    await source?.close();
    source = client = null;
  });

  it('delivers messages and flattens bundles, with int, float, string and T/F args', async () => {
    source = openOscSource({ host: '127.0.0.1', port: 0 });
    const { port } = await source.ready;
    client = new Client(port);
    const got = collect(source.messages$);
    await client.send(message('/a', { type: 'i', value: 3 }, f(0.7), s('hi'), { type: 'T', value: true }, { type: 'F', value: false }));
    const inner = new OSC.Bundle([new OSC.Message('/c', 2)]);
    await client.send(new OSC.Bundle([new OSC.Message('/b', 'x'), inner]).pack());
    await until(() => got.length === 3);
    expect(got.map((m) => [m.address, m.args])).toEqual([
      ['/a', [3, 0.7, 'hi', true, false]],
      ['/b', ['x']],
      ['/c', [2]],
    ]);
    expect(got[0].types).toBe('ifsTF');
    expect(got[2].from).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('survives a garbage packet: counted, reported once, and the stream goes on', async () => {
    const issues = new IssueLog();
    const reports = collect(issues.issues$);
    source = openOscSource({ host: '127.0.0.1', port: 0, issues });
    const { port } = await source.ready;
    client = new Client(port);
    const got = collect(source.messages$);
    await client.send(Buffer.from('garbage!!'));
    await client.send(Buffer.from([0x2f, 0x61, 0, 0])); // an address without type tags
    await client.send(Buffer.alloc(0));
    await client.send(Buffer.from('#bundle\0\0\0\0\0\0\0\0\0\0\0\0\x10', 'latin1'));
    await client.send(message('/still/alive', f(1)));
    await until(() => got.length === 1);
    expect(got[0].address).toBe('/still/alive');
    expect(issues.count('osc', 'malformed')).toBe(4);
    expect(reports.filter((r) => r.kind === 'malformed')).toHaveLength(1);
    expect(reports[0].message).toMatch(/malformed packet of \d+ bytes from 127\.0\.0\.1:\d+/);
  });

  it('reports a port that is taken, with host, port and a hint, without throwing', async () => {
    source = openOscSource({ host: '127.0.0.1', port: 0 });
    const { port } = await source.ready;
    const issues = new IssueLog();
    const second = openOscSource({ host: '127.0.0.1', port, issues });
    await expect(second.ready).rejects.toThrow(`cannot listen on 127.0.0.1:${port} (EADDRINUSE)`);
    expect(issues.count('osc', 'bind-failed')).toBe(1);
    await second.close();
  });

  it('listens on loopback unless asked, with a larger receive buffer', async () => {
    source = openOscSource({ port: 0 });
    const ready = await source.ready;
    expect(ready.host).toBe('127.0.0.1');
    // Linux grants min(asked, net.core.rmem_max) and reports twice that; other systems report what they granted
    expect(ready.recvBufferBytes).toBeGreaterThan(0);
    expect(source.stats().recvBufferBytes).toBe(ready.recvBufferBytes);
  });

  it('discrete commands over a sender\'s rate wait in a bounded queue: the oldest are dropped as a flood, the latest arrive in order', async () => {
    const issues = new IssueLog();
    let clock = 0;
    source = openOscSource({ host: '127.0.0.1', port: 0, issues, now: () => clock });
    const { port } = await source.ready;
    client = new Client(port);
    const got = collect(source.messages$);
    for (let i = 0; i < 200; i++) await client.send(message('/smitin/prompt', s(`p${i}`)));
    await until(() => source!.stats().packets === 200);
    await until(() => got.length === 50);
    // a burst of 50 goes at once; of the rest, the queue keeps the latest 32
    expect(got.map((m) => m.args[0])).toEqual(Array.from({ length: 50 }, (_, i) => `p${i}`));
    expect(issues.count('osc', 'flood')).toBe(200 - 50 - 32);
    clock += 1000; // the next second: the rate allows the queued ones
    await until(() => got.length === 82);
    expect(got.slice(50).map((m) => m.args[0])).toEqual(Array.from({ length: 32 }, (_, i) => `p${168 + i}`));
  });
});

describe('OSC namespace', () => {
  const msg = (address: string, args: OscMessage['args'], types = ''): OscMessage => ({ address, args, types, from: 'test' });
  const setup = () => {
    const issues = new IssueLog();
    return { issues, ns: new OscNamespace({ features: FEATURES, issues }) };
  };

  it('maps every address of the table', () => {
    const { ns, issues } = setup();
    const cases: [OscMessage, ControlEvent | null][] = [
      [msg('/smitin/feature/drums', [0.7], 'f'), { type: 'strength', feature: 'drums', value: 0.7 }],
      [msg('/smitin/feature/bass', [-2], 'f'), { type: 'strength', feature: 'bass', value: -1 }],
      [msg('/smitin/prompt', [' dark jazz '], 's'), { type: 'prompt', text: 'dark jazz' }],
      [msg('/smitin/play', []), { type: 'play' }],
      [msg('/smitin/play', [1], 'f'), { type: 'play' }],
      [msg('/smitin/play', [0], 'f'), null],
      [msg('/smitin/stop', [true], 'T'), { type: 'stop' }],
      [msg('/smitin/tempo', [250], 'f'), { type: 'tempo', bpm: 200 }],
      [msg('/smitin/temperature', [0.9], 'f'), { type: 'temperature', value: 0.9 }],
      [msg('/smitin/guidance', [3], 'i'), { type: 'guidance', value: 3 }],
      [msg('/smitin/learn', ['drums'], 's'), { type: 'learn', target: 'drums' }],
      [msg('/smitin/learn', ['off'], 's'), { type: 'learn', target: null }],
      [msg('/smitin/preset', ['generic-8-knob'], 's'), { type: 'preset', name: 'generic-8-knob' }],
      [msg('/smitin/record', [1], 'i'), { type: 'record', on: true }],
      [msg('/smitin/record', [false], 'F'), { type: 'record', on: false }],
      [msg('/smitin/loop', [4], 'i'), { type: 'loop', bars: 4 }],
      [msg('/smitin/loop', [0], 'i'), { type: 'loop', bars: 0 }],
    ];
    for (const [m, want] of cases) expect(ns.toEvent(m), m.address).toEqual(want);
    expect(issues.count('osc', 'out-of-range')).toBe(2);
  });

  it('/smitin/loop takes 1, 2, 4 or 8 bars, or 0; anything else is reported and changes nothing', () => {
    const { ns, issues } = setup();
    const reports = collect(issues.issues$);
    for (const bad of [msg('/smitin/loop', [3], 'i'), msg('/smitin/loop', [2.5], 'f'), msg('/smitin/loop', ['4'], 's'), msg('/smitin/loop', [])]) expect(ns.toEvent(bad)).toBeNull();
    expect(issues.count('osc', 'bad-value')).toBe(4);
    expect(reports[0].message).toBe('OSC /smitin/loop: expected one of 1, 2, 4, 8 (bars) or 0 (release), got (i) 3');
  });

  it('rejects wrong types, NaN/Infinity, unknown addresses and unknown features, each kind reported once', () => {
    const { ns, issues } = setup();
    const reports = collect(issues.issues$);
    const bad = [
      msg('/smitin/feature/drums', ['loud'], 's'),
      msg('/smitin/feature/drums', [], ''),
      msg('/smitin/prompt', [3], 'i'),
      msg('/smitin/feature/drums', [NaN], 'f'),
      msg('/smitin/tempo', [Infinity], 'f'),
      msg('/smitin/nope', [1], 'i'),
      msg('/x[', [1], 'i'),
      msg('/smitin/feature/vocals', [0.5], 'f'),
      msg('/smitin/learn', ['vocals'], 's'),
    ];
    for (const m of bad) expect(ns.toEvent(m)).toBeNull();
    expect(issues.snapshot()).toEqual({ 'osc/wrong-type': 3, 'osc/non-finite': 2, 'osc/unknown-address': 2, 'osc/unknown-feature': 2 });
    expect(reports.map((r) => r.kind)).toEqual(['wrong-type', 'non-finite', 'unknown-address', 'unknown-feature']);
    expect(reports[0].message).toBe('OSC /smitin/feature/drums: expected one number (f or i), got (s) "loud"');
    expect(reports[3].message).toContain('the model has no feature "vocals"; expected one of drums, bass');
  });

  it('shows float32 args as the decimal the sender typed', () => {
    expect(shortestFloat32(Math.fround(0.7))).toBe(0.7);
    expect(shortestFloat32(Math.fround(-0.123))).toBe(-0.123);
    expect(parsePacket(message('/v', f(0.1)))[0].args).toEqual([0.1]);
  });
});

describe('controlCommands over real UDP', () => {
  let control: Control | null = null;
  let client: Client | null = null;
  afterEach(async () => {
    client?.close();
    await control?.dispose();
    control = client = null;
  });

  const preset = parsePreset({ name: 't', source: 'test', smoothingMs: 0, features: Object.fromEntries(FEATURES.map((n) => [n, {}])) }, 'inline');

  it('/smitin/feature/drums 0.7 from a client socket arrives as a strength command', async () => {
    control = controlCommands({ preset, features: FEATURES, osc: { host: '127.0.0.1', port: 0 } });
    const commands: EngineCommand[] = collect(control.commands$);
    const { port } = await control.oscReady!;
    client = new Client(port);
    const drums = firstValueFrom(control.commands$.pipe(filter((c) => c.type === 'strength' && c.feature === 'drums' && c.value !== 0)));
    await client.send(message('/smitin/feature/drums', f(0.7)));
    expect(await drums).toEqual({ type: 'strength', feature: 'drums', value: 0.7 });
    // the preset's initial strengths came first
    expect(commands.slice(0, 6).map((c) => c.type)).toEqual(Array(6).fill('strength'));
  });

  it('bad input in the middle of good input: reported once per kind, the good commands all arrive', async () => {
    control = controlCommands({ preset, features: FEATURES, osc: { host: '127.0.0.1', port: 0 } });
    const reports = collect(control.issues$);
    const { port } = await control.oscReady!;
    client = new Client(port);
    const next = firstValueFrom(control.commands$.pipe(filter((c) => c.type !== 'strength'), take(3), toArray()));
    await client.send(Buffer.from('\x00\x01junk'));
    await client.send(message('/smitin/play'));
    await client.send(message('/smitin/feature/drums', s('x')));
    await client.send(message('/smitin/feature/drums', f(NaN)));
    await client.send(message('/smitin/unknown', f(1)));
    await client.send(message('/smitin/feature/vocals', f(1)));
    await client.send(message('/smitin/prompt', s('calm piano')));
    await client.send(message('/smitin/feature/drums', f(Infinity)));
    await client.send(message('/smitin/stop'));
    expect(await next).toEqual([{ type: 'play' }, { type: 'prompt', text: 'calm piano' }, { type: 'stop' }]);
    expect(reports.map((r) => r.kind).sort()).toEqual(['malformed', 'non-finite', 'unknown-address', 'unknown-feature', 'wrong-type']);
    expect(control.issues.count('osc', 'non-finite')).toBe(2);
  });

  it('a flood of strength messages is coalesced into a few smoothed commands ending on the last value', async () => {
    const smooth = { ...preset, smoothingMs: 20 };
    control = controlCommands({ preset: smooth, features: FEATURES, osc: { host: '127.0.0.1', port: 0 } });
    const strengths = collect(control.commands$.pipe(filter((c): c is Extract<EngineCommand, { type: 'strength' }> => c.type === 'strength' && c.feature === 'bass')));
    const { port } = await control.oscReady!;
    client = new Client(port);
    for (let i = 0; i < 2000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => client!.send(message('/smitin/feature/bass', f(((i + k) % 100) / 100)))));
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 50));
    await client.send(message('/smitin/feature/bass', f(0.25)));
    await until(() => strengths.at(-1)?.value === 0.25);
    expect(strengths.length).toBeLessThan(500);
  });
});
