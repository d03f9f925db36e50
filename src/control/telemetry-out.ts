/**
 * Telemetry out over OSC/UDP to the configured targets (a DAW, TouchOSC, a
 * Max patch): per feature /smitin/monitor/<name>, /smitin/gain/<name>,
 * /smitin/strength/<name>, then /smitin/status, /smitin/deficit (only when
 * --force plays on a machine that cannot keep up), the session's parts and
 * /smitin/transport.
 * Rate-limited to `hz` (latest telemetry wins), one datagram per message so
 * receivers that do not take bundles still work.
 *
 * Host names are resolved once (and again after a failure): a lookup per
 * datagram would let later messages overtake earlier ones. A target that
 * cannot be reached (unknown host, no route) is counted and reported once;
 * sending to the other targets goes on.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { basename } from 'node:path';
import { asyncScheduler, Observable, throttleTime, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { barBeat, CONTROL_RANGES, type SessionState, type Telemetry } from '../protocol.js';
import { IssueLog } from './issues.js';
import { OSC } from './osc-source.js';

export interface TelemetryTarget {
  host: string;
  port: number;
}

export interface TelemetryOutOptions {
  /** "host:port" strings (as in presets and --osc-target). */
  targets: readonly string[];
  /** Sends per second at most. */
  hz?: number;
  issues?: IssueLog;
  scheduler?: SchedulerLike;
}

export const DEFAULT_TELEMETRY_HZ = 10;
/** After a failed host lookup, try again this much later, ms. */
const LOOKUP_RETRY_MS = 5000;

/** "host:port" -> target, or an error naming the string and what was expected. */
export function parseTarget(s: string): TelemetryTarget {
  const m = /^(.+):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`OSC target ${JSON.stringify(s)}: expected "host:port" with a port 1..65535`);
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port };
}

/** At most `hz` reports a second, the first at once and the latest of each period after it: what every telemetry receiver gets. */
export function atMostPerSecond(hz: number, scheduler: SchedulerLike = asyncScheduler): MonoTypeOperatorFunction<Telemetry> {
  return throttleTime(1000 / hz, scheduler, { leading: true, trailing: true });
}

/** The level sent for silence (OSC receivers handle -inf badly). */
const SILENCE_DBFS = -120;

const message = (address: string, args: { type: string; value: unknown }[]): Uint8Array => new OSC.TypedMessage(address, args as never).pack();
const strings = (values: readonly string[]) => values.map((value) => ({ type: 's', value }));

/** The OSC messages that tell a client the session's state beyond telemetry (sent on connect and on /smitin/state). */
export function statePackets(s: SessionState): Uint8Array[] {
  return [
    message('/smitin/features', strings(s.features)),
    message('/smitin/known-words', [{ type: 's', value: (s.knownWords ?? []).join(' ') }]),
    message('/smitin/preset-names', strings(s.presetNames)),
    ...Object.entries(CONTROL_RANGES).map(([name, r]) => message(`/smitin/range/${name}`, [{ type: 'f', value: r.min }, { type: 'f', value: r.max }])),
    message('/smitin/learning', [{ type: 's', value: s.learning ?? '' }]),
    message('/smitin/loop-bars', [{ type: 'i', value: s.loopBars }]),
  ];
}

/** The whole state as one bundle: what a client is told when it connects or asks with /smitin/state. */
export function stateBundle(state: SessionState, last: Telemetry | null): Uint8Array {
  return oscBundle([...statePackets(state), ...(last ? telemetryPackets(last) : [])]);
}

/** Packed OSC messages as one bundle, to be applied at once (timetag 1: immediately). */
export function oscBundle(packets: readonly Uint8Array[]): Uint8Array {
  const size = 16 + packets.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode('#bundle\0'), 0);
  view.setUint32(12, 1);
  let at = 16;
  for (const p of packets) {
    view.setInt32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** The OSC messages for one telemetry report, encoded. NaN readings (no monitor value yet) are left out. */
export function telemetryPackets(t: Telemetry): Uint8Array[] {
  const out: Uint8Array[] = [];
  const float = (address: string, v: number) => {
    if (Number.isFinite(v)) out.push(message(address, [{ type: 'f', value: v }]));
  };
  for (const f of t.features) {
    float(`/smitin/monitor/${f.name}`, f.monitor);
    float(`/smitin/gain/${f.name}`, f.gain);
    float(`/smitin/strength/${f.name}`, f.strength);
  }
  const finiteOr = (v: number, fallback: number) => (Number.isFinite(v) ? v : fallback);
  out.push(
    message('/smitin/status', [
      { type: 'f', value: finiteOr(t.realtimeFactor, 0) },
      { type: 'f', value: finiteOr(t.ringMs, 0) },
      { type: 'f', value: finiteOr(t.stepMs, 0) },
      { type: 'i', value: Math.max(0, Math.min(2 ** 31 - 1, Math.round(t.underruns))) },
      // -1: not measured yet (OSC receivers handle NaN badly)
      { type: 'f', value: finiteOr(t.controlLatencyMs, -1) },
      { type: 'f', value: finiteOr(t.deviceLatencyMs, -1) },
    ]),
  );
  // only when the session plays although the check at start found this machine too slow (--force): the figures
  // never change during a session. A sibling of /smitin/status, not /smitin/status/deficit: in OSC 1.0 an address
  // is a method or a container, never both (a receiver that keeps its addresses as a tree cannot hold both).
  if (t.deficit) {
    const d = t.deficit;
    out.push(
      message('/smitin/deficit', [
        { type: 'f', value: finiteOr(d.multiple, 0) },
        { type: 'f', value: finiteOr(d.gapMs, -1) },
        { type: 'f', value: finiteOr(d.latencyMs, -1) },
        { type: 's', value: d.reason },
      ]),
    );
  }
  if (t.take !== undefined) {
    // 0 and an empty name when no take is being recorded, so a receiver's display clears
    out.push(
      message('/smitin/take', [
        { type: 'i', value: t.take ? 1 : 0 },
        { type: 's', value: t.take ? basename(t.take.file) : '' },
        { type: 'f', value: t.take ? t.take.seconds : 0 },
      ]),
    );
  }
  // the session's parts of the report: a tablet shows the same as the status view
  if (t.peakDbfs !== undefined) float('/smitin/level', Number.isFinite(t.peakDbfs) ? t.peakDbfs : SILENCE_DBFS);
  if (t.temperature !== undefined && t.guidance !== undefined) {
    out.push(message('/smitin/sampling', [{ type: 'f', value: t.temperature }, { type: 'f', value: t.guidance }]));
  }
  out.push(message('/smitin/prompt-text', [{ type: 's', value: t.prompt }]));
  if (t.looping !== undefined) out.push(message('/smitin/looping', [{ type: 'i', value: t.looping }]));
  for (const [name, e] of Object.entries(t.effects ?? {})) {
    out.push(message(`/smitin/effect/${name}`, [{ type: 's', value: e.direction }, { type: 's', value: e.state }, { type: 'f', value: e.beats }]));
  }
  if (t.beats !== undefined) {
    const { bar, beat } = barBeat(t.beats);
    out.push(message('/smitin/position', [{ type: 'i', value: bar }, { type: 'i', value: beat }, { type: 'f', value: t.beats }]));
  }
  if (t.preset !== undefined) out.push(message('/smitin/preset-name', [{ type: 's', value: t.preset }]));
  if (t.unknownWords !== undefined) out.push(message('/smitin/unknown-words', [{ type: 's', value: t.unknownWords.join(' ') }]));
  for (const [kind, count] of Object.entries(t.issues ?? {})) {
    out.push(message(`/smitin/issues/${kind}`, [{ type: 'i', value: Math.min(2 ** 31 - 1, count) }]));
  }
  out.push(
    message('/smitin/transport', [
      { type: 'i', value: t.playing ? 1 : 0 },
      { type: 'f', value: finiteOr(t.tempo, 0) },
      { type: 'f', value: finiteOr(t.time, 0) },
    ]),
  );
  return out;
}

export class TelemetryOut {
  readonly issues: IssueLog;
  readonly targets: TelemetryTarget[] = [];
  /** Resolved IP per target ('' while a lookup is under way or after one failed). */
  private readonly addresses = new Map<TelemetryTarget, string>();
  private readonly retryAfter = new Map<TelemetryTarget, number>();
  private readonly socket = dgram.createSocket('udp4');
  private readonly hz: number;
  private readonly scheduler: SchedulerLike;
  private closed = false;
  /** Datagrams handed to the socket. */
  sent = 0;

  constructor(options: TelemetryOutOptions) {
    this.issues = options.issues ?? new IssueLog();
    this.hz = options.hz ?? DEFAULT_TELEMETRY_HZ;
    this.scheduler = options.scheduler ?? asyncScheduler;
    for (const s of options.targets) {
      try {
        this.targets.push(parseTarget(s));
      } catch (err) {
        this.issues.report('telemetry', 'bad-target', (err as Error).message);
      }
    }
    // without a listener a socket error would be thrown as an uncaught exception
    this.socket.on('error', (err) => this.issues.report('telemetry', 'socket-error', `OSC telemetry socket: ${err.message}`));
    this.socket.unref();
  }

  /** Sends the telemetry stream, at most `hz` reports a second (the latest wins). */
  connect(telemetry$: Observable<Telemetry>): Subscription {
    return telemetry$
      .pipe(atMostPerSecond(this.hz, this.scheduler))
      .subscribe({ next: (t) => this.send(t), error: (err) => this.issues.report('telemetry', 'stream-error', `telemetry stream failed: ${(err as Error).message}`) });
  }

  /** Sends one report now to every target. */
  send(t: Telemetry): void {
    if (this.closed || this.targets.length === 0) return;
    let packets: Uint8Array[];
    try {
      packets = telemetryPackets(t);
    } catch (err) {
      this.issues.report('telemetry', 'encode-failed', `telemetry could not be encoded as OSC: ${(err as Error).message}`);
      return;
    }
    this.sendPackets(packets);
  }

  /**
   * Sends packets now to every target: /smitin/state over UDP is answered
   * here, to the targets the user configured, never to the sender's address
   * (a spoofed sender would turn a 16-byte request into a kilobyte aimed at
   * someone else).
   */
  sendPackets(packets: readonly Uint8Array[]): void {
    if (this.closed) return;
    for (const target of this.targets) {
      const address = this.address(target);
      if (!address) continue;
      for (const p of packets) {
        try {
          this.socket.send(p, target.port, address, (err) => {
            if (err) this.issues.report('telemetry', 'send-failed', `OSC telemetry to ${target.host}:${target.port} failed (${(err as NodeJS.ErrnoException).code ?? err.message}); still trying`);
          });
          this.sent += 1;
        } catch (err) {
          this.issues.report('telemetry', 'send-failed', `OSC telemetry to ${target.host}:${target.port} failed (${(err as Error).message}); still trying`);
        }
      }
    }
  }

  /** The target's IP, or '' while it is being resolved (that report is skipped for it). */
  private address(target: TelemetryTarget): string {
    if (isIP(target.host)) return target.host;
    const known = this.addresses.get(target);
    if (known !== undefined) return known;
    if (Date.now() < (this.retryAfter.get(target) ?? 0)) return '';
    this.addresses.set(target, '');
    lookup(target.host, { family: 4 }, (err, ip) => {
      if (err || !ip) {
        this.addresses.delete(target);
        this.retryAfter.set(target, Date.now() + LOOKUP_RETRY_MS);
        this.issues.report('telemetry', 'send-failed', `OSC telemetry to ${target.host}:${target.port} failed (${err?.code ?? 'no address'}); still trying`);
      } else {
        this.addresses.set(target, ip);
      }
    });
    return '';
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
