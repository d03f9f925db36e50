/**
 * Bad control input (a garbage OSC packet, a knob on an unmapped CC, a MIDI
 * port that vanished) must never reach the engine as an exception, and must
 * not flood the terminal either: every problem is counted under its kind,
 * and the first of each kind is reported with a message that names the thing
 * and what was expected. The counters stay readable for the status view.
 */
import { Observable, ReplaySubject } from 'rxjs';

export type IssueSource = 'osc' | 'midi' | 'mapping' | 'preset' | 'telemetry';

export interface ControlIssue {
  source: IssueSource;
  /** A short stable name, e.g. 'malformed', 'unknown-address', 'flood'. */
  kind: string;
  /** What happened, naming the input and what was expected. */
  message: string;
  /** How many of this kind so far (1 on the report). */
  count: number;
}

export class IssueLog {
  private readonly counts = new Map<string, number>();
  // Replayed: a problem found while starting up (no MIDI port) reaches a view that subscribes later. One per kind, so it stays small.
  private readonly reports = new ReplaySubject<ControlIssue>();
  /** The first issue of each kind, as it happens. */
  readonly issues$: Observable<ControlIssue> = this.reports.asObservable();

  /** Counts one issue; reports it only when it is the first of its kind. */
  report(source: IssueSource, kind: string, message: string): void {
    const key = `${source}/${kind}`;
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    if (count === 1) this.reports.next({ source, kind, message, count });
  }

  count(source: IssueSource, kind: string): number {
    return this.counts.get(`${source}/${kind}`) ?? 0;
  }

  /** All counters, keyed 'source/kind', for a status line or a test. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  complete(): void {
    this.reports.complete();
  }
}
