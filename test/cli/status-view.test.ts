import { describe, expect, it } from 'vitest';
import { StatusView, statusLines } from '../../src/cli/status-view.js';
import type { Telemetry } from '../../src/protocol.js';

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
  it('with --force and a model that cannot keep up: the deficit the check measured, under the engine figures', () => {
    const slow = statusLines({ ...t, deficit: { multiple: 0.17, gapMs: 8000, latencyMs: 100, reason: 'slow' } }, { device: 'null sink', issues: {} });
    expect(slow[3]).toBe('CANNOT KEEP UP (checked at start): x0.17 real time, needs x1');
    const ring = statusLines({ ...t, deficit: { multiple: 3.1, gapMs: 149.6, latencyMs: 10, reason: 'ring' } }, { device: 'null sink', issues: {} });
    expect(ring[3]).toBe('CANNOT KEEP UP (checked at start): audio every 150 ms, ring 10 ms');
    expect(ring[3].length).toBeLessThan(80);
    expect(statusLines(t, { device: 'null sink', issues: {} }).join('\n')).not.toContain('KEEP UP');
  });

  it('shows transport, engine figures and one line per feature; no reading is a dash, not NaN', () => {
    const lines = statusLines({ ...t, features: [...t.features, { name: 'piano', strength: -0.5, monitor: 0.1, gain: 0 }] }, { device: 'null sink', issues: { 'osc/malformed': 1 } });
    expect(lines).toHaveLength(8);
    expect(lines[0]).toBe('playing  120.0 BPM  "funk"  [REC]');
    expect(lines[1]).toBe('preset -  temperature   -   guidance   - ');
    expect(lines[2]).toContain('x25.0 real time');
    expect(lines[2]).toContain('underruns 2');
    expect(lines[3]).toBe('out: null sink  level  -   latency: device 11 ms, knob to sound   -  ms');
    // the output's peak: 8 cells of 6 dB
    const meter = (peakDbfs: number) => statusLines({ ...t, peakDbfs }, { device: 'null sink', issues: {} })[3];
    expect(meter(-3.2)).toBe('out: null sink  [####### ] -3 dB  latency: device 11 ms, knob to sound   -  ms');
    expect(meter(-Infinity)).toMatch(/\[        \] silent/);
    expect(meter(-3.2).length).toBeLessThan(80);
    expect(lines[4]).toBe('issues: osc/malformed 1');
    expect(statusLines({ ...t, preset: 'korg-nanokontrol2', temperature: 1, guidance: 1.5 }, { device: 'x', issues: {} })[1]).toBe('preset korg-nanokontrol2  temperature 1.00  guidance 1.50');
    expect(lines[5]).toMatch(/drums +\+1\.00 \[----------\|\] +monitor 0\.80 +pushing 0\.20/);
    // bass is not pushed: its gain means nothing, and it has no monitor reading yet
    expect(lines[6]).toMatch(/bass +0\.00 \[-----\| +\] +monitor +- +not pushed/);
    // a gain of 0 is the monitor finding the feature where it was asked to be, not a mute
    expect(lines[7]).toMatch(/piano +-0\.50 \[---\| +\] +monitor 0\.10 +there, push paused/);
    expect(lines.join('\n')).not.toContain('NaN');
    // at ordinary lengths every line fits an 80-column terminal as it is
    for (const l of lines) expect(l.length).toBeLessThan(80);
  });

  it('says where the music is and when each knob move was heard, in beats', () => {
    const lines = statusLines(
      { ...t, beats: 45.5, effects: { drums: { direction: 'in', state: 'heard', beats: 1.5 }, bass: { direction: 'out', state: 'waiting', beats: 2 } } },
      { device: 'null sink', issues: {} },
    );
    expect(lines[0]).toContain('bar 12.2');
    expect(lines.find((l) => l.includes('drums'))).toContain('in after 1.5 beats');
    expect(lines.find((l) => l.includes(' bass'))).toContain('out: waiting 2.0 beats');
  });

  it("flags the prompt's words the model does not know", () => {
    const lines = statusLines({ ...t, prompt: 'funk groovy', unknownWords: ['groovy'] }, { device: 'null sink', issues: {} });
    expect(lines[0]).toBe('playing  120.0 BPM  "funk groovy" (unknown: groovy)  [REC]');
  });

  it('shows the take being recorded, with its file and length', () => {
    const lines = statusLines(t, { device: 'null sink', issues: {}, take: { file: 'takes/take-2.wav', seconds: 12.34 } });
    expect(lines[0]).toContain('[REC takes/take-2.wav 12.3 s]');
    expect(lines[4]).toBe('issues: none');
  });

  it('never wraps a line: on an 80x24 terminal every line is cut to 79 columns, and a resize redraws from the top', () => {
    const written: string[] = [];
    const out = { isTTY: true, columns: 80, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream & { columns: number };
    const view = new StatusView(out);
    const long = statusLines({ ...t, prompt: 'funk happy energetic '.repeat(5) }, { device: 'a PortAudio device with a very long name '.repeat(2), issues: {}, take: { file: 'takes/' + 'x'.repeat(90) + '.wav', seconds: 1 } });
    view.render(long);
    view.render(long);
    const rows = (chunk: string) => chunk.split('\n').slice(0, -1).map((r) => r.replace(/\x1b\[(\d+A|2K|H|2J)/g, ''));
    for (const r of rows(written[0])) expect([...r].length).toBeLessThanOrEqual(79);
    expect(rows(written[0]).some((r) => r.endsWith('…'))).toBe(true);
    // the second frame moves up exactly the rows the first one drew
    expect(written[1].startsWith(`\x1b[${long.length}A`)).toBe(true);
    out.columns = 60;
    view.render(long);
    expect(written[2].startsWith('\x1b[H\x1b[2J')).toBe(true);
    for (const r of rows(written[2])) expect([...r].length).toBeLessThanOrEqual(59);
  });

  it('prints no raw control character from an ESC-laden prompt, note or feature name', () => {
    const evil = 'funk \x1b]0;pwned\x07 \x1b[2J\u202e' + 'x'.repeat(60_000);
    const written: string[] = [];
    const out = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const view = new StatusView(out);
    view.render(statusLines({ ...t, prompt: evil, features: [{ name: 'dr\x1b[1Aums', strength: 1, monitor: 0.5, gain: 1 }] }, { device: 'dev\x9b2J', issues: {} }));
    view.note(`engine: ${evil}`);
    const text = written.join('');
    // the view's own cursor controls are ESC [ n A and ESC [ 2K / ESC [ J; nothing else may carry a control character
    const foreign = text.replace(/\x1b\[(\d+A|2K|J|H|2J)/g, '');
    expect(foreign).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(text).toContain('\\x1b]0;pwned\\x07');
    expect(text.length).toBeLessThan(2000);
  });
});

describe('PeakMeter', () => {
  it('reads the loudest sample since the last reading, in dB full scale', async () => {
    const { PeakMeter } = await import('../../src/audio/peak-meter.js');
    const m = new PeakMeter();
    m.write(Float32Array.from([0.1, -0.5, 0.25]));
    m.write(Float32Array.from([0.2, 0.3]));
    expect(m.readDbfs()).toBeCloseTo(20 * Math.log10(0.5), 6);
    expect(m.readDbfs()).toBe(-Infinity);
  });
});
