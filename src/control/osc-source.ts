/**
 * OSC in over UDP: osc-js's DatagramPlugin owns the socket, osc-js's Packet
 * parses, and every message (bundles flattened) comes out of one Observable.
 *
 * osc-js's own dispatcher is bypassed on purpose: it builds a RegExp from
 * each incoming address (an address with '[' throws), schedules future
 * bundle timetags with setTimeout, and drops the sender of nested bundles.
 * A live control input wants none of that: messages apply when they arrive
 * (timetags are ignored), and nothing a sender does can throw out of the
 * socket handler. Malformed packets and floods are counted in the IssueLog,
 * the first of each kind reported, and the stream goes on.
 */
import type { Socket } from 'node:dgram';
import { createRequire } from 'node:module';
type OscJs = (typeof import('osc-js'))['default'];
import { Observable, Subject } from 'rxjs';
import { IssueLog } from './issues.js';

/** An argument as the control layer sees it ('T'/'F' -> boolean, 'N' -> null, 'I' -> Infinity, int64 -> number). */
export type OscArg = number | string | boolean | null | Uint8Array;

export interface OscMessage {
  address: string;
  args: OscArg[];
  /** OSC type tags without the comma, e.g. 'f', 'si'. */
  types: string;
  /** Sender as "host:port". */
  from: string;
}

export interface OscSourceOptions {
  /** Interface to listen on; 0.0.0.0 so a tablet on the LAN reaches it, 127.0.0.1 for this machine only. */
  host?: string;
  /** UDP port; 0 picks a free one (see `ready`). */
  port: number;
  /** Messages accepted per second before the excess is dropped as a flood. */
  maxMessagesPerSecond?: number;
  issues?: IssueLog;
  /** Clock in ms, injectable so flood limits are testable. */
  now?: () => number;
}

export const DEFAULT_OSC_HOST = '0.0.0.0';
/** A TouchOSC page of 10 faders at 60 Hz is 600/s; 2000/s leaves room and stops a runaway loop. */
export const DEFAULT_MAX_OSC_MESSAGES_PER_SECOND = 2000;
/**
 * osc-js ships a UMD bundle whose declarations say `export default` while
 * Node's ESM loader hands over module.exports itself; require() gives the
 * class on both sides of that disagreement.
 */
export const OSC = createRequire(import.meta.url)('osc-js') as OscJs;

/** Bundles inside bundles deeper than this are malformed for our purposes (no controller nests that deep). */
const MAX_BUNDLE_DEPTH = 8;

/** The parts of osc-js's DatagramPlugin its type declarations mark private but which are its documented plugin contract. */
interface DatagramPluginInternals {
  socket: Socket;
  registerNotify(fn: (...args: unknown[]) => void): void;
  open(options?: { host?: string; port?: number; exclusive?: boolean }): void;
  close(): void;
}

export interface OscSource {
  readonly messages$: Observable<OscMessage>;
  /** Resolves with the bound address once listening; rejects (with the host, port and reason) when the port cannot be bound. */
  readonly ready: Promise<{ host: string; port: number }>;
  readonly issues: IssueLog;
  close(): Promise<void>;
}

export function openOscSource(options: OscSourceOptions): OscSource {
  const host = options.host ?? DEFAULT_OSC_HOST;
  const issues = options.issues ?? new IssueLog();
  const now = options.now ?? Date.now;
  const limit = options.maxMessagesPerSecond ?? DEFAULT_MAX_OSC_MESSAGES_PER_SECOND;
  const messages = new Subject<OscMessage>();
  const plugin = new OSC.DatagramPlugin({ open: { host, port: options.port } } as object) as unknown as DatagramPluginInternals;

  let windowStart = now();
  let inWindow = 0;
  const admit = (from: string): boolean => {
    const t = now();
    if (t - windowStart >= 1000) {
      windowStart = t;
      inWindow = 0;
    }
    inWindow += 1;
    if (inWindow <= limit) return true;
    issues.report('osc', 'flood', `OSC: more than ${limit} messages/s from ${from}; dropping the excess until the rate falls (is a sender stuck in a loop?)`);
    return false;
  };

  let opened = false;
  let closed = false;
  let settle: { resolve: (a: { host: string; port: number }) => void; reject: (e: Error) => void };
  const ready = new Promise<{ host: string; port: number }>((resolve, reject) => (settle = { resolve, reject }));
  // A caller that never awaits `ready` must not get an unhandled rejection: the issue is reported anyway.
  ready.catch(() => undefined);
  let onClosed: (() => void) | undefined;

  const onPacket = (data: Buffer, rinfo: { address: string; port: number }): void => {
    const from = `${rinfo.address}:${rinfo.port}`;
    let parsed: OscMessage[];
    try {
      parsed = parsePacket(data, from);
    } catch (err) {
      issues.report('osc', 'malformed', `OSC: malformed packet of ${data.length} bytes from ${from} (${(err as Error).message}); expected an OSC message or bundle`);
      return;
    }
    for (const m of parsed) if (admit(from)) messages.next(m);
  };

  plugin.registerNotify((...args: unknown[]) => {
    // This runs inside the socket's event handlers: nothing may escape it.
    try {
      const [first, second] = args;
      if (first === 'open') {
        opened = true;
        const address = plugin.socket.address();
        settle.resolve({ host: address.address, port: address.port });
      } else if (first === 'close') {
        onClosed?.();
      } else if (first === 'error') {
        const err = second as NodeJS.ErrnoException;
        if (!opened) {
          const message = `OSC: cannot listen on ${host}:${options.port} (${err.code ?? err.message}); is another program using the port? Pick another with --osc-port`;
          issues.report('osc', 'bind-failed', message);
          settle.reject(new Error(message));
        } else {
          issues.report('osc', 'socket-error', `OSC: socket error on ${host}:${options.port}: ${err.message}`);
        }
      } else if (first instanceof Uint8Array) {
        onPacket(Buffer.from(first.buffer, first.byteOffset, first.byteLength), second as { address: string; port: number });
      }
    } catch (err) {
      issues.report('osc', 'internal', `OSC: a packet could not be handled: ${(err as Error).message}`);
    }
  });
  plugin.open({ host, port: options.port });

  return {
    messages$: messages.asObservable(),
    ready,
    issues,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        messages.complete();
        onClosed = resolve;
        try {
          plugin.close();
        } catch {
          // never bound (bind failed): nothing to close
          resolve();
        }
      }),
  };
}

/** Parses one UDP payload into its messages, bundles flattened in order. Throws on anything that is not OSC. */
export function parsePacket(data: Uint8Array, from = ''): OscMessage[] {
  if (data.byteLength === 0) throw new Error('empty packet');
  const packet = new OSC.Packet();
  packet.unpack(new DataView(data.buffer, data.byteOffset, data.byteLength));
  const out: OscMessage[] = [];
  flatten(packet.value, from, out, 0);
  return out;
}

function flatten(value: unknown, from: string, out: OscMessage[], depth: number): void {
  if (value instanceof OSC.Bundle) {
    if (depth >= MAX_BUNDLE_DEPTH) throw new Error(`bundles nested deeper than ${MAX_BUNDLE_DEPTH}`);
    for (const element of value.bundleElements) flatten(element, from, out, depth + 1);
  } else if (value instanceof OSC.Message) {
    const types = value.types.startsWith(',') ? value.types.slice(1) : value.types;
    out.push({ address: value.address, types, args: value.args.map((a, i) => toArg(a, types[i])), from });
  } else {
    throw new Error('neither a message nor a bundle');
  }
}

function toArg(value: unknown, type: string | undefined): OscArg {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' && type === 'f') return shortestFloat32(value);
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' || value === null) return value;
  if (value instanceof Uint8Array) return value;
  return null;
}

/**
 * A float32 arg arrives as its exact binary value (0.7 -> 0.699999988...).
 * The sender typed 0.7, so the shortest decimal that is the same float32 is
 * what it meant and what the status view should show.
 */
export function shortestFloat32(x: number): number {
  if (!Number.isFinite(x)) return x;
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(x.toPrecision(digits));
    if (Math.fround(candidate) === x) return candidate;
  }
  return x;
}
