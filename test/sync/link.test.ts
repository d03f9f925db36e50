/**
 * Ableton Link as a time source.
 *
 * At the binding's boundary (always): a stand-in with `abletonlink`'s API and
 * a timeline of its own drives the source: the tempo, the start on Link's
 * bar, the phase, a peer's tempo change, a timeline that jumps, start/stop
 * sync, and the performer's tempo going out to the session.
 *
 * Two real peers (when the binding is built and `unshare --net` is allowed):
 * inside a network namespace with only loopback (Link's discovery is
 * multicast: nothing reaches the machine's network), a plain node peer and
 * the band following Link through the session's own path. The peer's tempo
 * must reach the engine's telemetry, and each heard downbeat must fall on
 * the peer's bar line, SYNC_START_DELAY_MS later.
 *
 * Without the binding (hidden at require): `--sync link` says what to
 * install and the session plays on its own time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SYNC_START_DELAY_MS } from '../../src/constants.js';
import type { EngineCommand } from '../../src/protocol.js';
import { TimeFollower } from '../../src/sync/follow-time.js';
import { hrtimeMs, LINK_QUANTUM, snapshotOf, type LinkBinding } from '../../src/sync/link-binding.js';
import { linkTimeSource } from '../../src/sync/link-source.js';
import type { TransportEvent } from '../../src/sync/time-source.js';
import { percentile } from '../../src/util/percentile.js';
import { smitin } from '../helpers/cli.js';
import { runLive, summaryOf } from '../helpers/live.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

/** `abletonlink`'s AbletonLink, with a timeline the test moves: beat `anchor.beat` at hrtime `anchor.t`, at `bpm`. */
class StandInLink implements LinkBinding {
  beat = 0;
  phase = 0;
  isPlaying = false;
  numPeers = 0;
  quantum = LINK_QUANTUM;
  private tempo = 120;
  private anchor = { t: hrtimeMs(), beat: 0 };
  get bpm(): number {
    return this.tempo;
  }
  /** As Link's setTempo: the beat now stays where it is. */
  set bpm(bpm: number) {
    const t = hrtimeMs();
    this.anchor = { t, beat: this.beatAt(t) };
    this.tempo = bpm;
  }
  /** A timeline adopted (joining a session): the beat count jumps by `beats`. */
  jump(beats: number): void {
    this.anchor.beat += beats;
  }
  beatAt(t: number): number {
    return this.anchor.beat + ((t - this.anchor.t) * this.tempo) / 60_000;
  }
  /** When the timeline is at `beat`, on performance.now()'s clock. */
  timeOf(beat: number): number {
    return this.anchor.t + ((beat - this.anchor.beat) * 60_000) / this.tempo - (hrtimeMs() - performance.now());
  }
  update(): void {
    this.beat = this.beatAt(hrtimeMs());
    this.phase = ((this.beat % LINK_QUANTUM) + LINK_QUANTUM) % LINK_QUANTUM;
  }
  enablePlayStateSync(): void {}
  disable(): void {}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The clocks' offset is read at two moments, microseconds apart on an idle machine; a loaded one can be preempted between them (0.12 ms seen). */
const SAME_MS = 1;

function follow(startStopSync: boolean) {
  const link = new StandInLink();
  const proposed: number[] = [];
  const source = linkTimeSource({ startStopSync }, (bpm) => proposed.push(bpm));
  const events: TransportEvent[] = [];
  const tempos: number[] = [];
  source.transport$.subscribe((e) => events.push(e));
  source.tempo$.subscribe((t) => tempos.push(t));
  return { link, source, events, tempos, proposed, take: () => source.take(snapshotOf(link)) };
}

describe('Link time source at the binding boundary', () => {
  it('plays at once on Link bar 1 = its current bar, follows a peer tempo and a timeline jump, keeps the bar phase', async () => {
    const { link, source, events, tempos, proposed, take } = follow(false);
    link.jump(6.5); // mid-bar: beat 2.5 of a bar
    take();
    expect(tempos).toEqual([120]);
    expect(events).toHaveLength(1);
    const start = events[0] as Extract<TransportEvent, { type: 'start' }>;
    expect(start.type).toBe('start');
    // song position = Link's beat within its bar, now
    expect(start.beats).toBeCloseTo(link.phase, 6);
    expect(Math.abs(start.at - link.timeOf(link.beat))).toBeLessThan(SAME_MS);
    // the music's bar 2 is Link's next bar line (beat 8)
    expect(Math.abs(source.timeOf(4)! - link.timeOf(8))).toBeLessThan(SAME_MS);

    await sleep(30);
    link.bpm = 133; // a peer's change
    take();
    expect(tempos).toEqual([120, 133]);
    expect(Math.abs(source.timeOf(4)! - link.timeOf(8))).toBeLessThan(SAME_MS);
    expect(Math.abs(source.timeOf(8)! - link.timeOf(12))).toBeLessThan(SAME_MS);
    // a snapshot with the same tempo says nothing new
    take();
    expect(tempos).toEqual([120, 133]);

    // a timeline adopted on joining: 1.25 beats later than the count went; the song position goes on and its next bar
    // line is Link's nearest one (song bar 2 stays on Link beat 8, which now comes 1.25 beats sooner)
    link.jump(1.25);
    take();
    const bar2 = source.timeOf(4)!;
    expect(Math.abs(bar2 - link.timeOf(8))).toBeLessThan(SAME_MS);
    // and bar lines stay Link's: whole quanta apart at its tempo
    expect(source.timeOf(8)! - bar2).toBeCloseTo((4 * 60_000) / 133, 3);

    source.proposeTempo!(101);
    expect(proposed).toEqual([101]);
    expect(events).toHaveLength(1); // never stopped: without start/stop sync the band plays on
    source.close();
  });

  it('with start/stop sync: waits for the session to play, starts on its bar, stops with it', () => {
    const { link, source, events, take } = follow(true);
    link.jump(9); // beat 1 of bar 3
    take();
    expect(events).toEqual([]);
    expect(source.timeOf(0)).toBeNull();
    link.isPlaying = true;
    take();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'start' });
    expect((events[0] as { beats: number }).beats).toBeCloseTo(link.phase, 6);
    expect(Math.abs(source.timeOf(4)! - link.timeOf(12))).toBeLessThan(SAME_MS);
    take();
    expect(events).toHaveLength(1);
    link.isPlaying = false;
    take();
    expect(events.map((e) => e.type)).toEqual(['start', 'stop']);
    expect(source.timeOf(4)).toBeNull();
    source.close();
  });

  it("the performer's tempo goes to a source that takes one (Link), and stays the engine's otherwise", () => {
    const sent: EngineCommand[] = [];
    const { source, proposed } = follow(false);
    const follower = new TimeFollower(source, (c) => sent.push(c), SYNC_START_DELAY_MS, () => () => undefined);
    expect(follower.proposeTempo(90)).toBe(true);
    expect(proposed).toEqual([90]);
    const { proposeTempo: _, ...fixed } = follow(false).source;
    const daw = new TimeFollower(fixed, (c) => sent.push(c), SYNC_START_DELAY_MS, () => () => undefined);
    expect(daw.proposeTempo(90)).toBe(false);
    follower.close();
    daw.close();
  });
});

describe('--sync link as a user meets it', () => {
  it('--link-start-stop without --sync link is exit 2', () => {
    const r = smitin(['live', '--link-start-stop', '--osc-port', '0', '--no-web']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('error: --link-start-stop follows a Link session\'s start and stop: it goes with --sync link (got --sync off)');
  });

  it('without the abletonlink binding: says what to install, and the music plays on its own time', async () => {
    const hide = fileURLToPath(new URL('./peers/hide-abletonlink.cjs', import.meta.url));
    const live = runLive(['0', '--no-web', '--sync', 'link', '--duration', '2', '--json'], { NODE_OPTIONS: `--require ${hide}` });
    expect(await live.exited).toBe(0);
    expect(live.err()).toMatch(
      /sync: --sync link cannot follow \(abletonlink is not installed or did not build \(Cannot find module 'abletonlink'\); --sync link needs the optional dependency abletonlink: npm install abletonlink \(it builds with node-gyp: python3, make and g\+\+\)\); the session keeps its own tempo and transport/,
    );
    // playing, not parked waiting for a DAW: a stopped engine makes one frame ahead and no more
    expect(summaryOf(live.out()).frames).toBeGreaterThan(8);
  }, 60_000);
});

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The binding loads (in a throwaway process: it aborts the process that loaded it on exit). */
const bindingBuilt = spawnSync(process.execPath, ['-e', "require('abletonlink'); console.log('loaded'); process.kill(process.pid, 'SIGKILL')"], { cwd: ROOT, encoding: 'utf8' }).stdout?.includes('loaded');
const NAMESPACE = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo';
const namespaceAllowed = spawnSync('unshare', ['--net', 'bash', '-c', NAMESPACE], { encoding: 'utf8' }).status === 0;
const modelReady = MODEL_DIR === SHIPPED_MODEL && existsSync(join(SHIPPED_MODEL, 'probes.safetensors'));
const twoPeers = bindingBuilt && namespaceAllowed && modelReady;
if (!twoPeers) {
  console.warn(
    `skipping the two-peer Link test: ${[!bindingBuilt && 'the abletonlink binding is not built (npm install abletonlink)', !namespaceAllowed && '`unshare --net` is not permitted here (Link discovery must stay off the network)', !modelReady && 'no shipped tinyband with probes'].filter(Boolean).join('; ')}`,
  );
}

describe.skipIf(!twoPeers)('two Link peers on loopback, in a network namespace', () => {
  it("a peer's tempo reaches the engine, and the heard downbeats fall on the peer's bar lines", () => {
    // ours at 97, the peer at 100 (one of the two wins on joining), then the peer sets 133 six seconds after it sees us (a bar or two at 100 first)
    const script = `${NAMESPACE} && exec node --import tsx test/sync/peers/link-session.ts 18 97 100 133 6000`;
    const r = spawnSync('unshare', ['--net', 'bash', '-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const peer = lines.filter((l) => l.type === 'peer');
    const set = lines.find((l) => l.type === 'set');
    const joined = lines.find((l) => l.type === 'say' && l.message === 'sync: Link: 1 other peer in the session');
    expect(joined, 'the peers never met').toBeDefined();
    expect(set, 'the peer never saw us').toBeDefined();

    // the tempo: 133 in the engine's telemetry once the ring's older audio is out (the follower's nudge is within 1%)
    const late = lines.filter((l) => l.type === 'telemetry' && l.t > set.t + 4000).map((l) => l.tempo);
    expect(late.length).toBeGreaterThan(10);
    for (const t of late) expect(Math.abs(t - 133)).toBeLessThan(133 * 0.01 + 0.01);

    // the phase: where the peer was (its own snapshots, its clock = ours) SYNC_START_DELAY_MS before each heard downbeat
    const offBar = (t: number) => {
      const s = peer.filter((p) => p.t <= t).at(-1)!;
      const beat = s.beat + ((t - s.t) * s.bpm) / 60_000;
      const r4 = ((beat % LINK_QUANTUM) + LINK_QUANTUM) % LINK_QUANTUM;
      return ((r4 > LINK_QUANTUM / 2 ? r4 - LINK_QUANTUM : r4) * 60_000) / s.bpm;
    };
    // before the change, once the peers have met (the timeline one of them adopts then restarts the music) and settled
    const before = lines.filter((l) => l.type === 'downbeat' && l.t > joined.t + 2500 && l.t < set.t).map((l) => offBar(l.t - SYNC_START_DELAY_MS));
    const after = lines.filter((l) => l.type === 'downbeat' && l.t > set.t + 4000).map((l) => offBar(l.t - SYNC_START_DELAY_MS));
    console.log(`heard downbeat - (peer's bar + ${SYNC_START_DELAY_MS} ms), ms: before the change ${before.map((e) => e.toFixed(1)).join(', ')}; 4 s after it ${after.map((e) => e.toFixed(1)).join(', ')}`);
    expect(before.length).toBeGreaterThanOrEqual(1);
    expect(after.length).toBeGreaterThanOrEqual(3);
    // as with MIDI clock (midi-phase.test.ts): a heard line is known to a timer tick of the null sink's pull, a few ms
    // late under load; 15 ms is under a 32nd note at 133 BPM (56 ms). After the peer's tempo change the follower
    // pulls the phase in bar by bar (measured 4 s after it: 5-18 ms, then 0.4-6, then within 1.3), so the first
    // bar after may still be settling: within 25 ms (under half a 32nd). No drift: the median and the last within 8 ms.
    for (const e of before) expect(Math.abs(e)).toBeLessThan(15);
    for (const e of after) expect(Math.abs(e)).toBeLessThan(25);
    for (const e of after.slice(1)) expect(Math.abs(e)).toBeLessThan(15);
    expect(Math.abs(percentile(after, 50))).toBeLessThan(8);
    expect(Math.abs(after.at(-1)!)).toBeLessThan(8);
  }, 120_000);
});
