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
import { barBeat, type FeatureEffect, type Telemetry } from '../protocol.js';
import { summarizeIssues } from '../control/issues.js';
import { printable } from '../util/printable.js';

/** A status line is cut here: wide enough for a terminal, short enough that a long prompt cannot push the figures off it. */
const LINE_MAX = 200;
/** The width assumed when the terminal does not say (the default of macOS's and Windows' terminals). */
export const DEFAULT_COLUMNS = 80;
/** A note names files and values; longer ones were cut where the outside value went in, this is the last guard. */
const NOTE_MAX = 500;

export interface StatusExtra {
  device: string;
  /** Issue counts by 'source/kind' (IssueLog.snapshot()). */
  issues: Record<string, number>;
  /** The take being recorded. */
  take?: { file: string; seconds: number } | null;
}

/**
 * The view's lines, each short enough for an 80-column terminal with
 * ordinary names (the view cuts whatever is longer to the terminal's width,
 * so a line never wraps: a wrapped line would break the redraw in place).
 */
export function statusLines(t: Telemetry, extra: StatusExtra): string[] {
  const bar = (v: number) => {
    const n = Math.round(((v + 1) / 2) * 10);
    return `${'-'.repeat(Math.max(0, Math.min(10, n)))}|${' '.repeat(Math.max(0, 10 - n))}`.slice(0, 11);
  };
  const num = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '  - ');
  const signed = (v: number) => (v > 0 ? '+' : v < 0 ? '-' : ' ') + Math.abs(v).toFixed(2);
  const take = extra.take ? `  [REC ${extra.take.file} ${extra.take.seconds.toFixed(1)} s]` : t.recording ? '  [REC]' : '';
  const lines = [
    `${t.playing ? 'playing' : 'stopped'}${position(t.beats)}  ${t.tempo.toFixed(1)} BPM  "${printable(t.prompt, 40)}"${unknown(t.unknownWords)}${take}`,
    `preset ${printable(t.preset ?? '-', 30)}  temperature ${num(t.temperature ?? NaN)}  guidance ${num(t.guidance ?? NaN)}`,
    `x${num(t.realtimeFactor, 1)} real time  step ${num(t.stepMs)} ms  ring ${num(t.ringMs, 0)} ms  underruns ${t.underruns}`,
    `out: ${printable(extra.device, 30)}  ${level(t.peakDbfs)}  latency: device ${num(t.deviceLatencyMs, 0)} ms, knob to sound ${num(t.controlLatencyMs, 0)} ms`,
    `issues: ${summarizeIssues(extra.issues, 6) || 'none'}`,
  ];
  if (t.deficit) lines.splice(3, 0, deficitLine(t.deficit));
  for (const f of t.features) lines.push(`  ${printable(f.name, 16).padEnd(7)} ${signed(f.strength)} [${bar(f.strength)}]  monitor ${num(f.monitor)}  ${pushState(f)}${heard(t.effects?.[f.name])}`);
  return lines;
}

/**
 * The check's deficit (--force), so a performer knows underruns are the machine's, not the music's. The web page
 * says it in the same words (src/web/page/app.js deficitLine, which cannot import this; test/web checks they agree).
 */
export function deficitLine(d: NonNullable<Telemetry['deficit']>): string {
  const why = d.reason === 'slow' ? `x${d.multiple.toFixed(2)} real time, needs x1` : `audio every ${d.gapMs.toFixed(0)} ms, ring ${d.latencyMs.toFixed(0)} ms`;
  return `CANNOT KEEP UP (checked at start): ${why}`;
}

/** The output's peak level as a short meter: 8 cells of 6 dB down from full scale, and the figure. */
function level(db: number | undefined): string {
  if (db === undefined) return 'level  - ';
  const cells = Number.isFinite(db) ? Math.max(0, Math.min(8, Math.round(8 + db / 6))) : 0;
  return `[${'#'.repeat(cells)}${' '.repeat(8 - cells)}] ${Number.isFinite(db) ? `${db.toFixed(0)} dB` : 'silent'}`;
}

/** The prompt's words the model does not know: it reads them as <unk>, so a musician should see which. */
function unknown(words: readonly string[] | undefined): string {
  return words?.length ? ` (unknown: ${words.map((w) => printable(w, 20)).join(', ')})` : '';
}

/** What the monitor is doing to a knob's push, in a musician's words: a gain of 0 is not "muted" but "the feature is there". */
function pushState(f: { strength: number; gain: number }): string {
  if (f.strength === 0) return 'not pushed';
  if (!(f.gain > 0)) return `there, push paused`;
  return `pushing ${f.gain.toFixed(2)}`;
}

/** When the knob's last move was heard: "  in after 1.5 beats". */
export function heard(e: FeatureEffect | undefined): string {
  if (!e) return '';
  if (e.state === 'heard') return `  ${e.direction} after ${e.beats.toFixed(1)} beats`;
  if (e.state === 'none') return `  not ${e.direction} after 4 bars`;
  return `  ${e.direction}: waiting ${e.beats.toFixed(1)} beats`;
}

/** `line` cut to `width` columns (code points; an ellipsis marks the cut). */
export function fitWidth(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : chars.slice(0, Math.max(0, width - 1)).join('') + '…';
}

export class StatusView {
  private drawn = 0;
  private lastPlain = 0;
  private width = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly plainEveryMs = 5000,
  ) {}

  render(raw: string[]): void {
    const lines = raw.map((l) => printable(l, LINE_MAX));
    if (this.out.isTTY) {
      // one column to spare: a line that fills the last column wraps on some terminals
      const width = (this.out.columns || DEFAULT_COLUMNS) - 1;
      // after a resize the old lines may have wrapped into more rows than were drawn: clear the screen instead
      const up = this.drawn && width !== this.width ? '\x1b[H\x1b[2J' : this.drawn ? `\x1b[${this.drawn}A` : '';
      this.width = width;
      this.out.write(up + lines.map((l) => `\x1b[2K${fitWidth(l, width)}`).join('\n') + '\n');
      this.drawn = lines.length;
    } else {
      const now = Date.now();
      if (now - this.lastPlain < this.plainEveryMs) return;
      this.lastPlain = now;
      this.out.write(lines.slice(0, 5).join(' | ') + '\n');
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

/** " bar 12.3": where the music is, as heard. */
function position(beats: number | undefined): string {
  if (beats === undefined) return '';
  const { bar, beat } = barBeat(beats);
  return ` bar ${bar}.${beat}`;
}
