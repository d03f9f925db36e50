/**
 * The live status view: one block of lines redrawn in place on a terminal
 * (cursor up, clear, rewrite), or a plain line every few seconds when the
 * output is a pipe or a log file.
 *
 * The prompt, feature and device names, and every note, can come from
 * outside (an OSC sender, a preset file): the view makes every line
 * printable (util/printable.ts) before it writes its own cursor controls,
 * so nothing outside can move the cursor, clear the screen or retitle the
 * window.
 */
import type { Telemetry } from '../engine/protocol.js';
import { summarizeIssues } from '../control/issues.js';
import { printable } from '../util/printable.js';

/** A status line is cut here: wide enough for a terminal, short enough that a long prompt cannot push the figures off it. */
const LINE_MAX = 200;
/** A note names files and values; longer ones were cut where the outside value went in, this is the last guard. */
const NOTE_MAX = 500;

export interface StatusExtra {
  device: string;
  /** Issue counts by 'source/kind' (IssueLog.snapshot()). */
  issues: Record<string, number>;
  /** The take being recorded. */
  take?: { file: string; seconds: number } | null;
}

export function statusLines(t: Telemetry, extra: StatusExtra): string[] {
  const bar = (v: number) => {
    const n = Math.round(((v + 1) / 2) * 10);
    return `${'-'.repeat(Math.max(0, Math.min(10, n)))}|${' '.repeat(Math.max(0, 10 - n))}`.slice(0, 11);
  };
  const num = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '  - ');
  const take = extra.take ? `  [REC ${extra.take.file} ${extra.take.seconds.toFixed(1)} s]` : t.recording ? '  [REC]' : '';
  const lines = [
    `${t.playing ? 'playing' : 'stopped'}  ${t.tempo.toFixed(1)} BPM  "${printable(t.prompt, 60)}"${take}  ${printable(extra.device, 40)}`,
    `x${num(t.realtimeFactor, 1)} real time  step ${num(t.stepMs)} ms  ring ${num(t.ringMs, 0)} ms  device ${num(t.deviceLatencyMs, 0)} ms  underruns ${t.underruns}  control latency ${num(t.controlLatencyMs, 0)} ms`,
    `issues: ${summarizeIssues(extra.issues, 6) || 'none'}`,
  ];
  // a gain means something only while the feature is pushed
  for (const f of t.features) lines.push(`  ${printable(f.name, 16).padEnd(7)} strength ${num(f.strength).padStart(5)} [${bar(f.strength)}]  monitor ${num(f.monitor)}  gain ${f.strength === 0 ? '  - ' : num(f.gain)}`);
  return lines;
}

export class StatusView {
  private drawn = 0;
  private lastPlain = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly plainEveryMs = 5000,
  ) {}

  render(raw: string[]): void {
    const lines = raw.map((l) => printable(l, LINE_MAX));
    if (this.out.isTTY) {
      const up = this.drawn ? `\x1b[${this.drawn}A` : '';
      this.out.write(up + lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
      this.drawn = lines.length;
    } else {
      const now = Date.now();
      if (now - this.lastPlain < this.plainEveryMs) return;
      this.lastPlain = now;
      this.out.write(lines.slice(0, 3).join(' | ') + '\n');
    }
  }

  /** Prints a message above the view (it is redrawn below it next time). */
  note(message: string): void {
    if (this.out.isTTY && this.drawn) {
      this.out.write(`\x1b[${this.drawn}A\x1b[J`);
      this.drawn = 0;
    }
    this.out.write(printable(message, NOTE_MAX) + '\n');
  }
}
