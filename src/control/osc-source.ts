/**
 * OSC in over UDP: a dgram socket of our own feeding the OSC intake
 * (osc-intake.ts: a strict decoder of our own, since osc-js's is 50x slower
 * and lenient with garbage, and the coalescer), shared with the web
 * surface's WebSocket so both transports obey one set of flood rules.
 *
 * The socket is ours, not osc-js's DatagramPlugin: the receive buffer has
 * to be set on the bound socket before a burst arrives, which the plugin
 * only allows through fields its types mark private, and the plugin adds
 * nothing else a receiver needs (its close() even throws on a socket that
 * never bound). osc-js's dispatcher is bypassed too: it builds a RegExp from
 * each incoming address (an address with '[' throws), schedules future
 * bundle timetags with setTimeout, and drops the sender of nested bundles.
 * A live control input wants none of that: messages apply when they arrive
 * (timetags are ignored), and nothing a sender does can throw out of the
 * socket handler.
 */
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
type OscJs = (typeof import('osc-js'))['default'];
import type { Observable } from 'rxjs';
import type { IssueLog } from './issues.js';
import { openOscIntake, type OscIntake, type OscIntakeOptions, type OscIntakeStats, type OscMessage } from './osc-intake.js';

export { shortestFloat32 } from './osc-decode.js';
export { DISCRETE_OSC_ADDRESSES, CONTINUOUS_OSC_ADDRESSES } from './coalesce.js';
export { MAX_OSC_BUNDLE_DEPTH, parsePacket, type OscArg, type OscMessage } from './osc-intake.js';

export interface OscSourceOptions extends OscIntakeOptions {
  /** Interface to listen on; 127.0.0.1 (this machine only) unless asked, 0.0.0.0 so a tablet on the LAN reaches it. */
  host?: string;
  /** UDP port; 0 picks a free one (see `ready`). */
  port: number;
  /** Receive buffer asked of the kernel, bytes; what it granted is in `ready` and `stats()`. */
  recvBufferBytes?: number;
  /** The intake to feed (shared with the web surface); one of its own when not given, closed with the socket. */
  intake?: OscIntake;
}

export const DEFAULT_OSC_HOST = '127.0.0.1';
/**
 * 4 MiB holds thousands of small packets: a flood that arrives while the
 * main thread is busy waits in it instead of being dropped by the kernel
 * (Node reads at most 32 datagrams per socket per event-loop turn, so a
 * slow turn is when a burst piles up). With the 208 KiB default, a 10,000
 * msg/s flood lost 5 % of its packets, prompts among them; with 4 MiB,
 * none. Linux caps it at net.core.rmem_max and reports twice what it
 * grants (its bookkeeping included).
 */
export const DEFAULT_OSC_RECV_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * osc-js, kept for encoding (telemetry out, tests). It ships a UMD bundle
 * whose declarations say `export default` while Node's ESM loader hands
 * over module.exports itself; require() gives the class on both sides of
 * that disagreement.
 */
export const OSC = createRequire(import.meta.url)('osc-js') as OscJs;

export interface OscListening {
  host: string;
  port: number;
  /** Receive buffer the kernel granted, bytes, as it reports it (0 when it could not be read). */
  recvBufferBytes: number;
}

export interface OscSourceStats extends OscIntakeStats {
  recvBufferBytes: number;
}

export interface OscSource {
  readonly messages$: Observable<OscMessage>;
  /** Resolves with the bound address once listening; rejects (with the host, port and reason) when the port cannot be bound. */
  readonly ready: Promise<OscListening>;
  readonly issues: IssueLog;
  /** Counters for tests, benches and the status view; cheap. */
  stats(): OscSourceStats;
  close(): Promise<void>;
}

export function openOscSource(options: OscSourceOptions): OscSource {
  const host = options.host ?? DEFAULT_OSC_HOST;
  const intake = options.intake ?? openOscIntake(options);
  const ownIntake = options.intake === undefined;
  const issues = intake.issues;
  const counts = { recvBufferBytes: 0 };
  const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });

  let opened = false;
  let closed = false;
  let socketClosed = false;
  let settle!: { resolve: (a: OscListening) => void; reject: (e: Error) => void };
  const ready = new Promise<OscListening>((resolve, reject) => (settle = { resolve, reject }));
  // A caller that never awaits `ready` must not get an unhandled rejection: the issue is reported anyway.
  ready.catch(() => undefined);

  // These run inside the socket's event handlers: nothing may escape them.
  socket.on('message', (data, rinfo) => intake.push(data, `${rinfo.address}:${rinfo.port}`));
  socket.on('listening', () => {
    try {
      opened = true;
      counts.recvBufferBytes = setRecvBuffer(socket, options.recvBufferBytes ?? DEFAULT_OSC_RECV_BUFFER_BYTES, issues);
      const address = socket.address();
      settle.resolve({ host: address.address, port: address.port, recvBufferBytes: counts.recvBufferBytes });
    } catch (err) {
      issues.report('osc', 'internal', () => `OSC: listening, but the socket could not be read back: ${(err as Error).message}`);
    }
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    try {
      if (!opened) {
        const message = `OSC: cannot listen on ${host}:${options.port} (${err.code ?? err.message}); is another program using the port? Pick another with --osc-port`;
        issues.report('osc', 'bind-failed', message);
        settle.reject(new Error(message));
      } else {
        issues.report('osc', 'socket-error', `OSC: socket error on ${host}:${options.port}: ${err.message}`);
      }
    } catch {
      // the report itself failed: nothing more to do from inside the socket
    }
  });
  socket.on('close', () => (socketClosed = true));
  try {
    socket.bind({ address: host, port: options.port });
  } catch (err) {
    // a port out of range throws synchronously; it is the same failure as a port in use
    const message = `OSC: cannot listen on ${host}:${options.port} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pick another with --osc-port`;
    issues.report('osc', 'bind-failed', message);
    settle.reject(new Error(message));
  }

  return {
    messages$: intake.messages$,
    ready,
    issues,
    stats: () => ({ ...intake.stats(), ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        if (ownIntake) intake.close();
        if (!opened) settle.reject(new Error(`OSC: closed before listening on ${host}:${options.port}`));
        if (socketClosed) return resolve();
        try {
          socket.close(() => resolve());
        } catch {
          // never bound, or closed already: nothing to close
          resolve();
        }
      }),
  };
}

/** Asks for `bytes` of receive buffer; returns what the kernel reports it granted (0 when unknown). */
function setRecvBuffer(socket: dgram.Socket, bytes: number, issues: IssueLog): number {
  try {
    socket.setRecvBufferSize(bytes);
  } catch (err) {
    issues.report('osc', 'recv-buffer', `OSC: could not set a ${bytes}-byte receive buffer (${(err as Error).message}); using the system default`);
  }
  try {
    return socket.getRecvBufferSize();
  } catch {
    return 0;
  }
}
