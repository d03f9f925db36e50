/**
 * The web surface's server: the page (assets.ts) over HTTP and the live
 * protocol over a WebSocket on the same port. Every WebSocket frame is one
 * binary OSC packet, both ways: what a page sends enters the same OSC
 * intake as UDP (one namespace, one set of flood and coalescing rules), and
 * telemetry goes out as the same messages the OSC targets get, one bundle
 * per report. A client that connects is sent the whole state at once
 * (statePackets + the latest telemetry), and again when it sends
 * /smitin/state; any OSC-over-WebSocket client works the same way.
 *
 * Stage rules: it listens on loopback unless asked (access.ts decides who
 * may come in), nothing a client sends can throw out of a handler or name
 * a file, a client that reads too slowly is skipped rather than buffered
 * without bound, and a dead one is dropped by the heartbeat.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { IssueLog } from '../control/issues.js';
import type { OscIntake } from '../control/osc-intake.js';
import { atMostPerSecond, oscBundle, stateBundle, telemetryPackets } from '../control/telemetry-out.js';
import type { SessionState, Telemetry } from '../protocol.js';
import { quoted } from '../util/printable.js';
import { checkAccess, isLoopback, TOKEN_COOKIE } from './access.js';
import { loadAssets, type Asset } from './assets.js';

export const DEFAULT_WEB_HOST = '127.0.0.1';
/** Not OSC's 9000 (UDP), and clear of the usual development servers. */
export const DEFAULT_WEB_PORT = 9080;
/** The largest frame a client may send: an OSC packet of the namespace is well under 1 KiB. */
const MAX_FRAME_BYTES = 64 * 1024;
/** Telemetry is skipped for a client with more than this waiting to be sent (a phone on a bad link). */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const MAX_CLIENTS = 32;
const HEARTBEAT_MS = 10_000;
/** How a WebSocket client is named as an OSC sender ("ws:host:port"): its own sender for the flood rules, told apart from UDP's. */
export const WEB_SENDER_PREFIX = 'ws:';

export interface WebSurfaceOptions {
  host: string;
  /** 0 picks a free port (see `port`). */
  port: number;
  /** Required from every client when set; must be set for a host beyond loopback. */
  token: string | null;
  intake: OscIntake;
  issues: IssueLog;
  /** The state a client is told on connect, read then. */
  state: () => SessionState;
  telemetry$: Observable<Telemetry>;
  /** Telemetry reports per second at most. */
  hz: number;
}

export interface WebSurface {
  readonly host: string;
  readonly port: number;
  /** The address to open, with the token when one is needed; several when listening on every interface. */
  readonly urls: string[];
  clients(): number;
  /** Sends the state to every client (the learn target or the presets changed). */
  broadcastState(): void;
  close(): Promise<void>;
}

/** Starts listening; rejects with a message naming the address and what to do when it cannot. */
export async function openWebSurface(options: WebSurfaceOptions): Promise<WebSurface> {
  if (options.token === null && !isLoopback(options.host)) throw new Error(`web surface: a token is needed to listen on ${options.host}`);
  const assets = loadAssets();
  const { issues, intake } = options;
  const rules = { token: options.token };
  const server = createServer((req, res) => {
    try {
      serve(req, res, assets, rules);
    } catch (err) {
      issues.report('web', 'internal', () => `web: a request could not be answered: ${quoted(String((err as Error)?.message))}`);
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  const clients = new Map<string, WebSocket>();
  const alive = new WeakSet<WebSocket>();
  let lastTelemetry: Telemetry | null = null;

  const send = (ws: WebSocket, packet: Uint8Array) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      issues.report('web', 'slow-client', 'web: a client reads too slowly; its telemetry is skipped until it catches up');
      return;
    }
    ws.send(packet, { binary: true }, () => undefined);
  };
  const snapshot = () => stateBundle(options.state(), lastTelemetry);

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      const path = new URL(req.url ?? '/', 'http://surface').pathname;
      const verdict = checkAccess(req, rules, true);
      if (path !== '/ws' || !verdict.ok || clients.size >= MAX_CLIENTS) {
        const [status, reason] = path !== '/ws' ? [404, 'no WebSocket here; it is at /ws'] : !verdict.ok ? [verdict.status, verdict.reason] : [503, `more than ${MAX_CLIENTS} clients`];
        issues.report('web', 'refused', () => `web: a WebSocket from ${req.socket.remoteAddress} was refused (${status}: ${quoted(reason, 120)})`);
        socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Service Unavailable'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => accept(ws, req));
    } catch (err) {
      issues.report('web', 'internal', () => `web: a WebSocket could not be opened: ${quoted(String((err as Error)?.message))}`);
      socket.destroy();
    }
  });

  const accept = (ws: WebSocket, req: IncomingMessage) => {
    const from = `${WEB_SENDER_PREFIX}${req.socket.remoteAddress}:${req.socket.remotePort}`;
    clients.set(from, ws);
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        issues.report('web', 'text-frame', () => `web: a text frame from ${from} was ignored; expected binary OSC packets (docs/control.md)`);
        return;
      }
      intake.push(asBytes(data), from);
    });
    ws.on('error', (err) => issues.report('web', 'socket-error', () => `web: ${from}: ${quoted(err.message, 120)}`));
    ws.on('close', () => clients.delete(from));
    send(ws, snapshot());
  };

  const stateRequests = intake.messages$.subscribe((m) => {
    const ws = m.address === '/smitin/state' ? clients.get(m.from) : undefined;
    if (ws) send(ws, snapshot());
  });
  const telemetrySub: Subscription = options.telemetry$.pipe(atMostPerSecond(options.hz)).subscribe((t) => {
    try {
      lastTelemetry = t;
      const bundle = oscBundle(telemetryPackets(t));
      for (const ws of clients.values()) send(ws, bundle);
    } catch (err) {
      issues.report('web', 'internal', () => `web: telemetry could not be sent: ${quoted(String((err as Error)?.message))}`);
    }
  });
  // a phone that walked out of the Wi-Fi never says goodbye
  const heartbeat = setInterval(() => {
    for (const ws of clients.values()) {
      if (!alive.has(ws)) ws.terminate();
      else {
        alive.delete(ws);
        ws.ping();
      }
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`web surface: cannot listen on ${options.host}:${options.port} (${err.code ?? err.message}); pick another with --web-port, or --no-web`)),
    );
    server.listen(options.port, options.host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : options.port);
    });
  }).catch((err) => {
    clearInterval(heartbeat);
    telemetrySub.unsubscribe();
    stateRequests.unsubscribe();
    throw err;
  });
  server.on('error', (err) => issues.report('web', 'server-error', () => `web: ${quoted(err.message, 120)}`));

  return {
    host: options.host,
    port,
    urls: surfaceUrls(options.host, port, options.token),
    clients: () => clients.size,
    broadcastState: () => {
      const bundle = snapshot();
      for (const ws of clients.values()) send(ws, bundle);
    },
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        telemetrySub.unsubscribe();
        stateRequests.unsubscribe();
        for (const ws of clients.values()) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function serve(req: IncomingMessage, res: ServerResponse, assets: Map<string, Asset>, rules: { token: string | null }): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const verdict = checkAccess(req, rules, false);
  if (!verdict.ok) {
    res.writeHead(verdict.status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${verdict.reason}\n`);
    return;
  }
  const asset = assets.get(new URL(req.url ?? '/', 'http://surface').pathname);
  if (!asset) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  const headers: Record<string, string> = {
    'Content-Type': asset.type,
    'Content-Length': String(asset.body.length),
    // a reload after an upgrade gets the page that goes with the server
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
  };
  // the page's own assets and WebSocket then carry the token without it in every URL
  if (verdict.tokenInQuery && rules.token) headers['Set-Cookie'] = `${TOKEN_COOKIE}=${rules.token}; HttpOnly; SameSite=Strict; Path=/`;
  res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : asset.body);
}

function asBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/** The URLs to open: the loopback one, or each of this machine's network addresses when listening on all of them. */
function surfaceUrls(host: string, port: number, token: string | null): string[] {
  const query = token ? `/?token=${token}` : '/';
  const hosts = host === '0.0.0.0' || host === '::' ? lanAddresses() : [host];
  return hosts.map((h) => `http://${h.includes(':') ? `[${h}]` : h}:${port}${query}`);
}

function lanAddresses(): string[] {
  const found = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === 'IPv4' && !a.internal)
    .map((a) => a.address);
  return found.length ? found : ['127.0.0.1'];
}
