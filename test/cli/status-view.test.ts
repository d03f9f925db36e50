import { describe, expect, it } from 'vitest';
import { statusLines } from '../../src/cli/status-view.js';
import type { Telemetry } from '../../src/engine/protocol.js';

const t: Telemetry = {
  time: 3,
  playing: true,
  tempo: 120,
  prompt: 'funk',
  features: [
    { name: 'drums', strength: 1, monitor: 0.8, gain: 0.2 },
    { name: 'bass', strength: 0, monitor: Number.NaN, gain: 1 },
  ],
  realtimeFactor: 25,
  stepMs: 1.5,
  ringMs: 150,
  underruns: 2,
  deviceLatencyMs: 10.7,
  controlLatencyMs: Number.NaN,
  recording: true,
};

describe('statusLines', () => {
  it('shows transport, engine figures and one line per feature; no reading is a dash, not NaN', () => {
    const lines = statusLines(t, { device: 'null sink', issues: 1 });
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('playing  120.0 BPM  "funk"  [REC]  null sink');
    expect(lines[1]).toContain('x25.0 real time');
    expect(lines[1]).toContain('underruns 2');
    expect(lines[1]).toContain('control latency   -  ms');
    expect(lines[2]).toMatch(/drums +strength +1\.00 \[----------\|\] +monitor 0\.80 +gain 0\.20/);
    // bass is not pushed: its gain means nothing, and it has no monitor reading yet
    expect(lines[3]).toMatch(/bass +strength +0\.00 \[-----\| +\] +monitor +- +gain +-/);
    expect(lines.join('\n')).not.toContain('NaN');
  });
});
