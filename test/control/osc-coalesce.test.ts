import { describe, expect, it } from 'vitest';
import {
  CONTINUOUS_OSC_ADDRESSES,
  DISCRETE_OSC_ADDRESSES,
  FEATURE_ADDRESS_PREFIX,
  OscCoalescer,
  type CoalescerOptions,
} from '../../src/control/coalesce.js';
import { IssueLog } from '../../src/control/issues.js';
import { OSC_INPUTS } from '../../src/control/osc-namespace.js';
import type { OscArg, OscMessage } from '../../src/control/osc-source.js';

const FEATURES = ['drums', 'bass', 'piano', 'guitar', 'minor', 'dense'];
const msg = (address: string, args: OscArg[], from = 'a:1'): OscMessage => ({ address, args, types: '', from });
const drums = (v: OscArg, from = 'a:1') => msg('/smitin/feature/drums', [v], from);
const prompt = (text: string, from = 'a:1') => msg('/smitin/prompt', [text], from);

function setup(options: Partial<CoalescerOptions> = {}) {
  const issues = new IssueLog();
  let clock = 0;
  const c = new OscCoalescer({ features: FEATURES, issues, now: () => clock, ...options });
  return { c, issues, advance: (ms: number) => (clock += ms) };
}
const shown = (ms: OscMessage[]) => ms.map((m) => `${m.address.replace('/smitin/', '')} ${m.args.map(String).join(' ')}`.trim());

describe('OSC coalescer', () => {
  it('classifies every input address of the namespace as discrete or continuous', () => {
    for (const { address } of OSC_INPUTS) {
      const continuous = CONTINUOUS_OSC_ADDRESSES.has(address) || address.startsWith(FEATURE_ADDRESS_PREFIX);
      expect(continuous !== DISCRETE_OSC_ADDRESSES.has(address), address).toBe(true);
    }
  });

  it('keeps the latest value per continuous address, in the order the kept messages arrived', () => {
    const { c } = setup();
    for (let i = 0; i < 1000; i++) c.push(drums(i / 1000));
    c.push(msg('/smitin/preset', ['live']));
    c.push(drums(0.5));
    c.push(msg('/smitin/tempo', [100]));
    c.push(msg('/smitin/tempo', [120]));
    // the preset's initial values apply first, then the drums value sent after it
    expect(shown(c.drain())).toEqual(['preset live', 'feature/drums 0.5', 'tempo 120']);
    expect(c.drain()).toEqual([]);
    expect(c.stats()).toMatchObject({ messages: 1004, emitted: 3, coalesced: 1001 });
  });

  it('an invalid value never replaces a valid one; it is passed on for the namespace to report', () => {
    const { c } = setup();
    c.push(drums(0.3));
    c.push(drums('loud'));
    c.push(drums(NaN));
    c.push(msg('/smitin/feature/drums', [0.1, 0.2]));
    c.push(msg('/smitin/feature/vocals', [0.9]));
    expect(shown(c.drain())).toEqual(['feature/drums 0.3', 'feature/drums loud', 'feature/drums NaN', 'feature/drums 0.1 0.2', 'feature/vocals 0.9']);
  });

  it("limits each sender's discrete messages: a burst goes, the rest wait in order, a full queue drops the oldest", () => {
    const { c, issues, advance } = setup({ discretePerSecond: 50, discreteQueue: 32 });
    for (let i = 0; i < 100; i++) c.push(prompt(`a${i}`, 'a:1'));
    c.push(prompt('b0', 'b:2'));
    expect(shown(c.drain())).toEqual([...Array.from({ length: 50 }, (_, i) => `prompt a${i}`), 'prompt b0']);
    expect(issues.count('osc', 'flood')).toBe(100 - 50 - 32);
    expect(c.stats().queued).toBe(32);
    expect(c.nextDrainMs()).toBe(20); // one token every 20 ms at 50/s
    advance(100);
    expect(shown(c.drain())).toEqual(Array.from({ length: 5 }, (_, i) => `prompt a${68 + i}`));
    advance(1000);
    expect(shown(c.drain())).toEqual(Array.from({ length: 27 }, (_, i) => `prompt a${73 + i}`));
    expect(c.nextDrainMs()).toBeUndefined();
    // a sender that waits a second has its burst back
    advance(1000);
    for (let i = 0; i < 50; i++) c.push(prompt(`x${i}`, 'a:1'));
    expect(c.drain()).toHaveLength(50);
  });

  it('continuous messages are never limited by rate, whatever the sender', () => {
    const { c } = setup({ discretePerSecond: 1 });
    for (let i = 0; i < 10_000; i++) c.push(drums((i % 100) / 100, `h:${i % 7}`));
    expect(shown(c.drain())).toEqual(['feature/drums 0.99']);
  });

  it('tracks a bounded number of senders: a new one takes the place of one idle for a while, or is dropped', () => {
    const { c, issues, advance } = setup({ maxSenders: 2 });
    c.push(prompt('a', 'a:1'));
    c.push(prompt('b', 'b:2'));
    c.push(prompt('c', 'c:3'));
    expect(shown(c.drain())).toEqual(['prompt a', 'prompt b']);
    expect(issues.count('osc', 'too-many-senders')).toBe(1);
    advance(1000);
    c.push(prompt('b again', 'b:2'));
    c.push(prompt('c', 'c:3')); // a:1 idle for a second: forgotten
    expect(shown(c.drain())).toEqual(['prompt b again', 'prompt c']);
    expect(c.stats()).toMatchObject({ senders: 2, peakSenders: 2 });
  });

  it('caps what one drain holds from a fuzzer: unknown and invalid messages, long addresses, unknown feature addresses', () => {
    const { c, issues } = setup({ maxInvalidPerDrain: 64 });
    for (let i = 0; i < 10_000; i++) c.push(msg(`/random/${i}`, [i]));
    c.push(msg(`/${'x'.repeat(5000)}\u001b[2J`, [1]));
    c.push(drums(0.25));
    const out = c.drain();
    expect(out).toHaveLength(65);
    expect(out.at(-1)!.args).toEqual([0.25]);
    expect(issues.count('osc', 'too-many-invalid')).toBe(10_000 - 64);
    expect(issues.count('osc', 'unknown-address')).toBe(1);
    const reports: string[] = [];
    issues.issues$.subscribe((r) => reports.push(r.message));
    expect(reports.find((r) => r.includes('unknown address'))).toMatch(/^OSC: unknown address "\/x{60,}\.\.\.\(\+4925 chars\)" from a:1/);

    // without the model's features any /smitin/feature/<name> is coalesced, up to maxAddresses names per drain
    const open = setup({ features: undefined, maxAddresses: 100 });
    for (let i = 0; i < 1000; i++) open.c.push(msg(`/smitin/feature/f${i}`, [0.5]));
    open.c.push(msg('/smitin/tempo', [90]));
    expect(open.c.drain()).toHaveLength(101);
    expect(open.issues.count('osc', 'too-many-addresses')).toBe(900);
    expect(open.c.stats().peakWaiting).toBe(101);
  });
});

describe('IssueLog counts per kind', () => {
  it('gives a compact summary in first-seen order, and a total', () => {
    const issues = new IssueLog();
    expect(issues.summary()).toBe('');
    for (let i = 0; i < 3; i++) issues.report('osc', 'malformed', 'm');
    for (let i = 0; i < 120; i++) issues.report('osc', 'flood', () => 'f');
    issues.report('midi', 'unmapped-cc', 'x');
    expect(issues.summary()).toBe('osc/malformed 3, osc/flood 120, midi/unmapped-cc 1');
    expect(issues.summary({ source: 'osc' })).toBe('osc/malformed 3, osc/flood 120');
    expect(issues.summary({ max: 1 })).toBe('osc/malformed 3, +2 more (121)');
    expect(issues.total()).toBe(124);
  });

  it('builds a lazy message only for the first report of a kind', () => {
    const issues = new IssueLog();
    let built = 0;
    for (let i = 0; i < 1000; i++) issues.report('osc', 'flood', () => `flood ${++built}`);
    expect(built).toBe(1);
  });
});
