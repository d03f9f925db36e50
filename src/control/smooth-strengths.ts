/**
 * Smoothing of per-feature strengths, as an RxJS operator: targets in (a knob
 * sweep, an OSC fader, a preset load), a glide out. One-pole per feature,
 * stepped on a fixed tick, so a sweep of 127 CC messages becomes at most one
 * command per feature per tick and no zipper reaches the engine. Time comes
 * from the scheduler, so tests run on virtual time.
 *
 * The first target of an idle feature is stepped at once (no tick of added
 * latency); the ticker stops when every feature has arrived, so an idle
 * control surface costs nothing.
 */
import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

export interface StrengthTarget {
  feature: string;
  value: number;
}

export interface SmoothingOptions {
  /** One-pole time constant per feature, ms (0 = jump on the next tick). */
  smoothingMs: (feature: string) => number;
  /** Step and emission period, ms. */
  tickMs?: number;
  scheduler?: SchedulerLike;
}

/** 10 ms: 100 commands/s per moving feature at most, well under one 125 ms frame at 120 BPM. */
export const DEFAULT_SMOOTHING_TICK_MS = 10;
/** Closer than this to the target snaps onto it (a quarter of a 7-bit step on a -1..1 knob), so glides end exactly. */
const SNAP = 0.004;

export function smoothStrengths(options: SmoothingOptions): OperatorFunction<StrengthTarget, StrengthTarget> {
  const tickMs = options.tickMs ?? DEFAULT_SMOOTHING_TICK_MS;
  const scheduler = options.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<StrengthTarget>((subscriber) => {
      const state = new Map<string, { current: number; target: number }>();
      let ticker: Subscription | null = null;

      const step = (): boolean => {
        let moving = false;
        for (const [feature, s] of state) {
          if (s.current === s.target) continue;
          const tau = options.smoothingMs(feature);
          const k = tau <= 0 ? 1 : 1 - Math.exp(-tickMs / tau);
          s.current += (s.target - s.current) * k;
          if (Math.abs(s.target - s.current) < SNAP) s.current = s.target;
          else moving = true;
          subscriber.next({ feature, value: s.current });
        }
        return moving;
      };

      const startTicking = () => {
        ticker = scheduler.schedule(function tick() {
          if (step()) this.schedule(undefined, tickMs);
          else ticker = null;
        }, tickMs);
      };

      const sub = source.subscribe({
        next: ({ feature, value }) => {
          const s = state.get(feature);
          if (!s) {
            state.set(feature, { current: value, target: value });
            subscriber.next({ feature, value });
            return;
          }
          s.target = value;
          if (ticker === null && s.current !== s.target) {
            // idle: step now, then keep to the tick
            if (step()) startTicking();
          }
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      return () => {
        sub.unsubscribe();
        ticker?.unsubscribe();
      };
    });
}
