import { describe, expect, it } from 'vitest';
import { OscFuzzer, seededRandom } from '../../bench/osc-fuzz.js';
import { decodeOscPacket } from '../../src/control/osc-decode.js';
import { MAX_OSC_BUNDLE_DEPTH, OSC, parsePacket, shortestFloat32, type OscArg, type OscMessage } from '../../src/control/osc-source.js';

/** What osc-js makes of a packet, flattened the way the source did before it had its own decoder: the reference for valid OSC. */
function oscJsDecode(bytes: Uint8Array): OscMessage[] {
  const packet = new OSC.Packet();
  const own = new Uint8Array(bytes); // osc-js reads blobs from the start of the underlying buffer
  packet.unpack(new DataView(own.buffer));
  const out: OscMessage[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof OSC.Bundle) for (const e of value.bundleElements) walk(e);
    else if (value instanceof OSC.Message) {
      const types = value.types.slice(1);
      const args = value.args.map((a, i): OscArg => {
        if (typeof a === 'bigint') return Number(a);
        if (typeof a === 'number' && types[i] === 'f') return shortestFloat32(a);
        return a as OscArg;
      });
      out.push({ address: value.address, args, types, from: 'x' });
    }
  };
  walk(packet.value);
  return out;
}

/**
 * A Message with explicit type tags. osc-js's Message given an array of
 * {type, value} re-infers each type from the value (its add() is
 * overridden), and a TypedMessage cannot go into a Bundle.
 */
function typedMessage(address: string, args: { type: string; value: unknown }[]): InstanceType<typeof OSC.Message> {
  const m = new OSC.Message(address);
  for (const a of args) OSC.TypedMessage.prototype.add.call(m, a.type as never, a.value as never);
  return m;
}

describe('OSC decoder', () => {
  it('agrees with osc-js on every kind of packet osc-js builds', () => {
    const random = seededRandom(7);
    const arg = (): { type: string; value: unknown } => {
      const r = random();
      if (r < 0.2) return { type: 'f', value: Math.round((random() * 4 - 2) * 1000) / 1000 };
      if (r < 0.3) return { type: 'i', value: Math.floor(random() * 2 ** 32) - 2 ** 31 };
      if (r < 0.4) return { type: 'd', value: random() * 1e6 };
      if (r < 0.5) return { type: 'h', value: BigInt(Math.floor(random() * 2 ** 53)) - 2n ** 52n };
      if (r < 0.65) return { type: 's', value: ['', 'a', 'abc', 'abcd', 'dark jazz', 'é\u202e🎹'][Math.floor(random() * 6)] };
      if (r < 0.75) return { type: 'b', value: Uint8Array.from({ length: Math.floor(random() * 9) }, (_, i) => i) };
      return { type: 'TFNI'[Math.floor(random() * 4)], value: null };
    };
    const typed = () =>
      typedMessage(
        `/smitin/${'abcdefgh'.slice(0, 1 + Math.floor(random() * 8))}`,
        Array.from({ length: Math.floor(random() * 5) }, arg).map((a) => ({ ...a, value: a.type === 'T' ? true : a.type === 'F' ? false : a.type === 'I' ? Infinity : a.value })),
      );
    const bundle = (depth: number): InstanceType<typeof OSC.Bundle> =>
      new OSC.Bundle(Array.from({ length: 1 + Math.floor(random() * 3) }, () => (depth > 1 && random() < 0.3 ? bundle(depth - 1) : typed())) as never);
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const packet = i % 3 === 0 ? bundle(1 + Math.floor(random() * 4)) : typed();
      const bytes = packet.pack();
      const got = parsePacket(bytes, 'x');
      expect(got, `packet ${i}`).toEqual(oscJsDecode(bytes));
      for (const m of got) for (const t of m.types) seen.add(t);
    }
    expect([...seen].sort().join('')).toBe('FINTbdfhis');
  });

  it('agrees with osc-js on the fuzzer\'s well-formed packets', () => {
    const fuzzer = new OscFuzzer({ seed: 11, weights: { 'random-bytes': 0, truncated: 0, 'wrong-type-tags': 0, 'missing-type-tags': 0, 'nested-bundle': 0 } });
    for (let i = 0; i < 1000; i++) {
      const p = fuzzer.next();
      expect(parsePacket(p.bytes, 'x'), `${p.kind} ${i}`).toEqual(oscJsDecode(p.bytes));
    }
  });

  it('refuses what osc-js would have turned into messages', () => {
    const str = (s: string) => {
      const b = Buffer.alloc((Buffer.byteLength(s) + 4) & ~3);
      b.write(s);
      return b;
    };
    const i32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return b;
    };
    const drums = new OSC.Message('/smitin/feature/drums', 0.5).pack();
    const cases: [string, Uint8Array, RegExp][] = [
      ['a string without its NUL', Buffer.from('/abc'), /no terminating NUL/],
      ['type tags without the comma', Buffer.concat([str('/a'), str('f'), i32(1)]), /do not start with ","/],
      ['bytes after the last argument', Buffer.concat([str('/a'), str(',T'), i32(0)]), /4 bytes after the last argument/],
      ['an argument past the end', Buffer.concat([str('/a'), str(',ff'), i32(0)]), /argument 2 \(f\) runs past the end/],
      ['a blob longer than the packet', Buffer.concat([str('/a'), str(',b'), i32(1000)]), /blob of 1000 bytes/],
      ['a negative blob size', Buffer.concat([str('/a'), str(',b'), i32(-4)]), /blob of -4 bytes/],
      ['an unknown type tag', Buffer.concat([str('/a'), str(',x'), i32(0)]), /unsupported type tag "x"/],
      ['a bundle element longer than the bundle', Buffer.concat([str('#bundle'), Buffer.alloc(8), i32(64), Buffer.from(drums)]), /element size 64/],
      ['a bundle element of size 0', Buffer.concat([str('#bundle'), Buffer.alloc(8), i32(0)]), /element size 0/],
      ['a bundle element cut short', Buffer.concat([str('#bundle'), Buffer.alloc(8), i32(drums.length), Buffer.from(drums).subarray(0, drums.length - 4)]), /element size/],
      ['a # that is not a bundle', Buffer.concat([str('#bundlex'), Buffer.alloc(8)]), /not a #bundle/],
      ['neither', Buffer.from('abcd'), /neither a message/],
      ['a length not a multiple of 4', Buffer.from('/a\0\0,\0\0\0x'), /not a multiple of 4/],
      ['an empty packet', Buffer.alloc(0), /empty packet/],
    ];
    for (const [what, bytes, error] of cases) expect(() => parsePacket(bytes), what).toThrow(error);

    let nested = Buffer.from(drums);
    for (let depth = 1; depth <= MAX_OSC_BUNDLE_DEPTH + 1; depth++) {
      nested = Buffer.concat([str('#bundle'), Buffer.alloc(8), i32(nested.length), nested]);
      if (depth <= MAX_OSC_BUNDLE_DEPTH) expect(parsePacket(nested)).toHaveLength(1);
      else expect(() => parsePacket(nested)).toThrow(`nested deeper than ${MAX_OSC_BUNDLE_DEPTH}`);
    }
  });

  it('reads a packet inside a larger buffer (a Buffer from a pool) without seeing past it', () => {
    const blob = typedMessage('/b', [{ type: 'b', value: Uint8Array.from([1, 2, 3]) }]).pack();
    const pool = new Uint8Array(blob.length + 64).fill(0xee);
    pool.set(blob, 32);
    const view = pool.subarray(32, 32 + blob.length);
    expect(decodeOscPacket(view, 'x', 8)[0].args).toEqual([Uint8Array.from([1, 2, 3])]);
  });

  it('decodes a small message in a few microseconds (osc-js took 40-80)', () => {
    const bytes = Buffer.from(new OSC.Message('/smitin/feature/drums', 0.5).pack());
    for (let i = 0; i < 20_000; i++) parsePacket(bytes);
    const start = performance.now();
    for (let i = 0; i < 50_000; i++) parsePacket(bytes);
    const us = ((performance.now() - start) * 1000) / 50_000;
    console.log(`decode: ${us.toFixed(2)} us per small message`);
    expect(us).toBeLessThan(30); // generous: a loaded shared machine
  });
});
