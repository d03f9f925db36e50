/**
 * Where OSC packets enter, whatever carried them (UDP, the web surface's
 * WebSocket): each packet is parsed as it arrives and pushed into the
 * coalescer (coalesce.ts); a setImmediate flush hands on what it holds, so
 * a burst read in one I/O turn becomes one emission per address. One intake
 * serves every transport, so the flood and coalescing rules are the same
 * for all of them and a sender is a sender however it connects.
 *
 * Malformed packets and floods are counted in the IssueLog (the first of
 * each kind reported) and the stream goes on: push() never throws.
 */
import { Observable, Subject } from 'rxjs';
import { OscCoalescer, type CoalescerOptions, type CoalescerStats } from './coalesce.js';
import { IssueLog } from './issues.js';
import { decodeOscPacket } from './osc-decode.js';
import { quoted } from '../util/printable.js';

/** An argument as the control layer sees it ('T'/'F' -> boolean, 'N' -> null, 'I' -> Infinity, int64 -> number). */
export type OscArg = number | string | boolean | null | Uint8Array;

export interface OscMessage {
  address: string;
  args: OscArg[];
  /** OSC type tags without the comma, e.g. 'f', 'si'. */
  types: string;
  /** Sender as "host:port" (UDP) or "ws:host:port" (the web surface). */
  from: string;
}

/** Bundles inside bundles deeper than this are malformed for our purposes (no controller nests that deep). */
export const MAX_OSC_BUNDLE_DEPTH = 8;

export interface OscIntakeOptions extends Omit<CoalescerOptions, 'issues' | 'now'> {
  issues?: IssueLog;
  /** Clock in ms, injectable so rate limits are testable. */
  now?: () => number;
}

export interface OscIntakeStats extends CoalescerStats {
  /** Packets pushed, their bytes, and those that were not OSC. */
  packets: number;
  bytes: number;
  malformed: number;
  flushes: number;
}

export interface OscIntake {
  readonly messages$: Observable<OscMessage>;
  readonly issues: IssueLog;
  /** One packet from `from`: parsed now, handed on at the next flush. Never throws. */
  push(data: Uint8Array, from: string): void;
  stats(): OscIntakeStats;
  /** Completes messages$; later packets are ignored. */
  close(): void;
}

export function openOscIntake(options: OscIntakeOptions = {}): OscIntake {
  const issues = options.issues ?? new IssueLog();
  const coalescer = new OscCoalescer({ ...options, issues, now: options.now ?? Date.now });
  const messages = new Subject<OscMessage>();
  const counts = { packets: 0, bytes: 0, malformed: 0, flushes: 0 };
  let closed = false;
  let immediate: NodeJS.Immediate | undefined;
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    immediate = undefined;
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (closed) return;
    try {
      const out = coalescer.drain();
      counts.flushes += 1;
      for (const m of out) messages.next(m);
      // discrete messages held back by a sender's rate go when it allows, even if no packet comes to trigger a flush
      const wait = coalescer.nextDrainMs();
      if (wait !== undefined) timer = setTimeout(flush, wait);
    } catch (err) {
      issues.report('osc', 'internal', () => `OSC: messages could not be handed on: ${quoted(String((err as Error)?.message))}`);
    }
  };

  const onPacket = (data: Uint8Array, from: string): void => {
    counts.packets += 1;
    counts.bytes += data.length;
    let parsed: OscMessage[];
    try {
      parsed = parsePacket(data, from);
    } catch (err) {
      counts.malformed += 1;
      issues.report(
        'osc',
        'malformed',
        () => `OSC: malformed packet of ${data.length} bytes from ${from} (${quoted(String((err as Error)?.message))}); expected an OSC message or bundle`,
      );
      return;
    }
    for (const m of parsed) coalescer.push(m);
    if (immediate === undefined && (coalescer.hasWaiting || (coalescer.hasQueued && timer === undefined))) immediate = setImmediate(flush);
  };

  return {
    messages$: messages.asObservable(),
    issues,
    push: (data, from) => {
      if (closed) return;
      // called from socket handlers: nothing may escape
      try {
        onPacket(data, from);
      } catch (err) {
        issues.report('osc', 'internal', () => `OSC: a packet could not be handled: ${quoted(String((err as Error)?.message))}`);
      }
    },
    stats: () => ({ ...coalescer.stats(), ...counts }),
    close: () => {
      if (closed) return;
      closed = true;
      if (immediate) clearImmediate(immediate);
      if (timer) clearTimeout(timer);
      messages.complete();
    },
  };
}

/** Parses one packet into its messages, bundles flattened in order. Throws on anything that is not well-formed OSC. */
export function parsePacket(data: Uint8Array, from = ''): OscMessage[] {
  return decodeOscPacket(data, from, MAX_OSC_BUNDLE_DEPTH);
}
