/**
 * Ableton Link as a time source. The Link peer runs in a child process
 * (link-peer.ts: the binding cannot live in the audio process) and posts
 * snapshots of the timeline; this side turns them into the TimeSource's
 * tempo, transport and phase:
 *
 * - tempo: Link's session tempo, on each change (a peer's, or ours);
 * - transport: without start/stop sync the band plays as soon as it is in
 *   the session; with it, when the session plays, and stops when it stops.
 *   Either way the music starts where Link is: bar 1 is Link's current bar
 *   (the quantum, 4 beats, is the bar), at Link's beat within it;
 * - phase: when Link is at a song position, from the latest snapshot at its
 *   tempo. Link shares only the phase, not the beat count: if the timeline
 *   jumps (a session adopted on joining, a peer's beat request), the song
 *   position goes on and its bar lines move to Link's nearest ones; the
 *   follower then nudges or restarts the music on the new grid.
 *
 * The session's own tempo moves (/smitin/tempo) go to Link as a proposal
 * (proposeTempo): Link's tempo is the session's, so every peer follows and
 * the band hears it back like any other peer's change.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Subject } from 'rxjs';
import { printable } from '../util/printable.js';
import { hrtimeMs, LINK_PACKAGE, LINK_QUANTUM, type LinkSnapshot } from './link-binding.js';
import type { TimeSource, TransportEvent } from './time-source.js';

/** A change of tempo this small is the same tempo (Link's own rounding); the follower's nudge works finer. */
const TEMPO_EPSILON = 0.001;
/** The Link peer has this long to load the binding and post its first snapshot. */
const OPEN_TIMEOUT_MS = 5000;

export interface LinkSourceOptions {
  /** Follow the session's start/stop (Link's start/stop sync); off: play at once, and on. */
  startStopSync: boolean;
  /** Notes for the performer (peers joining and leaving). */
  say?: (message: string) => void;
}

export interface LinkTimeSource extends TimeSource {
  /** A snapshot from the Link peer, `t` on process.hrtime's clock. */
  take(s: LinkSnapshot): void;
}

/** The TimeSource of a stream of Link snapshots; `propose` sends a tempo to the Link session. */
export function linkTimeSource(options: LinkSourceOptions, propose: (bpm: number) => void, onClose: () => void = () => undefined): LinkTimeSource {
  const transport$ = new Subject<TransportEvent>();
  const tempo$ = new Subject<number>();
  // process.hrtime and performance.now() are the same monotonic clock from different origins
  const hrtimeToNow = hrtimeMs() - performance.now();
  let last: (LinkSnapshot & { at: number }) | null = null;
  let tempo = NaN;
  let peers = 0;
  /** While playing: the Link beat of song position 0, always one of Link's bar lines. */
  let origin: number | null = null;

  const linkBeatAt = (s: { at: number; beat: number; bpm: number }, at: number) => s.beat + ((at - s.at) * s.bpm) / 60_000;

  return {
    name: `Ableton Link (quantum ${LINK_QUANTUM} beats, start/stop sync ${options.startStopSync ? 'on' : 'off'})`,
    tempo$: tempo$.asObservable(),
    transport$: transport$.asObservable(),
    take(snapshot) {
      const s = { ...snapshot, at: snapshot.t - hrtimeToNow };
      const barLine = s.beat - s.phase;
      if (origin !== null && last) {
        // a beat count that jumped (a timeline adopted): the song position goes on, its bar lines on Link's nearest
        const jump = s.beat - linkBeatAt(last, s.at);
        origin = barLine + LINK_QUANTUM * Math.round((origin + jump - barLine) / LINK_QUANTUM);
      }
      last = s;
      if (Math.abs(s.bpm - tempo) > TEMPO_EPSILON || Number.isNaN(tempo)) tempo$.next((tempo = s.bpm));
      if (s.peers !== peers) {
        options.say?.(`sync: Link: ${s.peers} other peer${s.peers === 1 ? '' : 's'} in the session`);
        peers = s.peers;
      }
      const play = !options.startStopSync || s.playing;
      if (play && origin === null) {
        origin = barLine;
        transport$.next({ type: 'start', beats: s.phase, at: s.at });
      } else if (!play && origin !== null) {
        origin = null;
        transport$.next({ type: 'stop' });
      }
    },
    timeOf(beats) {
      if (origin === null || !last) return null;
      return last.at + ((origin + beats - last.beat) * 60_000) / last.bpm;
    },
    proposeTempo: propose,
    close() {
      transport$.complete();
      tempo$.complete();
      onClose();
    },
  };
}

/** Starts the Link peer: the compiled .js beside this file, or (tests, which run the sources) the .ts under tsx. */
function forkPeer(args: string[]): ChildProcess {
  const js = new URL('./link-peer.js', import.meta.url);
  const options = { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] as ('ignore' | 'pipe' | 'ipc')[] };
  if (existsSync(fileURLToPath(js))) return fork(fileURLToPath(js), args, options);
  const tsx = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;
  return fork(fileURLToPath(new URL('./link-peer.ts', import.meta.url)), args, { ...options, execArgv: ['--import', tsx] });
}

/**
 * Joins the Link session at `bpm` (the session's tempo if it is alone; a
 * session already there keeps its own). Rejects, saying what to install,
 * when the optional `abletonlink` binding is missing or did not build.
 */
export function openLinkSource(bpm: number, options: LinkSourceOptions): Promise<TimeSource> {
  const child = forkPeer([String(bpm), options.startStopSync ? 'start-stop' : 'free']);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const source = linkTimeSource(
    options,
    (to) => child.connected && child.send({ type: 'tempo', bpm: to }),
    () => {
      child.removeAllListeners('exit');
      if (child.connected) child.disconnect();
    },
  );
  let resolved = false;
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      if (child.connected) child.disconnect();
      child.kill('SIGKILL');
      reject(new Error(`${printable(why, 300)}; --sync link needs the optional dependency ${LINK_PACKAGE}: npm install ${LINK_PACKAGE} (it builds with node-gyp: python3, make and g++)`));
    };
    const timer = setTimeout(() => fail(`the Link peer did not answer in ${OPEN_TIMEOUT_MS / 1000} s`), OPEN_TIMEOUT_MS);
    child.on('error', (err) => fail(`the Link peer did not start (${err.message})`));
    child.on('exit', (code, signal) => {
      const why = `the Link peer ended (${signal ?? `exit ${code}`}${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''})`;
      // after the start: the band goes on at the last tempo and phase, extrapolated
      if (resolved) options.say?.(`sync: ${printable(why, 200)}; the band keeps Link's last tempo`);
      else fail(why);
    });
    child.on('message', (m: { type?: string; message?: string } & Partial<LinkSnapshot>) => {
      if (m?.type === 'unavailable') fail(`${LINK_PACKAGE} is not installed or did not build (${String(m.message)})`);
      else if (m?.type === 'state') {
        clearTimeout(timer);
        // the first snapshot only says the peer is there: the follower subscribes before the next one comes
        if (!resolved) {
          resolved = true;
          return resolve(source);
        }
        source.take(m as LinkSnapshot);
      }
    });
  });
}
