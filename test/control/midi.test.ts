import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { controlCommands } from '../../src/control/index.js';
import { IssueLog } from '../../src/control/issues.js';
import { easymidiFactory, openMidiInput, openMidiOutput, type CcEvent, type MidiFactory, type MidiInputPort } from '../../src/control/midi-source.js';
import { listMidiPorts } from '../../src/control/midi-ports.js';
import { parsePreset } from '../../src/control/presets.js';

/** An easymidi Input stand-in: an EventEmitter of easymidi-shaped objects. */
class FakeInput extends EventEmitter implements MidiInputPort {
  closed = false;
  close(): void {
    this.closed = true;
  }
}

function fakeFactory(ports: string[]) {
  const opened: FakeInput[] = [];
  const sent: unknown[] = [];
  const factory: MidiFactory = {
    input: (name) => {
      if (!ports.includes(name)) throw new Error(`No MIDI input found with name: ${name}`);
      const p = new FakeInput();
      opened.push(p);
      return p;
    },
    output: (name) => {
      if (!ports.includes(name)) throw new Error(`No MIDI output found with name: ${name}`);
      return { send: (type, msg) => void sent.push([type, msg]), close: () => undefined };
    },
    inputs: () => [...ports],
    outputs: () => [...ports],
  };
  return { factory, opened, sent, ports };
}

describe('MIDI at the easymidi boundary', () => {
  it('turns easymidi events into streams, and counts malformed ones', () => {
    const { factory, opened } = fakeFactory(['nanoKONTROL2 SLIDER/KNOB']);
    const issues = new IssueLog();
    let t = 1000;
    const input = openMidiInput('nanoKONTROL2 SLIDER/KNOB', { factory, issues, now: () => t });
    const got: unknown[] = [];
    input.cc$.subscribe((e) => got.push(['cc', e]));
    input.noteon$.subscribe((e) => got.push(['noteon', e]));
    input.clock$.subscribe((e) => got.push(['clock', e]));
    input.start$.subscribe(() => got.push(['start']));
    input.stop$.subscribe(() => got.push(['stop']));
    const port = opened[0];
    port.emit('cc', { controller: 16, value: 64, channel: 0, _type: 'cc' });
    port.emit('noteon', { note: 36, velocity: 100, channel: 9 });
    port.emit('clock');
    t = 1020;
    port.emit('clock');
    port.emit('start');
    port.emit('stop');
    port.emit('cc', { controller: 200, value: 1, channel: 0 });
    port.emit('cc', null);
    expect(got).toEqual([
      ['cc', { controller: 16, value: 64, channel: 0 }],
      ['noteon', { note: 36, velocity: 100, channel: 9 }],
      ['clock', 1000],
      ['clock', 1020],
      ['start'],
      ['stop'],
    ]);
    expect(issues.count('midi', 'bad-message')).toBe(2);
    input.close();
    expect(port.closed).toBe(true);
  });

  it('a port that does not exist: the error names it and the ports there are', () => {
    const { factory } = fakeFactory(['Launch Control XL', 'MPK mini 3']);
    expect(() => openMidiInput('nanoKONTROL2', { factory })).toThrow(
      'MIDI input "nanoKONTROL2" cannot be opened (No MIDI input found with name: nanoKONTROL2); available inputs: "Launch Control XL", "MPK mini 3"',
    );
    expect(() => openMidiOutput('nano', { factory })).toThrow('available outputs: "Launch Control XL", "MPK mini 3"');
  });

  it('no MIDI subsystem: the live wiring reports it and OSC/preset control keeps working', async () => {
    const noRtMidi: MidiFactory = {
      input: () => {
        throw new Error('Failed to initialise RtMidi');
      },
      output: () => {
        throw new Error('Failed to initialise RtMidi');
      },
      inputs: () => {
        throw new Error('Failed to initialise RtMidi');
      },
      outputs: () => [],
    };
    const preset = parsePreset({ name: 'p', source: 's', features: { drums: { cc: 70, initial: 0.25 } } }, 'inline');
    const control = controlCommands({ preset, features: ['drums'], midi: { input: 'Any', output: 'Any', factory: noRtMidi } });
    const reports: string[] = [];
    control.issues$.subscribe((r) => reports.push(r.message));
    const commands: unknown[] = [];
    control.commands$.subscribe((c) => commands.push(c));
    expect(control.midiInput).toBeNull();
    expect(reports).toEqual(['MIDI input "Any" cannot be opened: no MIDI subsystem (Failed to initialise RtMidi; on Linux the ALSA sequencer /dev/snd/seq is missing). Running without MIDI.']);
    expect(control.issues.count('midi', 'open-failed')).toBe(2);
    expect(commands).toEqual([{ type: 'strength', feature: 'drums', value: 0.25 }]);
    control.mapping.setStrength('drums', 0.5);
    await new Promise((r) => setTimeout(r, 300));
    expect(commands.at(-1)).toEqual({ type: 'strength', feature: 'drums', value: 0.5 });
    await control.dispose();
  });

  it("survives easymidi 3.2.0's throw on a multi-chunk SysEx (real easymidi code on a fake RtMidi)", () => {
    // Load easymidi afresh with @julusian/midi replaced by a fake, so easymidi's own message handler runs.
    const require = createRequire(import.meta.url);
    const easymidiPath = require.resolve('easymidi');
    const rtmidiPath = createRequire(easymidiPath).resolve('@julusian/midi');
    const saved = { easymidi: require.cache[easymidiPath], rtmidi: require.cache[rtmidiPath] };
    const rtInputs: EventEmitter[] = [];
    class FakeRtInput extends EventEmitter {
      constructor() {
        super();
        rtInputs.push(this);
      }
      ignoreTypes() {}
      getPortCount() {
        return 1;
      }
      getPortName() {
        return 'Fake Synth';
      }
      openPort() {}
      closePort() {}
      isPortOpen() {
        return true;
      }
    }
    try {
      delete require.cache[easymidiPath];
      require.cache[rtmidiPath] = { id: rtmidiPath, filename: rtmidiPath, loaded: true, exports: { input: FakeRtInput, output: FakeRtInput } } as never;
      const easymidi = require('easymidi');
      // first, the bug as it is: the second chunk throws out of the RtMidi callback
      const raw = new easymidi.Input('Fake Synth');
      const rawRt = raw._input as EventEmitter;
      rawRt.emit('message', 0, [0xf0, 0x41, 0x10]);
      expect(() => rawRt.emit('message', 0, [0x42, 0xf7])).toThrow(ReferenceError);
      raw.close();

      const issues = new IssueLog();
      const factory = easymidiFactory(() => easymidi);
      const input = openMidiInput('Fake Synth', { factory, issues });
      // easymidi also creates throwaway RtMidi inputs to list ports; the port's own one has the message listener
      const rt = rtInputs.filter((r) => r.listenerCount('message') > 0).at(-1)!;
      const cc: CcEvent[] = [];
      input.cc$.subscribe((e) => cc.push(e));
      rt.emit('message', 0, [0xf0, 0x41, 0x10]);
      expect(() => rt.emit('message', 0, [0x42, 0xf7])).not.toThrow();
      rt.emit('message', 0, [0xb0, 7, 100]);
      expect(cc).toEqual([{ channel: 0, controller: 7, value: 100 }]);
      expect(issues.count('midi', 'easymidi-throw')).toBe(1);
      input.close();
    } finally {
      if (saved.easymidi) require.cache[easymidiPath] = saved.easymidi;
      else delete require.cache[easymidiPath];
      if (saved.rtmidi) require.cache[rtmidiPath] = saved.rtmidi;
      else delete require.cache[rtmidiPath];
    }
  });

  it('a port that vanishes is reported, and reopened when it comes back', () => {
    const { factory, opened, ports } = fakeFactory(['MPK mini 3']);
    const issues = new IssueLog();
    const scheduler = new VirtualTimeScheduler(VirtualAction, 10_000);
    const input = openMidiInput('MPK mini 3', { factory, issues, watchMs: 1000, scheduler });
    const connected: boolean[] = [];
    input.connected$.subscribe((c) => connected.push(c));
    const cc: CcEvent[] = [];
    input.cc$.subscribe((e) => cc.push(e));
    ports.length = 0; // unplugged
    scheduler.maxFrames = 3000;
    scheduler.flush();
    expect(issues.count('midi', 'port-vanished')).toBe(1);
    expect(opened[0].closed).toBe(true);
    ports.push('MPK mini 3'); // plugged back
    scheduler.maxFrames = 5000;
    scheduler.flush();
    expect(opened).toHaveLength(2);
    opened[1].emit('cc', { controller: 70, value: 1, channel: 0 });
    expect(cc).toEqual([{ controller: 70, value: 1, channel: 0 }]);
    expect(connected).toEqual([true, false, true]);
    input.close();
  });

  it('value echo reaches the MIDI output', () => {
    const { factory, sent } = fakeFactory(['X-Touch Mini']);
    const preset = parsePreset({ name: 'p', source: 's', echo: true, features: { drums: { cc: 1 } } }, 'inline');
    const control = controlCommands({ preset, features: ['drums'], midi: { output: 'X-Touch Mini', factory } });
    control.commands$.subscribe();
    control.mapping.setStrength('drums', -1);
    expect(sent).toEqual([
      ['cc', { channel: 0, controller: 1, value: 64 }],
      ['cc', { channel: 0, controller: 1, value: 0 }],
    ]);
    void control.dispose();
  });

  const ports = listMidiPorts();
  it.skipIf(!ports.available)(`opens a real port through RtMidi (skipped here: ${ports.reason ?? 'MIDI available'})`, async () => {
    const easymidi = createRequire(import.meta.url)('easymidi');
    const out = new easymidi.Output('smitin-test-loop', true);
    try {
      const input = openMidiInput('smitin-test-loop');
      const got: CcEvent[] = [];
      input.cc$.subscribe((e) => got.push(e));
      out.send('cc', { controller: 70, value: 99, channel: 0 });
      const end = Date.now() + 2000;
      while (got.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual([{ controller: 70, value: 99, channel: 0 }]);
      input.close();
    } finally {
      out.close();
    }
  });
});
