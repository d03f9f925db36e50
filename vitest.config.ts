import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Test files that play in real time (into a JACK dummy server, against a
 * MIDI clock or a Link peer on real timers, or under an OSC storm that must
 * not cost an underrun). They run as a
 * project of their own after all the others (sequence.groupOrder), one file
 * at a time: beside the rest of the suite on two cores the player is late
 * for the graph dozens of times a run, and two JACK graphs with realtime
 * threads slow each other down. The tests tolerate that load (they check
 * the shape of every gap, not its absence); this keeps most of it away.
 */
const REALTIME = ['test/engine/live-jack.test.ts', 'test/engine/live-jack-stems.test.ts', 'test/audio/jack-output.test.ts', 'test/sync/midi-phase.test.ts', 'test/sync/link.test.ts', 'test/engine/live-stage.test.ts', 'test/sync/abletonosc.test.ts'];

export default defineConfig({
  test: {
    // CLI tests start the built binary in child processes; a shared 2-core machine can be slow.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // probes a developer trained (smitin probes train writes them to $XDG_DATA_HOME/smitin) would steer the tests' renders: an empty data folder
    env: { XDG_DATA_HOME: mkdtempSync(join(tmpdir(), 'smitin-test-data-')) },
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...REALTIME] },
      },
      {
        extends: true,
        test: { name: 'realtime', include: REALTIME, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
