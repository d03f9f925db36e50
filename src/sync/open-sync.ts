/**
 * `--sync`: opens the configured time source and the follower that makes
 * the session follow it. The session waits, stopped, for the DAW's start;
 * the performer is told where the time comes from and the fixed offset the
 * DAW takes off its recording. A source that cannot open is said, and the
 * session keeps its own time: the music never depends on a DAW being there.
 */
import { SYNC_START_DELAY_MS } from '../constants.js';
import type { MidiInput } from '../control/midi-source.js';
import type { EngineCommand } from '../protocol.js';
import { quoted } from '../util/printable.js';
import { TimeFollower } from './follow-time.js';
import { midiClockSource } from './midi-clock-source.js';
import type { SyncSource, TimeSource } from './time-source.js';

export interface SyncDeps {
  /** The session's MIDI input (null: none open). */
  midi: MidiInput | null;
  send: (cmd: EngineCommand) => void;
  tapGrid: (listener: (beats: number, at: number) => void) => () => void;
  /** The audio output's latency (device and the binding's queue), ms: the rest of the offset a DAW sees. */
  outputLatencyMs: number;
  say: (message: string) => void;
  /** Other sources (AbletonOSC, Link), opened by name. */
  open?: Partial<Record<SyncSource, () => Promise<TimeSource>>>;
}

export async function openSync(sync: SyncSource, deps: SyncDeps): Promise<TimeFollower | null> {
  if (sync === 'off') return null;
  let source: TimeSource;
  try {
    if (sync === 'midi') {
      if (!deps.midi) throw new Error('no MIDI input is open (see the MIDI note above)');
      source = midiClockSource(deps.midi, `MIDI clock from ${quoted(deps.midi.name, 60)}`);
    } else {
      const open = deps.open?.[sync];
      if (!open) throw new Error(`there is no ${sync} support in this version (docs/sync.md)`);
      source = await open();
    }
  } catch (err) {
    deps.say(`sync: --sync ${sync} cannot follow (${(err as Error).message}); the session keeps its own tempo and transport`);
    return null;
  }
  const follower = new TimeFollower(source, deps.send, SYNC_START_DELAY_MS, deps.tapGrid);
  // the music starts with the DAW: until then the engine waits, parked on a bar line
  deps.send({ type: 'stop' });
  const offset = Math.round(SYNC_START_DELAY_MS + deps.outputLatencyMs);
  deps.say(
    `sync: following ${source.name}; waiting for the DAW to play. The music is heard ${offset} ms after the DAW's beat (${SYNC_START_DELAY_MS} ms start + ${Math.round(deps.outputLatencyMs)} ms output): record it with an offset of -${offset} ms (docs/sync.md)`,
  );
  return follower;
}
