/**
 * The boundary with the `abletonlink` npm binding (an optional dependency):
 * the part of its API this app uses, and the poll that turns it into
 * snapshots of Link's timeline. Each snapshot says where Link's beat was at
 * one instant of the monotonic clock (process.hrtime, the clock Link itself
 * reads on Linux), so the process that receives it places the beat on its
 * own clock without the message's transit time in the figure.
 */

/** Link's timeline at one instant. */
export interface LinkSnapshot {
  /** process.hrtime (ms) when Link was at `beat`: one clock for every process on the machine. */
  t: number;
  /** Link's beat (this peer's count: only the phase is shared with the other peers). */
  beat: number;
  /** Where in the quantum (`LINK_QUANTUM` beats: a bar) the beat is, [0, quantum). */
  phase: number;
  bpm: number;
  /** The session's play state (shared only among peers with start/stop sync on). */
  playing: boolean;
  /** Other peers in the session. */
  peers: number;
}

/** A bar of 4/4: Link's phase is shared modulo this many beats, so the band's bar lines fall on the other peers'. */
export const LINK_QUANTUM = 4;
/** The npm package, for the messages that tell the user what to install. */
export const LINK_PACKAGE = 'abletonlink';

/** What the app uses of `abletonlink`'s AbletonLink object (its index.d.ts; properties are read after update()). */
export interface LinkBinding {
  update(): void;
  readonly beat: number;
  readonly phase: number;
  bpm: number;
  readonly isPlaying: boolean;
  readonly numPeers: number;
  quantum: number;
  enablePlayStateSync(): void;
  disable(): void;
}

export type LinkBindingClass = new (bpm?: number, quantum?: number, enable?: boolean) => LinkBinding;

export function hrtimeMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Reads Link's timeline now: update() samples it at Link's clock, and the monotonic clock is read beside it (microseconds apart). */
export function snapshotOf(link: LinkBinding): LinkSnapshot {
  link.update();
  const t = hrtimeMs();
  return { t, beat: link.beat, phase: link.phase, bpm: link.bpm, playing: link.isPlaying, peers: link.numPeers };
}

/**
 * Polls `link` every `everyMs` and posts a snapshot. The beat between two is
 * extrapolated at the tempo, so the poll only bounds how late a change (a
 * peer's tempo, start, stop, a timeline adopted on joining) is seen.
 */
export function pollLink(link: LinkBinding, post: (s: LinkSnapshot) => void, everyMs: number): () => void {
  post(snapshotOf(link));
  const timer = setInterval(() => post(snapshotOf(link)), everyMs);
  return () => clearInterval(timer);
}
