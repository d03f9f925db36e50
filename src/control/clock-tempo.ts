/**
 * MIDI clock (24 pulses per quarter note) to tempo, as an RxJS operator:
 * pulse times (ms) in, BPM out. The pulse period is the least-squares slope
 * of the last pulse times against their index: per-pulse USB/driver jitter
 * averages out far better than in a median or mean of single intervals
 * (whose error is the jitter of two pulses), so a steady clock gives a
 * steady tempo. A tempo is emitted only when it moved by more than
 * `minChangeBpm`, so a steady clock is silent.
 * A gap longer than `resetAfterMs` (the DAW stopped its clock) starts afresh.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { MAX_TEMPO, MIN_TEMPO } from '../constants.js';

export const PULSES_PER_QUARTER = 24;

export interface ClockTempoOptions {
  /** Intervals in the fitting window: 48 = two beats. */
  window?: number;
  /** Intervals needed before the first tempo: 24 = one beat. */
  minIntervals?: number;
  minChangeBpm?: number;
  /** A pulse gap this long (ms) means the clock stopped: the history starts afresh. */
  resetAfterMs?: number;
}

export function clockToTempo(options: ClockTempoOptions = {}): OperatorFunction<number, number> {
  const window = options.window ?? 48;
  const minIntervals = options.minIntervals ?? PULSES_PER_QUARTER;
  const minChange = options.minChangeBpm ?? 0.5;
  // at half the slowest tempo (30 BPM) pulses come every 83 ms; twice that gap means the clock stopped
  const resetAfter = options.resetAfterMs ?? (2 * 60_000) / (PULSES_PER_QUARTER * (MIN_TEMPO / 2));
  return (source) =>
    new Observable<number>((subscriber) => {
      const times: number[] = [];
      let emitted: number | null = null;
      return source.subscribe({
        next: (t) => {
          const last = times.at(-1);
          if (last !== undefined && (t - last > resetAfter || t <= last)) times.length = 0;
          times.push(t);
          if (times.length > window + 1) times.shift();
          if (times.length - 1 < minIntervals) return;
          const bpm = 60_000 / (fittedPeriod(times) * PULSES_PER_QUARTER);
          const clamped = Math.min(MAX_TEMPO, Math.max(MIN_TEMPO, bpm));
          const rounded = Math.round(clamped * 100) / 100;
          if (emitted === null || Math.abs(rounded - emitted) > minChange) {
            emitted = rounded;
            subscriber.next(rounded);
          }
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}

/** Least-squares slope of times[i] against i: the pulse period. */
function fittedPeriod(times: readonly number[]): number {
  return fitPulses(times).period;
}

/** The least-squares line through pulse times against their index: the period, and the fitted time of pulse i (jitter averaged out). */
export function fitPulses(times: readonly number[]): { period: number; timeOf: (i: number) => number } {
  const n = times.length;
  const meanI = (n - 1) / 2;
  let meanT = 0;
  for (const t of times) meanT += t / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - meanI) * (times[i] - meanT);
    den += (i - meanI) ** 2;
  }
  const period = n > 1 ? num / den : NaN;
  return { period, timeOf: (i) => meanT + (i - meanI) * period };
}
