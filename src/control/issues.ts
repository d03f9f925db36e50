/**
 * Bad control input (a garbage OSC packet, a knob on an unmapped CC, a MIDI
 * port that vanished) must never reach the engine as an exception, and must
 * not flood the terminal either: every problem is counted under its kind,
 * and the first of each kind is reported with a message that names the thing
 * and what was expected. The counters stay readable for the status view.
 */
import { Observable, ReplaySubject } from 'rxjs';

export type IssueSource = 'osc' | 'midi' | 'mapping' | 'preset' | 'telemetry' | 'record' | 'web' | 'sync';

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

  /**
   * Counts one issue; reports it only when it is the first of its kind.
   * `message` may be a function: a flood counts thousands of issues a
   * second, and only the first one's text is ever read.
   */
  report(source: IssueSource, kind: string, message: string | (() => string)): void {
    const key = `${source}/${kind}`;
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    if (count === 1) this.reports.next({ source, kind, message: typeof message === 'function' ? message() : message, count });
  }

  count(source: IssueSource, kind: string): number {
    return this.counts.get(`${source}/${kind}`) ?? 0;
  }

  /** All counters, keyed 'source/kind', for a status line or a test. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** Issues counted so far, all kinds together. */
  total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** The counts as one short line (see summarizeIssues), optionally of one source. */
  summary(options: { source?: IssueSource; max?: number } = {}): string {
    const entries = [...this.counts].filter(([key]) => options.source === undefined || key.startsWith(`${options.source}/`));
    return summarizeIssues(entries, options.max);
  }

  complete(): void {
    this.reports.complete();
  }
}

/**
 * Issue counts as one short line for the status view and telemetry, e.g.
 * 'osc/malformed 3, osc/flood 120' ('' when there are none). Kinds keep the
 * order they first happened in (a snapshot keeps it too), so a line redrawn
 * in place does not reshuffle; past `max` kinds the rest are summed into
 * '+N more (M)'.
 */
export function summarizeIssues(counts: Record<string, number> | Iterable<[string, number]>, max = 8): string {
  const entries = Symbol.iterator in counts ? [...(counts as Iterable<[string, number]>)] : Object.entries(counts);
  const shown = entries.slice(0, max).map(([key, n]) => `${key} ${n}`);
  const rest = entries.slice(max);
  if (rest.length > 0) shown.push(`+${rest.length} more (${rest.reduce((sum, [, n]) => sum + n, 0)})`);
  return shown.join(', ');
}
