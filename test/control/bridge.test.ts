/**
 * bridge/reaper/smitin.ReaperOSC against the OSC namespace: every message REAPER sends with that pattern
 * config (t/ triggers as 1 on and 0 off, f/ values raw, all as OSC floats) means what the file's comments
 * say, and nothing in it is an address smitin-live does not know.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IssueLog } from '../../src/control/issues.js';
import { OSC_INPUTS, OscNamespace, type ControlEvent } from '../../src/control/osc-namespace.js';
import type { OscMessage } from '../../src/control/osc-source.js';

const FILE = fileURLToPath(new URL('../../bridge/reaper/smitin.ReaperOSC', import.meta.url));

/** REAPER's action name -> [flag, address] of each pattern line (comments and blank lines skipped). */
function patterns(text: string): Map<string, { flag: string; address: string }> {
  const out = new Map<string, { flag: string; address: string }>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [action, ...rest] = line.split(/\s+/);
    expect(rest, line).toHaveLength(1);
    const m = /^([a-z])(\/.*)$/.exec(rest[0]);
    expect(m, `${line}: expected flag/address`).not.toBeNull();
    out.set(action, { flag: m![1], address: m![2] });
  }
  return out;
}

describe('bridge/reaper/smitin.ReaperOSC', () => {
  const lines = patterns(readFileSync(FILE, 'utf8'));
  const issues = new IssueLog();
  const ns = new OscNamespace({ features: ['drums'], issues });
  const fromReaper = (address: string, value: number): OscMessage => ({ address, args: [value], types: 'f', from: 'REAPER' });

  it('maps transport, tempo and record, and only addresses of the namespace', () => {
    expect([...lines.keys()].sort()).toEqual(['PLAY', 'RECORD', 'STOP', 'TEMPO']);
    const known = new Set(OSC_INPUTS.map((s) => s.address));
    for (const { address } of lines.values()) expect(known.has(address), address).toBe(true);
  });

  it('what REAPER sends means what the file says: play on, stop on, record on/off, the tempo in BPM', () => {
    const send = (action: string, value: number): ControlEvent | null => {
      const p = lines.get(action)!;
      return ns.toEvent(fromReaper(p.address, value));
    };
    expect(lines.get('PLAY')!.flag).toBe('t');
    expect(send('PLAY', 1)).toEqual({ type: 'play' });
    expect(send('PLAY', 0)).toBeNull(); // REAPER stopped: its STOP line says so
    expect(send('STOP', 1)).toEqual({ type: 'stop' });
    expect(send('STOP', 0)).toBeNull();
    expect(lines.get('TEMPO')!.flag).toBe('f'); // raw BPM, not REAPER's normalised n/
    expect(send('TEMPO', 97.5)).toEqual({ type: 'tempo', bpm: 97.5 });
    expect(send('RECORD', 1)).toEqual({ type: 'record', on: true });
    expect(send('RECORD', 0)).toEqual({ type: 'record', on: false });
    expect(issues.count('osc', 'unknown-address')).toBe(0);
    for (const kind of ['wrong-type', 'bad-value', 'non-finite', 'out-of-range']) expect(issues.count('osc', kind), kind).toBe(0);
  });
});
