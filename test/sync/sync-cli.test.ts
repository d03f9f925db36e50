/**
 * `--sync` as a user meets it: a bad source or --sync midi without a port is
 * exit 2 before any audio; a source that cannot open (no MIDI subsystem
 * here) is said once and the session plays on its own time. And with
 * --sync midi the preset's own clock following steps aside, so a DAW's
 * start is one cued play, not two.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { controlCommands } from '../../src/control/index.js';
import type { MidiFactory, MidiInputPort } from '../../src/control/midi-source.js';
import { loadPreset } from '../../src/control/presets.js';
import type { EngineCommand } from '../../src/protocol.js';
import { smitin } from '../helpers/cli.js';
import { runLive, summaryOf } from '../helpers/live.js';

describe('--sync', () => {
  it('refuses a source it does not know, and --sync midi without --midi-in, with exit 2', () => {
    const bogus = smitin(['live', '--sync', 'ableton']);
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/--sync <source>' argument 'ableton' is invalid. Allowed choices are off, midi, link, abletonosc/);
    const noPort = smitin(['live', '--sync', 'midi', '--osc-port', '0', '--no-web']);
    expect(noPort.status).toBe(2);
    expect(noPort.stderr.trim()).toBe('error: --sync midi follows the MIDI clock of --midi-in: name the port the DAW sends its clock to (--midi-in <name>)');
  });

  it('a MIDI port that cannot open: said, and the music plays on its own time', async () => {
    const live = runLive(['0', '--no-web', '--sync', 'midi', '--midi-in', 'DAW', '--duration', '2', '--json']);
    expect(await live.exited).toBe(0);
    expect(live.err()).toMatch(/sync: --sync midi cannot follow \(no MIDI input is open \(see the MIDI note above\)\); the session keeps its own tempo and transport/);
    // playing, not parked waiting for a DAW: a stopped engine makes one frame ahead and no more
    expect(summaryOf(live.out()).frames).toBeGreaterThan(8);
  }, 60_000);

  it('with --sync midi the preset does not follow the clock or start/stop (the follower does)', () => {
    const run = (clock: boolean) => {
      const port = Object.assign(new EventEmitter(), { close: () => undefined }) as MidiInputPort & EventEmitter;
      const factory: MidiFactory = { input: () => port, output: () => ({ send: () => undefined, close: () => undefined }), inputs: () => ['DAW'], outputs: () => [] };
      const control = controlCommands({ preset: loadPreset('generic-8-knob'), features: [], midi: { input: 'DAW', factory, watchMs: 60_000, clock } });
      const got: EngineCommand[] = [];
      const sub = control.commands$.subscribe((c) => got.push(c));
      port.emit('start', {});
      // pulses as fast as they come: a tempo (clamped) for a preset that follows the clock
      for (let i = 0; i < 96; i++) port.emit('clock', {});
      sub.unsubscribe();
      void control.dispose();
      return got.map((c) => c.type);
    };
    expect(run(true)).toContain('play');
    expect(run(true)).toContain('tempo');
    expect(run(false)).not.toContain('play');
    expect(run(false)).not.toContain('tempo');
  });
});
