/**
 * OSC 1.0 packets (messages and bundles) decoded strictly, in one pass over
 * the bytes, without allocating more than the result.
 *
 * This replaces osc-js's Packet.unpack on the input path, for two reasons
 * measured on this project's flood tests:
 * - speed: osc-js takes 40-80 us per small message (transpiled class
 *   hierarchies and a char-by-char string builder), so a 10,000 msg/s
 *   flood alone kept the main thread busy and the kernel dropped what it
 *   could not buffer; this takes about 1 us;
 * - strictness: osc-js reads a string without a terminator to the end of
 *   the packet, ignores bundle element sizes (a nested bundle swallows the
 *   elements after it), skips the first character of type tags without
 *   checking for ',', ignores trailing bytes, and reads blobs from the wrong
 *   offset of a sliced buffer. Each of these turns garbage into a message.
 * osc-js stays the encoder (telemetry out, tests); a test checks both agree
 * on every packet osc-js can build.
 */
import type { OscArg, OscMessage } from './osc-intake.js';

export class OscDecodeError extends Error {}

/** Messages of one UDP payload, bundles flattened in order (timetags ignored). Throws OscDecodeError on anything that is not well-formed OSC. */
export function decodeOscPacket(data: Uint8Array, from: string, maxBundleDepth: number): OscMessage[] {
  if (data.byteLength === 0) throw new OscDecodeError('empty packet');
  if (data.byteLength % 4 !== 0) throw new OscDecodeError(`${data.byteLength} bytes is not a multiple of 4`);
  const reader: Reader = {
    bytes: data,
    view: new DataView(data.buffer, data.byteOffset, data.byteLength),
    text: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    from,
    maxBundleDepth,
    out: [],
  };
  element(reader, 0, data.byteLength, 0);
  return reader.out;
}

interface Reader {
  bytes: Uint8Array;
  view: DataView;
  /** The same bytes as a Buffer, for its fast UTF-8 decoding (invalid sequences become U+FFFD). */
  text: Buffer;
  from: string;
  maxBundleDepth: number;
  out: OscMessage[];
}

const SLASH = 0x2f;
const HASH = 0x23;
const COMMA = 0x2c;
const BUNDLE_TAG = [0x23, 0x62, 0x75, 0x6e, 0x64, 0x6c, 0x65, 0x00]; // "#bundle\0"

function element(r: Reader, start: number, end: number, depth: number): void {
  const first = r.bytes[start];
  if (first === SLASH) message(r, start, end);
  else if (first === HASH) bundle(r, start, end, depth);
  else throw new OscDecodeError('neither a message (/...) nor a bundle (#bundle)');
}

function bundle(r: Reader, start: number, end: number, depth: number): void {
  if (end - start < 16) throw new OscDecodeError('bundle shorter than its header');
  for (let i = 0; i < 8; i++) if (r.bytes[start + i] !== BUNDLE_TAG[i]) throw new OscDecodeError('starts with # but is not a #bundle');
  if (depth >= r.maxBundleDepth) throw new OscDecodeError(`bundles nested deeper than ${r.maxBundleDepth}`);
  let at = start + 16; // after the tag and the timetag
  while (at < end) {
    if (at + 4 > end) throw new OscDecodeError('bundle element without its size');
    const size = r.view.getInt32(at);
    at += 4;
    if (size <= 0 || size % 4 !== 0 || at + size > end) throw new OscDecodeError(`bundle element size ${size} does not fit the ${end - at} bytes left`);
    element(r, at, at + size, depth + 1);
    at += size;
  }
}

function message(r: Reader, start: number, end: number): void {
  const address = string(r, start, end, 'address');
  if (address.next >= end) throw new OscDecodeError('message without type tags');
  if (r.bytes[address.next] !== COMMA) throw new OscDecodeError('type tags do not start with ","');
  const tags = string(r, address.next, end, 'type tags');
  const types = tags.value.slice(1);
  const args: OscArg[] = [];
  let at = tags.next;
  const need = (n: number, type: string) => {
    if (at + n > end) throw new OscDecodeError(`argument ${args.length + 1} (${type}) runs past the end`);
  };
  for (let i = 0; i < types.length; i++) {
    const type = types[i];
    switch (type) {
      case 'i':
        need(4, type);
        args.push(r.view.getInt32(at));
        at += 4;
        break;
      case 'f':
        need(4, type);
        args.push(shortestFloat32(r.view.getFloat32(at)));
        at += 4;
        break;
      case 'd':
        need(8, type);
        args.push(r.view.getFloat64(at));
        at += 8;
        break;
      case 'h':
        need(8, type);
        args.push(Number(r.view.getBigInt64(at)));
        at += 8;
        break;
      case 't':
        need(8, type);
        args.push(Number(r.view.getBigUint64(at)));
        at += 8;
        break;
      case 's':
      case 'S': {
        const s = string(r, at, end, `argument ${args.length + 1}`);
        args.push(s.value);
        at = s.next;
        break;
      }
      case 'b': {
        need(4, type);
        const size = r.view.getInt32(at);
        if (size < 0 || at + 4 + size > end) throw new OscDecodeError(`blob of ${size} bytes does not fit the ${end - at - 4} bytes left`);
        // a copy: a blob must not keep the whole packet alive, nor see past its own bytes
        args.push(Uint8Array.prototype.slice.call(r.bytes, at + 4, at + 4 + size));
        at = pad4(at + 4 + size);
        break;
      }
      case 'T':
        args.push(true);
        break;
      case 'F':
        args.push(false);
        break;
      case 'N':
        args.push(null);
        break;
      case 'I':
        args.push(Infinity);
        break;
      default:
        throw new OscDecodeError(`unsupported type tag ${JSON.stringify(type).slice(0, 12)}`);
    }
  }
  if (at > end) throw new OscDecodeError('arguments run past the end');
  if (at !== end) throw new OscDecodeError(`${end - at} bytes after the last argument`);
  r.out.push({ address: address.value, args, types, from: r.from });
}

/** A NUL-terminated string padded to 4 bytes; `next` is where the next field starts. */
function string(r: Reader, start: number, end: number, what: string): { value: string; next: number } {
  const nul = r.bytes.indexOf(0, start);
  if (nul < 0 || nul >= end) throw new OscDecodeError(`${what} has no terminating NUL`);
  const next = pad4(nul + 1);
  if (next > end) throw new OscDecodeError(`${what} padding runs past the end`);
  return { value: r.text.toString('utf8', start, nul), next };
}

function pad4(n: number): number {
  return (n + 3) & ~3;
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
