/**
 * The live status view: one block of lines redrawn in place on a terminal
 * (cursor up, clear, rewrite), or a plain line every few seconds when the
 * output is a pipe or a log file.
 */
import type { Telemetry } from '../engine/protocol.js';

export function statusLines(t: Telemetry, extra: { device: string; issues: number }): string[] {
  const bar = (v: number) => {
    const n = Math.round(((v + 1) / 2) * 10);
    return `${'-'.repeat(Math.max(0, Math.min(10, n)))}|${' '.repeat(Math.max(0, 10 - n))}`.slice(0, 11);
  };
  const num = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '  - ');
  const lines = [
    `${t.playing ? 'playing' : 'stopped'}  ${t.tempo.toFixed(1)} BPM  "${t.prompt}"${t.recording ? '  [REC]' : ''}  ${extra.device}`,
    `x${num(t.realtimeFactor, 1)} real time  step ${num(t.stepMs)} ms  ring ${num(t.ringMs, 0)} ms  device ${num(t.deviceLatencyMs, 0)} ms  underruns ${t.underruns}  control latency ${num(t.controlLatencyMs, 0)} ms  issues ${extra.issues}`,
  ];
  // a gain means something only while the feature is pushed
  for (const f of t.features) lines.push(`  ${f.name.padEnd(7)} strength ${num(f.strength).padStart(5)} [${bar(f.strength)}]  monitor ${num(f.monitor)}  gain ${f.strength === 0 ? '  - ' : num(f.gain)}`);
  return lines;
}

export class StatusView {
  private drawn = 0;
  private lastPlain = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly plainEveryMs = 5000,
  ) {}

  render(lines: string[]): void {
    if (this.out.isTTY) {
      const up = this.drawn ? `\x1b[${this.drawn}A` : '';
      this.out.write(up + lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
      this.drawn = lines.length;
    } else {
      const now = Date.now();
      if (now - this.lastPlain < this.plainEveryMs) return;
      this.lastPlain = now;
      this.out.write(lines.slice(0, 2).join(' | ') + '\n');
    }
  }

  /** Prints a message above the view (it is redrawn below it next time). */
  note(message: string): void {
    if (this.out.isTTY && this.drawn) {
      this.out.write(`\x1b[${this.drawn}A\x1b[J`);
      this.drawn = 0;
    }
    this.out.write(message + '\n');
  }
}
