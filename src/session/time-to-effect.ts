/**
 * Knob -> audible on tinyband, where the tokens say exactly what plays:
 * after a knob moves, when is the instrument heard coming in (or going)?
 * The move's time is the ring sample the output was handing to the device
 * when the control arrived; each frame's time is the ring sample its audio
 * starts at, so the ring's lookahead is inside the figure (the device's own
 * buffer comes on top).
 *
 * - In: the first note of the instrument heard after the move, in a bar in
 *   which it is present (sounding in at least a quarter of the frames, the
 *   eval's success test): a stray hit is not the drums coming in.
 * - Out: the start of the first stretch of a whole bar in which it is
 *   silent.
 * A move that shows no effect within 4 bars has none.
 *
 * Used by the session (the status view's "drums in after 1.5 beats") and
 * bench/time-to-effect.bench.ts.
 */
import { BEATS_PER_BAR, FRAMES_PER_BAR } from '../constants.js';
import { INSTRUMENTS, soundingInstruments } from '../model/tinyband/layout.js';
import { INSTRUMENT_SUCCESS_SHARE } from '../smitin/tinyband-features.js';
import type { FeatureEffect } from '../protocol.js';

/** Bars listened to after a move; an effect later than this counts as none. */
export const EFFECT_WINDOW_BARS = 4;

export interface HeardFrame {
  /** The frame's tokens, one per codebook. */
  frame: readonly number[];
  /** The ring sample its audio starts at. */
  position: number;
}

/** Frames of context the sounding flags need before the first frame asked about (a held note started earlier). */
const CONTEXT_FRAMES = 3 * FRAMES_PER_BAR;

/** The instrument's index in the token layout, or -1 for a feature that is not an instrument (minor, dense). */
export function instrumentIndex(feature: string): number {
  return (INSTRUMENTS as readonly string[]).indexOf(feature);
}

/** Per instrument, per frame from `start` on: 1 where it sounds. Frame i of `frames` is the music's frame i (bars start at multiples of 16). */
function soundingFrom(frames: readonly HeardFrame[], from: number): { start: number; flags: Uint8Array[] } {
  const start = Math.max(0, from - CONTEXT_FRAMES);
  const slice = frames.slice(start);
  return { start, flags: soundingInstruments([0, 1, 2, 3].map((k) => Uint16Array.from(slice, (f) => f.frame[k]))) };
}

function presentInBar(flags: Uint8Array, start: number, bar: number): boolean {
  let n = 0;
  for (let f = bar * FRAMES_PER_BAR; f < (bar + 1) * FRAMES_PER_BAR; f++) n += flags[f - start] ?? 0;
  return n >= INSTRUMENT_SUCCESS_SHARE * FRAMES_PER_BAR;
}

function silentBarFrom(flags: Uint8Array, i: number): boolean {
  if (i + FRAMES_PER_BAR > flags.length) return false;
  for (let k = i; k < i + FRAMES_PER_BAR; k++) if (flags[k]) return false;
  return true;
}

/** Whether bar `bar` of the music has instrument `inst` in (present) or out. */
export function barHas(frames: readonly HeardFrame[], inst: number, bar: number): boolean {
  const { start, flags } = soundingFrom(frames, bar * FRAMES_PER_BAR);
  return presentInBar(flags[inst], start, bar);
}

export type EffectResult = { found: true; samples: number } | { found: false; final: boolean };

/**
 * Samples from the move (heard at ring sample `at`) to its effect in `frames`;
 * `final` once the window has passed without one (before that, the effect
 * may still come).
 */
export function effectOf(frames: readonly HeardFrame[], inst: number, at: number, wantIn: boolean): EffectResult {
  let first = frames.length;
  while (first > 0 && frames[first - 1].position >= at) first--;
  const windowEnd = first + EFFECT_WINDOW_BARS * FRAMES_PER_BAR;
  if (first >= frames.length) return { found: false, final: false };
  const { start, flags } = soundingFrom(frames, first);
  const f = flags[inst];
  for (let i = first; i < Math.min(frames.length, windowEnd); i++) {
    const hit = wantIn ? f[i - start] === 1 && presentInBar(f, start, Math.floor(i / FRAMES_PER_BAR)) : silentBarFrom(f, i - start);
    if (hit) return { found: true, samples: frames[i].position - at };
  }
  // an addition needs its bar, a removal a whole bar of silence after the last frame it could start at
  return { found: false, final: frames.length >= windowEnd + (wantIn ? 0 : FRAMES_PER_BAR) };
}

/** Frames kept: the window and its context, and a margin so trimming (in whole bars, to keep bar lines) is rare. */
const KEEP_BARS = 16;

/**
 * Watches the frames as they are generated and each knob move of an
 * instrument, and says when the move was heard to take effect. A move is
 * the strength crossing into the other side (0 or out -> in, 0 or in ->
 * out): a knob swept from 0.2 to 0.9 asked for the instrument once, at 0.2.
 */
export class EffectWatch {
  private frames: HeardFrame[] = [];
  private readonly last = new Map<string, number>();
  private readonly pending = new Map<string, { inst: number; wantIn: boolean; at: number }>();
  readonly effects: Record<string, FeatureEffect> = {};

  frame(f: HeardFrame): void {
    this.frames.push(f);
    // whole bars go, so frame i of the array stays on the music's bar grid
    if (this.frames.length > 2 * KEEP_BARS * FRAMES_PER_BAR) this.frames = this.frames.slice(KEEP_BARS * FRAMES_PER_BAR);
  }

  /** A strength reached the session while the output was handing out ring sample `at`. */
  move(feature: string, value: number, at: number): void {
    const inst = instrumentIndex(feature);
    const before = Math.sign(this.last.get(feature) ?? 0);
    this.last.set(feature, value);
    if (inst < 0 || Math.sign(value) === before || value === 0) return;
    const wantIn = value > 0;
    this.pending.set(feature, { inst, wantIn, at });
    this.effects[feature] = { direction: wantIn ? 'in' : 'out', state: 'waiting', beats: 0 };
  }

  /** Checks the moves still waiting against what has been heard up to ring sample `heard`. */
  update(heard: number, samplesPerBeat: number): void {
    for (const [feature, move] of this.pending) {
      const effect = this.effects[feature];
      const r = effectOf(this.frames, move.inst, move.at, move.wantIn);
      if (r.found && move.at + r.samples <= heard) {
        this.effects[feature] = { ...effect, state: 'heard', beats: r.samples / samplesPerBeat };
        this.pending.delete(feature);
      } else if (!r.found && r.final && heard - move.at > EFFECT_WINDOW_BARS * BEATS_PER_BAR * samplesPerBeat) {
        this.effects[feature] = { ...effect, state: 'none', beats: (heard - move.at) / samplesPerBeat };
        this.pending.delete(feature);
      } else {
        effect.beats = Math.max(0, heard - move.at) / samplesPerBeat;
      }
    }
  }
}
