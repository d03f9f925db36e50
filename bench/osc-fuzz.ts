/**
 * The project's OSC fuzzer: a seeded generator of hostile and ordinary OSC
 * packets, and a paced UDP sender, importable from tests and benches.
 *
 * Packets are encoded here, byte by byte, not with osc-js: the point is to
 * send what osc-js would refuse to build (wrong and missing type tags,
 * truncations, nesting past the limit). Every packet carries what a correct
 * receiver must take from it: the continuous values (address, value as the
 * namespace applies it: float32 read back as the decimal the sender meant,
 * clamped to the control's range) in the order it must apply them. Packets
 * that must be rejected as a whole carry none, and are built so that they
 * cannot parse by accident (see each generator), so "the last valid value
 * of a control wins" can be checked against what the engine plays.
 *
 * The sender paces packets (ratePerSecond, small bursts) so that a
 * receiver that keeps up gets all of them: a flood the kernel drops before
 * the socket tests the kernel, not the receiver.
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { MAX_TEMPO, MIN_TEMPO } from '../src/constants.js';
import { OSC_INPUTS } from '../src/control/osc-namespace.js';
import { CONTROL_RANGES } from '../src/protocol.js';

const { strength: STRENGTH_RANGE, temperature: TEMPERATURE_RANGE, guidance: GUIDANCE_RANGE } = CONTROL_RANGES;
import { MAX_OSC_BUNDLE_DEPTH, shortestFloat32 } from '../src/control/osc-source.js';

export const FUZZ_KINDS = [
  'continuous',
  'discrete',
  'bad-args',
  'non-finite',
  'unknown-address',
  'random-bytes',
  'truncated',
  'wrong-type-tags',
  'missing-type-tags',
  'bundle',
  'nested-bundle',
  'oversized-bundle',
  'huge-string',
  'huge-address',
] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

/** Mostly ordinary knob moves, so that the values to check keep coming, with every kind of garbage mixed in. */
export const DEFAULT_FUZZ_WEIGHTS: Readonly<Record<FuzzKind, number>> = {
  continuous: 30,
  discrete: 3,
  'bad-args': 8,
  'non-finite': 5,
  'unknown-address': 8,
  'random-bytes': 8,
  truncated: 6,
  'wrong-type-tags': 6,
  'missing-type-tags': 4,
  bundle: 10,
  'nested-bundle': 4,
  'oversized-bundle': 0.1,
  'huge-string': 0.5,
  'huge-address': 0.5,
};

export const TINYBAND_FEATURES: readonly string[] = ['drums', 'bass', 'piano', 'guitar', 'minor', 'dense'];
/** Under the largest UDP payload over IPv4 (65,507 bytes). */
export const MAX_FUZZ_PACKET_BYTES = 65_000;

export interface FuzzPacket {
  kind: FuzzKind;
  bytes: Uint8Array;
  /** Continuous values a correct receiver applies from this packet, in order: [address, value]. */
  values: [string, number][];
}

export interface FuzzerOptions {
  seed: number;
  /** The model's features (default tinyband's); /smitin/feature/<other> is an unknown address. */
  features?: readonly string[];
  weights?: Partial<Record<FuzzKind, number>>;
  maxBytes?: number;
}

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Range {
  min: number;
  max: number;
}

/** One encoded argument and what the receiver reads from it (a number, or 'other' for anything that is not one finite number). */
interface Arg {
  tag: string;
  bytes: Uint8Array;
  read: number | 'other';
}

/** An element of a packet before encoding, so bundles know their messages' values and byte ranges. */
type Element = { message: Uint8Array; values: [string, number][] } | { bundle: Element[] };

const FEATURE_PREFIX = '/smitin/feature/';
const FIXED_CONTINUOUS: readonly [string, Range][] = [
  ['/smitin/tempo', { min: MIN_TEMPO, max: MAX_TEMPO }],
  ['/smitin/temperature', TEMPERATURE_RANGE],
  ['/smitin/guidance', GUIDANCE_RANGE],
];
const DISCRETE_ADDRESSES = ['/smitin/prompt', '/smitin/preset', '/smitin/play', '/smitin/stop', '/smitin/record', '/smitin/learn'];
const ODD_CHARS = ['\u00e9', '\u202e', '\u001b[2J', '\ud83c\udfb9', '\ud800', '\t', '\n', '"', '\\', '[', ']', '{', '*', '?', '#', ',', ' '];

export class OscFuzzer {
  private readonly random: () => number;
  private readonly features: readonly string[];
  private readonly continuous: readonly [string, Range][];
  private readonly table: [FuzzKind, number][];
  private readonly total: number;
  private readonly maxBytes: number;
  private readonly pool: string;

  constructor(options: FuzzerOptions) {
    this.random = seededRandom(options.seed);
    this.pool = Array.from({ length: 65_536 }, () => String.fromCharCode(0x21 + Math.floor(this.random() * 94))).join('');
    this.features = options.features ?? TINYBAND_FEATURES;
    this.continuous = [...this.features.map((f): [string, Range] => [FEATURE_PREFIX + f, STRENGTH_RANGE]), ...FIXED_CONTINUOUS];
    const weights = { ...DEFAULT_FUZZ_WEIGHTS, ...options.weights };
    this.table = FUZZ_KINDS.map((k): [FuzzKind, number] => [k, Math.max(0, weights[k] ?? 0)]).filter(([, w]) => w > 0);
    this.total = this.table.reduce((s, [, w]) => s + w, 0);
    this.maxBytes = Math.min(options.maxBytes ?? MAX_FUZZ_PACKET_BYTES, MAX_FUZZ_PACKET_BYTES);
  }

  /** The continuous addresses of the namespace for these features. */
  get continuousAddresses(): string[] {
    return this.continuous.map(([a]) => a);
  }

  next(): FuzzPacket {
    let r = this.random() * this.total;
    let kind = this.table[this.table.length - 1][0];
    for (const [k, w] of this.table) {
      if ((r -= w) < 0) {
        kind = k;
        break;
      }
    }
    return this.make(kind);
  }

  *packets(count: number): Generator<FuzzPacket> {
    for (let i = 0; i < count; i++) yield this.next();
  }

  /** A packet of a given kind. */
  make(kind: FuzzKind): FuzzPacket {
    switch (kind) {
      case 'continuous': {
        const e = this.continuousMessage();
        return { kind, bytes: e.message, values: e.values };
      }
      case 'discrete':
        return { kind, bytes: this.discreteMessage(), values: [] };
      case 'bad-args':
        return { kind, bytes: this.badArgsMessage(), values: [] };
      case 'non-finite': {
        const [address] = this.pick(this.continuous);
        const v = this.pick([NaN, Infinity, -Infinity]);
        const arg = this.choose<Arg>(
          () => f32(v),
          () => f64(v),
          () => INF_ARG,
          () => f32(3.5e38 * 10),
        );
        return { kind, bytes: message(address, [arg]), values: [] };
      }
      case 'unknown-address':
        return { kind, bytes: message(this.unknownAddress(), [this.numberArg(STRENGTH_RANGE)]), values: [] };
      case 'random-bytes': {
        const n = this.int(0, 600);
        const bytes = new Uint8Array(this.random() < 0.5 ? n - (n % 4) : n);
        for (let i = 0; i < bytes.length; i++) bytes[i] = this.int(0, 255);
        // half of them look like the start of a message or a bundle, to get past the first checks
        if (bytes.length >= 8 && this.random() < 0.5) bytes.set(ascii(this.pick(['/smi', '#bun', '/smitin/', '#bundle\0'])).subarray(0, 8));
        return { kind, bytes, values: [] };
      }
      case 'truncated':
        return { kind, bytes: this.truncated(), values: [] };
      case 'wrong-type-tags': {
        // Tags that make the numeric payload read as something other than one number, or fail: never 'i'<->'f' swaps, which would read a valid number.
        const [address] = this.pick(this.continuous);
        const payload = f32(this.random());
        const tags = this.pick([',x', ',?', ',s', ',T', ',F', ',N', ',ff', ',b', ',I', 'f', ',fs', ',fi']);
        return { kind, bytes: concat(str(address), str(tags), payload.bytes), values: [] };
      }
      case 'missing-type-tags': {
        // The address straight into the payload, or the address alone: no ',' string where the tags belong.
        const [address] = this.pick(this.continuous);
        const withPayload = this.random() < 0.5;
        return { kind, bytes: withPayload ? concat(str(address), f32(this.random()).bytes) : str(address), values: [] };
      }
      case 'bundle': {
        const elements = Array.from({ length: this.int(1, 16) }, () => this.anyElement());
        return this.bundlePacket(kind, elements);
      }
      case 'nested-bundle':
        return this.nested();
      case 'oversized-bundle': {
        const target = this.int(Math.floor(this.maxBytes / 3), this.maxBytes - 256);
        const elements: Element[] = [];
        let size = 16;
        while (true) {
          const e = this.random() < 0.7 ? this.continuousMessage() : { message: this.badArgsMessage(), values: [] };
          if (size + 4 + e.message.length > target) break;
          size += 4 + e.message.length;
          elements.push(e);
        }
        return this.bundlePacket(kind, elements);
      }
      case 'huge-string': {
        const text = this.text(this.int(1_000, Math.min(60_000, this.maxBytes - 64)));
        const address = this.random() < 0.5 ? '/smitin/prompt' : this.pick(this.continuous)[0];
        return { kind, bytes: message(address, [{ tag: 's', bytes: str(text), read: 'other' }]), values: [] };
      }
      case 'huge-address': {
        const length = this.int(300, Math.min(60_000, this.maxBytes - 64));
        const address = (this.random() < 0.5 ? FEATURE_PREFIX : '/') + this.text(length);
        return { kind, bytes: message(address, [this.numberArg(STRENGTH_RANGE)]), values: [] };
      }
    }
  }

  private continuousMessage(): { message: Uint8Array; values: [string, number][] } {
    const [address, range] = this.pick(this.continuous);
    const arg = this.numberArg(range);
    const read = arg.read as number;
    return { message: message(address, [arg]), values: [[address, Math.min(range.max, Math.max(range.min, read))]] };
  }

  /** A finite number for a control: mostly in range, some beyond it (clamped), some on the edges; f, i, d or h. */
  private numberArg(range: Range): Arg {
    const span = range.max - range.min;
    const p = this.random();
    let v = p < 0.7 ? range.min + this.random() * span : p < 0.9 ? (this.random() < 0.5 ? range.min - this.random() * span * 3 : range.max + this.random() * span * 3) : this.pick([range.min, range.max, 0]);
    const tag = this.pick(['f', 'f', 'f', 'f', 'i', 'd', 'h']);
    if (tag === 'f') {
      v = Math.round(v * 1000) / 1000;
      return f32(v);
    }
    if (tag === 'd') return f64(v);
    if (tag === 'i') return i32(Math.round(v));
    return i64(this.random() < 0.9 ? BigInt(Math.round(v)) : this.pick([2n ** 62n, -(2n ** 62n)]));
  }

  private discreteMessage(): Uint8Array {
    const address = this.pick(DISCRETE_ADDRESSES);
    switch (address) {
      case '/smitin/prompt':
        return message(address, [sArg(this.random() < 0.8 ? this.pick(['dark jazz', 'calm piano', 'funk happy energetic', ' ']) : this.text(this.int(1, 40)))]);
      case '/smitin/preset':
        return message(address, [sArg(this.random() < 0.8 ? this.pick(['no-such-preset', '../../etc/passwd', '']) : this.text(this.int(1, 20)))]);
      case '/smitin/record':
        return message(address, [this.choose<Arg>(() => i32(1), () => i32(0), () => f32(1), () => TRUE_ARG)]);
      case '/smitin/learn':
        return message(address, [sArg(this.pick([...this.features, 'off', '', 'tempo', 'vocals']))]);
      default:
        return message(address, this.choose<Arg[]>(() => [], () => [f32(1)], () => [f32(0)], () => [i32(1)], () => [TRUE_ARG]));
    }
  }

  /** Any address of the namespace, with arguments it must refuse (for a continuous control: anything but one finite number). */
  private badArgsMessage(): Uint8Array {
    const spec = this.pick(OSC_INPUTS);
    const address = spec.address.includes('<name>') ? spec.address.replace('<name>', this.pick(this.features)) : spec.address;
    const args = this.choose<Arg[]>(
      () => [],
      () => [sArg('loud')],
      () => [blob(this.int(0, 40))],
      () => [TRUE_ARG],
      () => [FALSE_ARG],
      () => [NIL_ARG],
      () => [f32(0.5), f32(0.5)],
      () => [i32(1), sArg('x')],
      () => [INF_ARG],
    );
    return message(address, args);
  }

  private unknownAddress(): string {
    let name: string;
    do name = this.random() < 0.7 ? this.pick(['vocals', 'Drums', 'drums ', 'drums/x', '']) : this.text(this.int(1, 30));
    while (this.features.includes(name));
    return this.choose(
      () => FEATURE_PREFIX + name,
      () => FEATURE_PREFIX + name,
      () => this.pick(['/smitin/nope', '/x[', '/smitin/Feature/drums', '/smitin/feature', '/smitin/tempo/x']),
      () => `/${this.text(this.int(1, 60))}`,
    );
  }

  private anyElement(): Element {
    const p = this.random();
    if (p < 0.5) return this.continuousMessage();
    if (p < 0.6) return { message: this.discreteMessage(), values: [] };
    if (p < 0.8) return { message: this.badArgsMessage(), values: [] };
    return { message: message(this.unknownAddress(), [this.numberArg(STRENGTH_RANGE)]), values: [] };
  }

  /**
   * A valid message or bundle cut short inside its last numeric argument's
   * message: osc-js then reads past the end (or finds no type tags) and the
   * whole packet is refused. A cut on an element boundary would parse, so
   * cuts land strictly inside the last element.
   */
  private truncated(): Uint8Array {
    const last = this.continuousMessage().message;
    const head = this.random() < 0.5 ? new Uint8Array(0) : encodeBundle(Array.from({ length: this.int(1, 4) }, () => this.continuousMessage()));
    const full = head.length ? concat(head, i32(last.length).bytes, last) : last;
    const start = head.length ? head.length + 4 : 0;
    // lengths in [start, full.length - 4] that keep the packet a multiple of 4 (others fail earlier, on the length), or any length now and then
    const cut = this.random() < 0.8 ? start + 4 * this.int(0, (full.length - 4 - start) / 4) : this.int(start, full.length - 1);
    return full.subarray(0, cut);
  }

  private nested(): FuzzPacket {
    const levels = this.int(1, MAX_OSC_BUNDLE_DEPTH + 4);
    const build = (level: number): Element => {
      const elements: Element[] = Array.from({ length: this.int(0, 2) }, () => this.anyElement());
      if (level < levels) elements.splice(this.int(0, elements.length), 0, build(level + 1));
      return { bundle: elements };
    };
    const root = build(1);
    const values = levels <= MAX_OSC_BUNDLE_DEPTH ? collectValues(root) : [];
    return { kind: 'nested-bundle', bytes: encodeElement(root), values };
  }

  private bundlePacket(kind: FuzzKind, elements: Element[]): FuzzPacket {
    const root: Element = { bundle: elements };
    return { kind, bytes: encodeElement(root), values: collectValues(root) };
  }

  /**
   * Text with odd characters (escapes, bidi override, a lone surrogate,
   * quotes) but no NUL, which would end an OSC string early. Cut from a
   * pool made once per fuzzer: building 60,000 characters one by one took
   * long enough to stall the event loop of a test that sends and receives.
   */
  private text(length: number): string {
    const start = this.int(0, this.pool.length - 1);
    let s = this.pool.slice(start, start + length);
    while (s.length < length) s += this.pool.slice(0, length - s.length);
    for (let k = this.int(0, 4); k > 0; k--) {
      const at = this.int(0, s.length);
      s = s.slice(0, at) + this.pick(ODD_CHARS) + s.slice(at);
    }
    return s.slice(0, Math.max(length, 1));
  }

  private int(min: number, max: number): number {
    return min + Math.floor(this.random() * (Math.floor(max) - min + 1));
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  /** One of the makers, called: only the chosen argument is built. */
  private choose<T>(...makers: (() => T)[]): T {
    return makers[Math.floor(this.random() * makers.length)]();
  }
}

function collectValues(e: Element): [string, number][] {
  if ('message' in e) return e.values;
  return e.bundle.flatMap(collectValues);
}

function encodeElement(e: Element): Uint8Array {
  return 'message' in e ? e.message : encodeBundle(e.bundle);
}

function encodeBundle(elements: Element[]): Uint8Array {
  // timetag 1 = "now"; the receiver ignores timetags anyway
  const parts: Uint8Array[] = [str('#bundle'), new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1])];
  for (const e of elements) {
    const bytes = encodeElement(e);
    parts.push(i32(bytes.length).bytes, bytes);
  }
  return concat(...parts);
}

const encoder = new TextEncoder();

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

const EMPTY = new Uint8Array(0);
const TRUE_ARG: Arg = { tag: 'T', bytes: EMPTY, read: 'other' };
const FALSE_ARG: Arg = { tag: 'F', bytes: EMPTY, read: 'other' };
const NIL_ARG: Arg = { tag: 'N', bytes: EMPTY, read: 'other' };
const INF_ARG: Arg = { tag: 'I', bytes: EMPTY, read: 'other' };

/** An OSC string: UTF-8, NUL-terminated, padded to 4 bytes. */
function str(s: string): Uint8Array {
  if (s.length < 256 && /^[\x01-\x7f]*$/.test(s)) {
    // most strings here are short ASCII: TextEncoder costs more than the copy
    const out = new Uint8Array((s.length + 4) & ~3);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  const utf8 = encoder.encode(s);
  const out = new Uint8Array((utf8.length + 4) & ~3);
  out.set(utf8);
  return out;
}

function message(address: string, args: Arg[]): Uint8Array {
  return concat(str(address), str(`,${args.map((a) => a.tag).join('')}`), ...args.map((a) => a.bytes));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function i32(v: number): Arg {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, v);
  return { tag: 'i', bytes, read: v | 0 };
}

function i64(v: bigint): Arg {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt.asIntN(64, v));
  return { tag: 'h', bytes, read: Number(BigInt.asIntN(64, v)) };
}

/** A float32 reads back as the shortest decimal that is the same float32, as the receiver shows it; one past the float32 range reads as Infinity. */
function f32(v: number): Arg {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setFloat32(0, v);
  const stored = Math.fround(v);
  return { tag: 'f', bytes, read: Number.isFinite(stored) ? shortestFloat32(stored) : 'other' };
}

function f64(v: number): Arg {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, v);
  return { tag: 'd', bytes, read: Number.isFinite(v) ? v : 'other' };
}

function sArg(s: string): Arg {
  return { tag: 's', bytes: str(s), read: 'other' };
}

function blob(n: number): Arg {
  const bytes = new Uint8Array(4 + ((n + 3) & ~3));
  new DataView(bytes.buffer).setInt32(0, n);
  return { tag: 'b', bytes, read: 'other' };
}

/** Datagrams libuv reads from one UDP socket per event-loop turn. */
export const LIBUV_UDP_READS_PER_TURN = 32;

export interface PacedSendOptions {
  host?: string;
  port: number;
  /** Packets to send; `packet(i)` makes the i-th (null: skip it, counted as not sent). */
  count: number;
  packet: (i: number) => Uint8Array | null;
  ratePerSecond: number;
  /**
   * At most this many packets per event-loop turn. Node reads at most 32
   * datagrams per socket per turn (libuv), so with the default of 32 a
   * receiver in the same process is never outpaced: when the loop is slow
   * the achieved rate drops instead of the kernel dropping packets. A sender
   * in another process or thread can go higher.
   */
  maxBurst?: number;
  /** Called after each packet whose send completed without error. */
  onSent?: (i: number, bytes: Uint8Array) => void;
}

export interface PacedSendReport {
  sent: number;
  bytes: number;
  sendErrors: number;
  /** The first send error, if any (e.g. EMSGSIZE). */
  firstError?: string;
  elapsedMs: number;
  /** Packets per second actually achieved. */
  rate: number;
}

/** Sends `count` packets over UDP at about `ratePerSecond`, in small paced bursts; resolves when every send has completed. */
export async function sendPaced(options: PacedSendOptions): Promise<PacedSendReport> {
  const host = options.host ?? '127.0.0.1';
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const maxBurst = options.maxBurst ?? LIBUV_UDP_READS_PER_TURN;
  const report: PacedSendReport = { sent: 0, bytes: 0, sendErrors: 0, elapsedMs: 0, rate: 0 };
  let outstanding = 0;
  let drained: (() => void) | undefined;
  const start = performance.now();
  let i = 0;
  try {
    while (i < options.count) {
      const due = Math.min(options.count, Math.floor(((performance.now() - start) * options.ratePerSecond) / 1000) + 1);
      for (let n = Math.min(due - i, maxBurst); n > 0; n--, i++) {
        const bytes = options.packet(i);
        if (!bytes) continue;
        const index = i;
        outstanding += 1;
        socket.send(bytes, options.port, host, (err) => {
          outstanding -= 1;
          if (err) {
            report.sendErrors += 1;
            report.firstError ??= err.message;
          } else {
            report.sent += 1;
            report.bytes += bytes.length;
            options.onSent?.(index, bytes);
          }
          if (outstanding === 0) drained?.();
        });
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    if (outstanding > 0) await new Promise<void>((r) => (drained = r));
  } finally {
    socket.close();
  }
  report.elapsedMs = performance.now() - start;
  report.rate = (report.sent * 1000) / report.elapsedMs;
  return report;
}

export interface SendFuzzOptions extends FuzzerOptions {
  host?: string;
  port: number;
  packets: number;
  ratePerSecond: number;
  maxBurst?: number;
}

export interface FuzzReport extends PacedSendReport {
  /** Packets sent, by kind. */
  kinds: Partial<Record<FuzzKind, number>>;
  /** Per continuous address, the last valid value sent (as the namespace applies it): what the engine must end on. */
  lastValid: Map<string, number>;
  /** Valid continuous values sent in all. */
  values: number;
}

/** Sends `packets` fuzz packets from a seed over UDP, paced; records the last valid value sent per continuous address. */
export async function sendFuzz(options: SendFuzzOptions): Promise<FuzzReport> {
  const fuzzer = new OscFuzzer(options);
  const made: FuzzPacket[] = [];
  const kinds: Partial<Record<FuzzKind, number>> = {};
  const lastValid = new Map<string, number>();
  let values = 0;
  const report = await sendPaced({
    host: options.host,
    port: options.port,
    count: options.packets,
    ratePerSecond: options.ratePerSecond,
    maxBurst: options.maxBurst,
    packet: (i) => {
      const p = fuzzer.next();
      made[i] = p;
      return p.bytes;
    },
    // sends on one socket complete in order, so the last callback holds the last value
    onSent: (i) => {
      const p = made[i];
      delete made[i];
      kinds[p.kind] = (kinds[p.kind] ?? 0) + 1;
      for (const [address, value] of p.values) lastValid.set(address, value);
      values += p.values.length;
    },
  });
  return { ...report, kinds, lastValid, values };
}
