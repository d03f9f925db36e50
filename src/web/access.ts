/**
 * Who may use the web surface. On loopback (the default) only this
 * machine's browsers reach it, so no token; a page of some other web site
 * open in the same browser still could, so the Host header must name this
 * machine (a DNS-rebound name is refused) and a WebSocket's Origin must be
 * the surface's own. Opened to a network (--web-host), a stage network is
 * shared: every request, page and WebSocket alike, must carry the token
 * printed at start (in the URL's ?token=, a cookie the page gets when it is
 * opened with it, or an Authorization: Bearer header).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'smitin_token';

/** A fresh token: 128 bits, URL-safe. */
export function newToken(): string {
  return randomBytes(16).toString('base64url');
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export type Verdict = { ok: true; tokenInQuery: boolean } | { ok: false; status: 401 | 403; reason: string };

export interface AccessRules {
  /** Required from every client when set (a surface open beyond loopback); without one, only this machine's names are served. */
  token: string | null;
}

/** Whether a request (page, asset or WebSocket upgrade) may go on; `upgrade` adds the Origin check. */
export function checkAccess(req: IncomingMessage, rules: AccessRules, upgrade: boolean): Verdict {
  const host = req.headers.host ?? '';
  if (rules.token === null && !isLoopback(hostName(host))) return { ok: false, status: 403, reason: `Host ${JSON.stringify(host)} is not this machine` };
  if (upgrade) {
    const origin = req.headers.origin;
    // browsers always send Origin on a WebSocket; a native OSC-over-WebSocket client sends none and is judged by the token
    if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`) return { ok: false, status: 403, reason: `Origin ${JSON.stringify(origin)} is not this surface` };
  }
  if (rules.token === null) return { ok: true, tokenInQuery: false };
  const query = new URL(req.url ?? '/', 'http://surface').searchParams.get('token');
  const given = query ?? cookie(req.headers.cookie, TOKEN_COOKIE) ?? bearer(req.headers.authorization);
  if (given === null) return { ok: false, status: 401, reason: 'no token (open the URL printed at start, with its ?token=)' };
  if (!sameSecret(given, rules.token)) return { ok: false, status: 403, reason: 'wrong token' };
  return { ok: true, tokenInQuery: query !== null };
}

/** The host part of a Host header ("[::1]:9080" -> "::1"). */
function hostName(header: string): string {
  const m = /^\[([^\]]*)\](?::\d+)?$/.exec(header) ?? /^([^:]*)(?::\d+)?$/.exec(header);
  return m ? m[1].toLowerCase() : '';
}

function cookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
}

function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m ? m[1] : null;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
