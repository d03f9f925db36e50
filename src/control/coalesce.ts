/**
 * What the OSC source does between parsing a packet and handing messages
 * on, so that a flood can neither lose the latest value nor grow memory:
 *
 * - Continuous controls (a strength, tempo, temperature, guidance) only
 *   ever need their latest value: each address keeps one slot, a newer
 *   valid value replaces the older one, and the slot is handed on at the
 *   next drain. They are never limited by rate; coalescing makes a flood
 *   of them cost one emission per address per drain.
 * - Discrete commands (prompt, preset, record, play, stop, learn) each mean
 *   something, in order. Each sender gets a token bucket (50/s, a burst of
 *   50) and, past that, a FIFO of 32; when the FIFO is full the oldest is
 *   dropped and counted as 'flood': the performer's latest intent (the last
 *   prompt, the last play/stop) is what must hold after a flood, and what
 *   sat longest in a full queue is already stale.
 * - Anything else (an unknown address, a control with a wrong or
 *   non-finite argument) is passed on unchanged, so the namespace reports
 *   it under its own kind, but at most 64 of them per drain: a fuzzer
 *   cannot make a drain hold an unbounded list.
 *
 * A stale or invalid value never replaces a valid one: only a single
 * finite number takes a continuous slot. Drained messages come out in the
 * order their retained message arrived (a slot moves to the end when it is
 * updated), so 'drums 0.2, preset x, drums 0.5' still ends on drums 0.5
 * after the preset's initial values.
 *
 * Memory is bounded by construction: slots <= the known addresses (+
 * maxAddresses when the model's features are not given), discrete entries
 * per drain <= senders * burst, queues <= maxSenders * discreteQueue, and
 * the table of senders <= maxSenders.
 */
import { quoted } from '../util/printable.js';
import { IssueLog } from './issues.js';
import type { OscMessage } from './osc-intake.js';
import { FEATURE_PREFIX, OSC_INPUTS } from './osc-namespace.js';

/** Addresses whose messages are commands in their own right and keep their order: the namespace's discrete inputs. */
export const DISCRETE_OSC_ADDRESSES: ReadonlySet<string> = new Set(OSC_INPUTS.filter((s) => s.kind === 'discrete').map((s) => s.address));
/** Continuous controls with a fixed address; /smitin/feature/<name> are the others. */
export const CONTINUOUS_OSC_ADDRESSES: ReadonlySet<string> = new Set(OSC_INPUTS.filter((s) => s.kind === 'continuous' && !s.address.includes('<')).map((s) => s.address));
export { FEATURE_PREFIX as FEATURE_ADDRESS_PREFIX };


export const DEFAULT_DISCRETE_PER_SECOND = 50;
export const DEFAULT_DISCRETE_QUEUE = 32;
/** Senders tracked for discrete rate limits; a LAN session has a handful. */
export const DEFAULT_MAX_OSC_SENDERS = 64;
/** Continuous addresses outside the known set held per drain (only when the model's features are not given). */
export const DEFAULT_MAX_OSC_ADDRESSES = 256;
/** Unknown or invalid messages passed on per drain for the namespace to report; the excess is only counted. */
export const DEFAULT_MAX_INVALID_PER_DRAIN = 64;
/** No address of the namespace comes near this; longer ones are counted as unknown here, not carried on. */
export const MAX_OSC_ADDRESS_LENGTH = 256;

export interface CoalescerOptions {
  /** The model's features: /smitin/feature/<other> is passed on as invalid (the namespace reports it), not coalesced. */
  features?: readonly string[];
  /** Discrete messages per second per sender, and the burst allowed above that (default: the same number). */
  discretePerSecond?: number;
  discreteBurst?: number;
  /** Discrete messages a sender may have waiting beyond its rate; past this the oldest is dropped. */
  discreteQueue?: number;
  maxSenders?: number;
  maxAddresses?: number;
  maxInvalidPerDrain?: number;
  issues?: IssueLog;
  /** Clock in ms. */
  now?: () => number;
}

export interface CoalescerStats {
  /** Messages pushed. */
  messages: number;
  /** Messages handed on by drains. */
  emitted: number;
  /** Continuous values replaced by a newer one before they were handed on. */
  coalesced: number;
  /** Discrete messages that waited for their sender's rate. */
  delayed: number;
  /** Messages dropped here, by reason (each also counted in the IssueLog). */
  dropped: { flood: number; senders: number; addresses: number; invalid: number; longAddress: number };
  /** Now: entries waiting for the next drain, discrete messages queued, senders tracked. */
  waiting: number;
  queued: number;
  senders: number;
  /** High-water marks since start, to show memory stays bounded. */
  peakWaiting: number;
  peakQueued: number;
  peakSenders: number;
}

interface Sender {
  tokens: number;
  /** When tokens were last refilled, ms. */
  at: number;
  queue: OscMessage[];
}

export class OscCoalescer {
  private readonly issues: IssueLog;
  private readonly now: () => number;
  private readonly features: ReadonlySet<string> | null;
  private readonly rate: number;
  private readonly burst: number;
  private readonly queueLength: number;
  private readonly maxSenders: number;
  private readonly maxAddresses: number;
  private readonly maxInvalid: number;
  /** Ready for the next drain, in arrival order: continuous by address, the rest by '#'+sequence (addresses start with '/'). */
  private readonly waiting = new Map<string, OscMessage>();
  private readonly senders = new Map<string, Sender>();
  private seq = 0;
  private extraAddresses = 0;
  private invalidThisDrain = 0;
  private queued = 0;
  private readonly counters = { messages: 0, emitted: 0, coalesced: 0, delayed: 0, peakWaiting: 0, peakQueued: 0, peakSenders: 0 };
  private readonly dropped = { flood: 0, senders: 0, addresses: 0, invalid: 0, longAddress: 0 };

  constructor(options: CoalescerOptions = {}) {
    this.issues = options.issues ?? new IssueLog();
    this.now = options.now ?? Date.now;
    this.features = options.features ? new Set(options.features) : null;
    this.rate = options.discretePerSecond ?? DEFAULT_DISCRETE_PER_SECOND;
    this.burst = Math.max(1, options.discreteBurst ?? this.rate);
    this.queueLength = Math.max(1, options.discreteQueue ?? DEFAULT_DISCRETE_QUEUE);
    this.maxSenders = Math.max(1, options.maxSenders ?? DEFAULT_MAX_OSC_SENDERS);
    this.maxAddresses = options.maxAddresses ?? DEFAULT_MAX_OSC_ADDRESSES;
    this.maxInvalid = options.maxInvalidPerDrain ?? DEFAULT_MAX_INVALID_PER_DRAIN;
  }

  /** Takes one parsed message. Never throws for anything a sender can put in a message. */
  push(m: OscMessage): void {
    this.counters.messages += 1;
    const address = m.address;
    if (DISCRETE_OSC_ADDRESSES.has(address)) this.discrete(m);
    else if (this.isContinuous(address) && isOneFiniteNumber(m)) this.continuous(m);
    else this.other(m);
    if (this.waiting.size > this.counters.peakWaiting) this.counters.peakWaiting = this.waiting.size;
  }

  /** What to hand on now: this drain's messages in arrival order, then queued discrete messages whose sender's rate allows. */
  drain(): OscMessage[] {
    const out = [...this.waiting.values()];
    this.waiting.clear();
    this.extraAddresses = 0;
    this.invalidThisDrain = 0;
    if (this.queued > 0) {
      // After this drain's own entries: a sender with a queue sends nothing new to `waiting`, so its queued messages are younger than its entries there.
      const t = this.now();
      for (const s of this.senders.values()) {
        if (s.queue.length === 0) continue;
        this.refill(s, t);
        while (s.queue.length > 0 && s.tokens >= 1) {
          s.tokens -= 1;
          out.push(s.queue.shift()!);
          this.queued -= 1;
        }
      }
    }
    this.counters.emitted += out.length;
    return out;
  }

  /** Milliseconds until a queued discrete message may go, or undefined when none waits. */
  nextDrainMs(): number | undefined {
    if (this.queued === 0) return undefined;
    const t = this.now();
    let wait = Infinity;
    for (const s of this.senders.values()) {
      if (s.queue.length === 0) continue;
      const tokens = Math.min(this.burst, s.tokens + ((t - s.at) * this.rate) / 1000);
      wait = Math.min(wait, tokens >= 1 ? 0 : ((1 - tokens) * 1000) / this.rate);
    }
    return Math.max(1, Math.ceil(wait));
  }

  get hasWaiting(): boolean {
    return this.waiting.size > 0;
  }

  get hasQueued(): boolean {
    return this.queued > 0;
  }

  stats(): CoalescerStats {
    return { ...this.counters, dropped: { ...this.dropped }, waiting: this.waiting.size, queued: this.queued, senders: this.senders.size };
  }

  private isContinuous(address: string): boolean {
    if (CONTINUOUS_OSC_ADDRESSES.has(address)) return true;
    if (!address.startsWith(FEATURE_PREFIX)) return false;
    return this.features ? this.features.has(address.slice(FEATURE_PREFIX.length)) : address.length <= MAX_OSC_ADDRESS_LENGTH;
  }

  private continuous(m: OscMessage): void {
    if (this.waiting.delete(m.address)) {
      this.counters.coalesced += 1;
    } else if (!CONTINUOUS_OSC_ADDRESSES.has(m.address) && !this.features) {
      // without the feature list any /smitin/feature/<name> is taken, so their number needs a cap
      if (this.extraAddresses >= this.maxAddresses) {
        this.dropped.addresses += 1;
        this.issues.report('osc', 'too-many-addresses', () => `OSC: more than ${this.maxAddresses} distinct feature addresses at once (latest ${quoted(m.address)} from ${m.from}); the excess is dropped`);
        return;
      }
      this.extraAddresses += 1;
    }
    this.waiting.set(m.address, m);
  }

  private other(m: OscMessage): void {
    if (m.address.length > MAX_OSC_ADDRESS_LENGTH) {
      this.dropped.longAddress += 1;
      this.issues.report('osc', 'unknown-address', () => `OSC: unknown address ${quoted(m.address)} from ${m.from}; no address of the namespace is longer than ${MAX_OSC_ADDRESS_LENGTH} characters`);
      return;
    }
    if (this.invalidThisDrain >= this.maxInvalid) {
      this.dropped.invalid += 1;
      this.issues.report('osc', 'too-many-invalid', () => `OSC: more than ${this.maxInvalid} unknown or invalid messages at once (latest ${quoted(m.address)} from ${m.from}); the excess is counted here, not checked one by one`);
      return;
    }
    this.invalidThisDrain += 1;
    this.waiting.set(`#${this.seq++}`, m);
  }

  private discrete(m: OscMessage): void {
    const t = this.now();
    const s = this.sender(m.from, t);
    if (!s) {
      this.dropped.senders += 1;
      this.issues.report('osc', 'too-many-senders', () => `OSC: more than ${this.maxSenders} senders sending commands at once; ${m.address} from ${m.from} dropped`);
      return;
    }
    this.refill(s, t);
    if (s.queue.length === 0 && s.tokens >= 1) {
      s.tokens -= 1;
      this.waiting.set(`#${this.seq++}`, m);
      return;
    }
    this.counters.delayed += 1;
    s.queue.push(m);
    this.queued += 1;
    if (s.queue.length > this.queueLength) {
      const old = s.queue.shift()!;
      this.queued -= 1;
      this.dropped.flood += 1;
      this.issues.report(
        'osc',
        'flood',
        () => `OSC: more than ${this.rate} commands/s from ${m.from}; the oldest waiting (${old.address}) dropped so the latest still apply (is a sender stuck in a loop?)`,
      );
    }
    if (this.queued > this.counters.peakQueued) this.counters.peakQueued = this.queued;
  }

  /** The sender's state, making room for a new one by forgetting an idle one; null when all are busy. */
  private sender(from: string, t: number): Sender | null {
    const known = this.senders.get(from);
    if (known) {
      // most recently used last, so eviction looks at the least recent first
      this.senders.delete(from);
      this.senders.set(from, known);
      return known;
    }
    if (this.senders.size >= this.maxSenders) {
      // Idle long enough that its bucket is full again: forgetting it gives a returning sender nothing it would not have had.
      const idleMs = (this.burst * 1000) / this.rate;
      let evict: string | undefined;
      for (const [key, s] of this.senders) {
        if (s.queue.length === 0 && t - s.at >= idleMs) {
          evict = key;
          break;
        }
      }
      if (evict === undefined) return null;
      this.senders.delete(evict);
    }
    const s: Sender = { tokens: this.burst, at: t, queue: [] };
    this.senders.set(from, s);
    if (this.senders.size > this.counters.peakSenders) this.counters.peakSenders = this.senders.size;
    return s;
  }

  private refill(s: Sender, t: number): void {
    // a clock that steps back (an injected one, NTP) must not drain the bucket
    if (t > s.at) s.tokens = Math.min(this.burst, s.tokens + ((t - s.at) * this.rate) / 1000);
    s.at = t;
  }
}

/** What the namespace accepts as a continuous value: exactly one finite number (anything else it reports, and must not replace a valid value). */
function isOneFiniteNumber(m: OscMessage): boolean {
  return m.args.length === 1 && typeof m.args[0] === 'number' && Number.isFinite(m.args[0]);
}
