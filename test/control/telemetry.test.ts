import dgram from 'node:dgram';
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { Telemetry } from '../../src/protocol.js';
import { IssueLog } from '../../src/control/issues.js';
import { parsePacket } from '../../src/control/osc-source.js';
import { parseTarget, TelemetryOut } from '../../src/control/telemetry-out.js';

function telemetry(over: Partial<Telemetry> = {}): Telemetry {
  return {
    time: 12.5,
    playing: true,
    tempo: 120,
    prompt: 'funk',
    features: [
      { name: 'drums', strength: 0.5, monitor: 0.25, gain: 0.75 },
      { name: 'bass', strength: 0, monitor: NaN, gain: 0 },
    ],
    realtimeFactor: 3.5,
    stepMs: 2.25,
    ringMs: 80,
    underruns: 2,
    deviceLatencyMs: 10.5,
    controlLatencyMs: NaN,
    recording: false,
    ...over,
  };
}

describe('telemetry over OSC', () => {
  const sockets: dgram.Socket[] = [];
  let out: TelemetryOut | null = null;
  afterEach(async () => {
    await out?.close();
    for (const s of sockets.splice(0)) s.close();
  });

  async function listener(): Promise<{ port: number; received: { address: string; args: unknown[] }[] }> {
    const socket = dgram.createSocket('udp4');
    sockets.push(socket);
    const received: { address: string; args: unknown[] }[] = [];
    socket.on('message', (data) => received.push(...parsePacket(data).map((m) => ({ address: m.address, args: m.args }))));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return { port: socket.address().port, received };
  }

  it('arrives at a real UDP listener with the right addresses and values', async () => {
    const a = await listener();
    const b = await listener();
    out = new TelemetryOut({ targets: [`127.0.0.1:${a.port}`, `localhost:${b.port}`] });
    out.send(telemetry()); // localhost is being resolved: only the IP target gets this one
    await new Promise((r) => setTimeout(r, 50));
    a.received.length = 0;
    out.send(telemetry());
    const want = [
      { address: '/smitin/monitor/drums', args: [0.25] },
      { address: '/smitin/gain/drums', args: [0.75] },
      { address: '/smitin/strength/drums', args: [0.5] },
      // bass has no monitor reading yet (NaN): left out
      { address: '/smitin/gain/bass', args: [0] },
      { address: '/smitin/strength/bass', args: [0] },
      { address: '/smitin/status', args: [3.5, 80, 2.25, 2, -1, 10.5] },
      { address: '/smitin/prompt-text', args: ['funk'] },
      { address: '/smitin/transport', args: [1, 120, 12.5] },
    ];
    const end = Date.now() + 2000;
    while ((a.received.length < want.length || b.received.length < want.length) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(a.received).toEqual(want);
    expect(b.received).toEqual(want);
  });

  it("carries the session's parts too: level, sampling, preset name, unknown words (what the status view shows)", async () => {
    const a = await listener();
    out = new TelemetryOut({ targets: [`127.0.0.1:${a.port}`] });
    out.send(telemetry({ peakDbfs: -6.5, temperature: 1, guidance: 1.5, preset: 'Generic 8 knobs', unknownWords: ['groovy', 'loud'] }));
    out.send(telemetry({ peakDbfs: -Infinity, unknownWords: [] }));
    const end = Date.now() + 2000;
    const got = (address: string) => a.received.filter((m) => m.address === address).map((m) => m.args);
    while (got('/smitin/transport').length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(got('/smitin/level')).toEqual([[-6.5], [-120]]);
    expect(got('/smitin/sampling')).toEqual([[1, 1.5]]);
    expect(got('/smitin/preset-name')).toEqual([['Generic 8 knobs']]);
    expect(got('/smitin/unknown-words')).toEqual([['groovy loud'], ['']]);
  });

  it('carries the check\'s deficit under --force as /smitin/deficit (multiple, gap ms, ring ms, reason), and nothing of it without one', async () => {
    const a = await listener();
    out = new TelemetryOut({ targets: [`127.0.0.1:${a.port}`] });
    out.send(telemetry({ time: 1, deficit: { multiple: 0.42, gapMs: 149.6, latencyMs: 100, reason: 'slow' } }));
    out.send(telemetry({ time: 2 }));
    out.send(telemetry({ time: 3, deficit: { multiple: 3.1, gapMs: 149.6, latencyMs: 10, reason: 'ring' } }));
    const end = Date.now() + 2000;
    while (a.received.filter((m) => m.address === '/smitin/transport').length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    // one datagram per message, in order: split the stream into its three reports at each /smitin/transport
    const reports: { address: string; args: unknown[] }[][] = [[]];
    for (const m of a.received) {
      reports.at(-1)!.push(m);
      if (m.address === '/smitin/transport') reports.push([]);
    }
    const deficitIn = (i: number) => reports[i].filter((m) => m.address === '/smitin/deficit').map((m) => m.args);
    expect(reports.slice(0, 3).map((r) => r.at(-1)?.args[2])).toEqual([1, 2, 3]);
    const [slow] = deficitIn(0);
    expect(deficitIn(0)).toHaveLength(1);
    // sent as float32: 0.42 and 149.6 come back to about 6 digits
    expect(slow[0]).toBeCloseTo(0.42, 5);
    expect(slow[1]).toBeCloseTo(149.6, 4);
    expect(slow.slice(2)).toEqual([100, 'slow']);
    expect(deficitIn(1)).toEqual([]);
    expect(deficitIn(2)).toHaveLength(1);
    expect(deficitIn(2)[0][3]).toBe('ring');
    // right after /smitin/status, where a receiver reads the real-time figures
    const order = reports[0].map((m) => m.address);
    expect(order[order.indexOf('/smitin/status') + 1]).toBe('/smitin/deficit');
  });

  it('is rate-limited to hz on virtual time (run mode drives the default scheduler), the latest report winning', () => {
    new TestScheduler((x, y) => expect(x).toEqual(y)).run(({ cold, flush }) => {
      const sent: number[] = [];
      // 50 reports 10 ms apart = 0.5 s
      const marbles = Array.from({ length: 50 }, (_, i) => `${i ? '9ms ' : ''}a`).join(' ');
      let n = 0;
      const t$ = new Subject<Telemetry>();
      cold(marbles).subscribe(() => t$.next(telemetry({ time: n++ })));
      const throttled = new TelemetryOut({ targets: ['127.0.0.1:9'], hz: 10 });
      throttled.send = (t) => void sent.push(t.time);
      throttled.connect(t$);
      flush();
      void throttled.close();
      // leading edge at 0, then one per 100 ms
      expect(sent.length).toBeGreaterThanOrEqual(5);
      expect(sent.length).toBeLessThanOrEqual(7);
      expect(sent[0]).toBe(0);
      expect(sent.at(-1)).toBe(49);
    });
  });

  it('an unreachable target is counted and reported once, never thrown', async () => {
    const issues = new IssueLog();
    const ok = await listener();
    out = new TelemetryOut({ targets: ['no-such-host.invalid:9000', `127.0.0.1:${ok.port}`, 'not a target'], issues });
    out.send(telemetry());
    const end = Date.now() + 5000;
    while (issues.count('telemetry', 'send-failed') < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 2; i++) out.send(telemetry()); // retried later, not per report
    await new Promise((r) => setTimeout(r, 50));
    expect(issues.count('telemetry', 'send-failed')).toBe(1);
    expect(issues.count('telemetry', 'bad-target')).toBe(1);
    const reports: string[] = [];
    issues.issues$.subscribe((r) => reports.push(r.message));
    expect(reports).toHaveLength(2);
    expect(reports.join('\n')).toMatch(/OSC telemetry to no-such-host\.invalid:9000 failed \(E\w+\)/);
    expect(ok.received.length).toBe(24); // 8 messages per report, 3 reports
  });

  it('parses targets and names bad ones', () => {
    expect(parseTarget('10.0.0.2:9001')).toEqual({ host: '10.0.0.2', port: 9001 });
    expect(() => parseTarget('host')).toThrow('OSC target "host": expected "host:port" with a port 1..65535');
    expect(() => parseTarget('h:70000')).toThrow('port 1..65535');
  });
});
