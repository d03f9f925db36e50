/**
 * The recorder that owns the takes of a `smitin live` session: where each
 * take's file goes, what it is called, and that no take ever destroys a file.
 *
 *   const problem = checkRecordOptions({ record: opts.record, takes: opts.takes, overwrite: opts.overwrite }); // both are checked
 *   if (problem) throw new UsageError(problem);              // before audio starts: exit 2
 *   const takes = new Takes({ dir: opts.takes, record: opts.record, overwrite: opts.overwrite,
 *                             format: opts.recordFormat, sampleRate: output.sampleRate,
 *                             issues: control.issues, onNote: say });
 *   engine.output.tap((block) => takes.write(block));        // once; a no-op while not recording
 *   takes.start(); takes.stop();                             // --record at start, /smitin/record 1|0
 *   takes.status();                                          // { file, seconds } | null: status view, telemetry
 *   takes.list();                                            // every take of the session: the summary
 *
 * `smitin live` keeps two of these: one with `record` for the session take
 * (--record: started at start, stopped at the end, never by the network),
 * and one without for the takes that /smitin/record and buttons toggle.
 *
 * Names. Nothing from the network names a file: start() takes no argument,
 * every name comes from the command line or the clock.
 * - With `--record DIR/NAME.wav` (the user's path, as typed, relative to the
 *   working directory like every path argument): the first take is that
 *   file, later takes of the session are DIR/NAME-2.wav, DIR/NAME-3.wav, ...
 *   beside it. DIR must exist (a typo is reported, not created).
 * - Without `--record`: takes go to the takes folder (`--takes DIR`, default
 *   ./takes, created when missing), named by the local time the take
 *   started: take-YYYYMMDD-HHMMSS.wav.
 * A name that exists is skipped (NAME-2.wav after NAME.wav, take-...-2.wav
 * when two sessions start a take in the same second). Files are created
 * exclusively (O_EXCL), so even a file that appears between the look and the
 * open is kept. `--overwrite` lets the first take, and only it, replace the
 * user's own `--record` file; timestamped names never replace anything.
 *
 * A toggle storm (a stuck button, a looping OSC sender) makes at most one
 * new file a second: a start within MIN_TAKE_INTERVAL_MS of the previous one
 * is refused, counted (`refused`, and record/refused in `issues`) and
 * reported once (once per burst without `issues`).
 * A take only ever grows until it stops; a new start never reopens it.
 *
 * Failures (disk full, folder deleted, the file cannot be created) end the
 * take with one message (onError, else onNote) naming the file and the problem; the
 * file keeps what was flushed as a playable WAV (see wav-tee.ts), and a later
 * start tries again (the takes folder is re-created if it was removed).
 *
 * Threading model: main thread only. write() is called from the output's
 * pull; start(), stop() and status() from control handlers and the status
 * view on the same thread. Nothing here throws into either: only the
 * constructor throws (bad options); checkRecordOptions returns its answer.
 */
import { closeSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { CHANNELS } from '../constants.js';
import { describeFsError, errnoCode } from '../util/fs-errors.js';
import { DEFAULT_RECORD_FORMAT, RECORD_FORMATS, WavTee, type RecordFormat } from './wav-tee.js';

export { RECORD_FORMATS, type RecordFormat } from './wav-tee.js';

/** `--takes` default: relative to the working directory. */
export const DEFAULT_TAKES_DIR = 'takes';
/** At most one new take file per this many ms, whatever the controllers send. */
export const MIN_TAKE_INTERVAL_MS = 1000;
/** Free names tried per start before giving up (NAME-2 ... NAME-1000): a folder that full is a mistake to report. */
const MAX_NAME_TRIES = 1000;

/** Where refused starts are counted: control/issues.ts's IssueLog (its IssueSource must include 'record'). */
export interface TakeIssueLog {
  report(source: 'record', kind: string, message: string | (() => string)): void;
}

export interface TakesOptions {
  /** `--takes`: the folder for timestamped takes (default ./takes). Not used when `record` is given. */
  dir?: string;
  /** `--record`: the first take's path as the user typed it; later takes go beside it as NAME-2.wav, ... */
  record?: string;
  /** `--overwrite`: the first take may replace an existing `record` file (default false). */
  overwrite?: boolean;
  /** `--record-format` (default f32). */
  format?: RecordFormat;
  sampleRate: number;
  /** Interleaved channels (default 2). */
  channels?: number;
  /**
   * --outputs stems: the stems' names, in the order of their pairs after the
   * mix in each block (channels is then 2 per pair). Each take then writes
   * the mix (channels 1-2) to NAME.wav and each stem to NAME.<stem>.wav
   * beside it, every file the same length.
   */
  stems?: readonly string[];
  /** WavTee's flush period, ms (default 100). */
  flushMs?: number;
  /** Wall clock, ms since the epoch (default Date.now): names the timestamped takes and paces starts; injectable for tests. */
  now?: () => number;
  /** A take that ended on an error, or a start that failed: every one, naming the file (default: to onNote). */
  onError?: (err: Error) => void;
  /** What the performer reads: "recording to FILE", "recorded FILE: 12.3 s", and the errors when there is no onError. */
  onNote?: (message: string) => void;
  /**
   * Refused starts are a control problem (a stuck button, a looping sender): counted here as
   * record/refused, the first one reported by the log. Without it, onNote hears the first refusal of each burst.
   */
  issues?: TakeIssueLog;
}

/** The take being recorded, for the status view and telemetry. */
export interface TakeStatus {
  file: string;
  /** Length so far, s (what was accepted; on disk after the next flush). */
  seconds: number;
}

/** A take of this session, for the summary. */
export interface TakeRecord {
  file: string;
  /** The stem files beside it, in pair order (--outputs stems only). */
  stems?: string[];
  /** Length, s: what the file holds once stopped, what was accepted while recording. */
  seconds: number;
  recording: boolean;
  /** Why the take ended early (disk full, file deleted), or null. */
  error: string | null;
}

export class Takes {
  /** The folder this session's takes go to. */
  readonly folder: string;
  private readonly opts: TakesOptions & { format: RecordFormat; channels: number };
  private readonly now: () => number;
  /** The take being recorded, or the last one (kept for status() and list() until the next start). */
  private current: WavTee | null = null;
  /** Its stems' files (--outputs stems), in pair order. */
  private currentStems: WavTee[] = [];
  /** Takes before it: their records only, so an hours-long session of short takes does not keep every take's buffers. */
  private readonly earlier: TakeRecord[] = [];
  private refusedStarts = 0;
  private refusalReported = false;
  private lastStartAt: number | null = null;
  /** Next NAME-n to try with `record` (1 is the name itself). */
  private nextIndex = 1;

  /** Touches no file: checkRecordOptions does the checks before audio starts, start() opens. Throws only on bad options. */
  constructor(opts: TakesOptions) {
    const format = opts.format ?? DEFAULT_RECORD_FORMAT;
    if (!RECORD_FORMATS.includes(format)) throw new RangeError(`record format must be one of ${RECORD_FORMATS.join(', ')}, got: ${String(format)}`);
    if (opts.record !== undefined && !isWavName(opts.record)) throw new RangeError(`--record must name a .wav file, got: ${opts.record}`);
    if (!Number.isInteger(opts.sampleRate) || opts.sampleRate < 1) throw new RangeError(`takes: sample rate must be a positive integer, got: ${opts.sampleRate}`);
    const stems = opts.stems ?? [];
    const channels = opts.channels ?? CHANNELS * (1 + stems.length);
    if (channels !== CHANNELS * (1 + stems.length)) throw new RangeError(`takes: ${stems.length} stems need ${CHANNELS * (1 + stems.length)} channels, got: ${channels}`);
    if (stems.some((n) => !/^[a-z0-9]+$/.test(n))) throw new RangeError(`takes: stem names must be lowercase letters and digits, got: ${stems.join(', ')}`);
    this.opts = { ...opts, format, channels };
    this.now = opts.now ?? Date.now;
    this.folder = opts.record !== undefined ? dirname(opts.record) : (opts.dir ?? DEFAULT_TAKES_DIR);
  }

  get recording(): boolean {
    return this.current?.open ?? false;
  }

  /** Starts refused by the one-a-second limit, this session. */
  get refused(): number {
    return this.refusedStarts;
  }

  /**
   * Starts a new take in a new file; returns its path, or null when none
   * started: already recording (nothing to do), refused (too soon after the
   * last start) or failed (both reported).
   */
  start(): string | null {
    if (this.recording) return null;
    const t = this.now();
    if (this.lastStartAt !== null) {
      const since = t - this.lastStartAt;
      // a clock that jumped backwards does not lock recording out
      if (since >= 0 && since < MIN_TAKE_INTERVAL_MS) {
        this.refuse(since);
        return null;
      }
    }
    // a failed attempt counts too: a storm against a full disk tries (and reports) once a second
    this.lastStartAt = t;
    this.refusalReported = false;
    let tees: WavTee[];
    try {
      tees = this.openNext(t);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return null;
    }
    if (this.current) this.earlier.push(record(this.current, this.currentStems));
    const [tee, ...stems] = tees;
    this.current = tee;
    this.currentStems = stems;
    this.note(`recording to ${tee.path}`);
    return tee.path;
  }

  /** Appends a block of interleaved samples to the current take (none: nothing happens). */
  write(block: Float32Array): void {
    const tee = this.current;
    if (tee === null || !tee.open) return;
    try {
      if (this.currentStems.length === 0) tee.write(block);
      else this.writeStems(block);
    } catch (err) {
      // WavTee does not throw from write(); this is the last guard in front of the audio path
      this.fail(new Error(`recording ${tee.path}: ${describeFsError(err)}`));
    }
  }

  /** A stems block: each file takes its pair, picked as it buffers. */
  private writeStems(block: Float32Array): void {
    const stride = this.opts.channels;
    this.current!.writeFrom(block, stride, 0);
    for (let k = 0; k < this.currentStems.length; k++) this.currentStems[k].writeFrom(block, stride, CHANNELS * (k + 1));
  }

  /** Finalises the current take; returns its file and length, or null when not recording. Safe to call twice. */
  stop(): TakeStatus | null {
    const tee = this.current;
    if (tee === null || !tee.open) return null;
    for (const t of [tee, ...this.currentStems]) {
      try {
        t.close();
      } catch (err) {
        this.fail(new Error(`recording ${t.path}: ${describeFsError(err)}`));
      }
    }
    const seconds = tee.framesWritten / tee.sampleRate;
    // a take that failed while closing was reported by its own onError
    if (tee.failure === null) this.note(`recorded ${tee.path}: ${seconds.toFixed(1)} s`);
    return { file: tee.path, seconds };
  }

  /** The take being recorded, or null when none is. */
  status(): TakeStatus | null {
    const tee = this.current;
    return tee && tee.open ? { file: tee.path, seconds: tee.framesRecorded / tee.sampleRate } : null;
  }

  /** Every take of this session, oldest first. */
  list(): TakeRecord[] {
    return this.current ? [...this.earlier, record(this.current, this.currentStems)] : [...this.earlier];
  }

  private refuse(since: number): void {
    this.refusedStarts++;
    const message = () =>
      `record start refused: the last take started ${(since / 1000).toFixed(1)} s ago (at most one new take file a second, so a stuck button or a looping sender cannot fill the disk)`;
    if (this.opts.issues) {
      try {
        this.opts.issues.report('record', 'refused', message);
      } catch {
        // counting must not reach the control path either
      }
    } else if (!this.refusalReported) {
      this.note(message());
    }
    this.refusalReported = true;
  }

  /**
   * Opens the first free name (and, with stems, NAME.<stem>.wav beside it:
   * a name is free only when every file of the set is); EEXIST moves on to
   * the next, anything else is the error to report. Returns the mix's file,
   * then the stems'.
   */
  private openNext(t: number): WavTee[] {
    const { record, overwrite, format, sampleRate, flushMs } = this.opts;
    const onError = (e: Error) => this.fail(e);
    const stamp = record === undefined ? timestamp(new Date(t)) : '';
    let index = record === undefined ? 1 : this.nextIndex;
    let madeFolder = false;
    for (let tries = 0; tries < MAX_NAME_TRIES; ) {
      const path = record === undefined ? join(this.folder, `take-${stamp}${index === 1 ? '' : `-${index}`}.wav`) : numbered(record, index);
      try {
        const tees = openSet(path, this.opts.stems ?? [], {
          format,
          sampleRate,
          channels: CHANNELS,
          flushMs,
          // only the user's own name, only for the first take of the session
          overwrite: record !== undefined && overwrite === true && index === 1 && this.current === null,
          now: this.now,
          onError,
        });
        if (record !== undefined) this.nextIndex = index + 1;
        return tees;
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'EEXIST') {
          index++;
          tries++;
          continue;
        }
        // the takes folder is ours: removed during the session, it comes back; the user's --record folder is not made up
        if (code === 'ENOENT' && record === undefined && !madeFolder) {
          madeFolder = true;
          try {
            makeFolder(this.folder);
          } catch (mkErr) {
            throw new Error(`cannot start a take: cannot create the takes folder ${this.folder}: ${describeFsError(mkErr)}`, { cause: mkErr });
          }
          continue;
        }
        throw new Error(`cannot start a take: ${(err as Error).message}`, { cause: err });
      }
    }
    throw new Error(`cannot start a take in ${this.folder}: ${MAX_NAME_TRIES} names in a row are taken (clear out the folder)`);
  }

  private fail(err: Error): void {
    if (this.opts.onError) {
      try {
        this.opts.onError(err);
      } catch {
        // a throwing listener must not reach the audio path
      }
    } else {
      this.note(err.message);
    }
  }

  private note(message: string): void {
    try {
      this.opts.onNote?.(message);
    } catch {
      // as above
    }
  }
}

/**
 * Creates `path` and, beside it, a file per stem (stemPath); if one cannot
 * be created, the files this call created (empty, exclusively ours) are
 * removed and the error is thrown, EEXIST included: the set moves on whole.
 */
function openSet(path: string, stems: readonly string[], opts: ConstructorParameters<typeof WavTee>[1]): WavTee[] {
  const made: WavTee[] = [];
  try {
    for (const p of [path, ...stems.map((s) => stemPath(path, s))]) made.push(new WavTee(p, opts));
    return made;
  } catch (err) {
    for (const tee of made) {
      tee.close();
      if (!opts?.overwrite) {
        try {
          unlinkSync(tee.path);
        } catch {
          // an empty WAV left behind is untidy, not a reason to hide the first error
        }
      }
    }
    throw err;
  }
}

/** NAME.<stem>.wav beside NAME.wav (the extension as the user wrote it). */
export function stemPath(path: string, stem: string): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}.${stem}${ext}`);
}

function record(tee: WavTee, stems: readonly WavTee[]): TakeRecord {
  return {
    file: tee.path,
    ...(stems.length > 0 ? { stems: stems.map((s) => s.path) } : {}),
    seconds: (tee.open ? tee.framesRecorded : tee.framesWritten) / tee.sampleRate,
    recording: tee.open,
    error: tee.failure?.message ?? null,
  };
}

/**
 * Checks, before audio starts, that the takes can be written: `--record`'s
 * folder exists and takes a file (the file itself may exist: it is kept and
 * the take gets the next free name, or with `--overwrite` it must be a
 * regular file), or else the takes folder exists or can be created (it is
 * created here, as "created at start" promises) and takes a file. Returns
 * one line naming the path and the problem, or null when all is well.
 */
export function checkRecordOptions(opts: { record?: string; takes?: string; overwrite?: boolean }): string | null {
  return (opts.record !== undefined ? checkRecordFile(opts.record, opts.overwrite ?? false) : null) ?? checkTakesFolder(opts.takes ?? DEFAULT_TAKES_DIR);
}

/** `--record`: a .wav name in a folder that exists (a typo is reported, not created) and can be written. */
function checkRecordFile(record: string, overwrite: boolean): string | null {
  return checkTakeFile('--record', '.wav', record, overwrite);
}

/**
 * A take file the user names with `option` (--record, --record-midi): a name
 * ending in `ext`, in a folder that exists and can be written. Returns one
 * line naming the path and the problem, or null.
 */
export function checkTakeFile(option: string, ext: string, path: string, overwrite: boolean): string | null {
  if (!hasExtension(path, ext)) return `${option} ${path}: expected a file name ending in ${ext}`;
  const folder = dirname(path);
  const self = statKind(path);
  if (self === 'folder') return `${option} ${path} is a folder, expected a ${ext} file`;
  if (self === 'other' && overwrite) return `${option} ${path} exists and is not a regular file: --overwrite replaces only a file`;
  const kind = statKind(folder);
  if (kind === 'missing') return `${option} ${path}: the folder ${folder} does not exist`;
  if (typeof kind === 'object') return `${option} ${path}: cannot look at the folder ${folder}: ${kind.error}`;
  if (kind !== 'folder') return `${option} ${path}: ${folder} is not a folder`;
  const cannot = writeProblem(folder);
  return cannot ? `${option} ${path}: cannot write in ${folder}: ${cannot}` : null;
}

/** `--takes`: created when missing, and proven writable. */
function checkTakesFolder(dir: string): string | null {
  const kind = statKind(dir);
  if (kind === 'file' || kind === 'other') return `--takes ${dir} exists and is not a folder`;
  if (typeof kind === 'object') return `--takes ${dir}: cannot look at it: ${kind.error}`;
  if (kind === 'missing') {
    try {
      makeFolder(dir);
    } catch (err) {
      return `--takes ${dir}: cannot create the folder: ${describeFsError(err)}`;
    }
  }
  const cannot = writeProblem(dir);
  return cannot ? `--takes ${dir}: cannot write in it: ${cannot}` : null;
}

/**
 * mkdir -p, one level at a time: Node's own recursive mkdir reports EROFS
 * as ENOENT, and on /proc it never returns at all (Node 20).
 */
function makeFolder(dir: string): void {
  try {
    mkdirSync(dir);
    return;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST' && statKind(dir) === 'folder') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    makeFolder(parent);
  }
  try {
    mkdirSync(dir);
  } catch (err) {
    // made meanwhile by someone else: as good
    if (!(errnoCode(err) === 'EEXIST' && statKind(dir) === 'folder')) throw err;
  }
}

function isWavName(path: string): boolean {
  return hasExtension(path, '.wav');
}

function hasExtension(path: string, ext: string): boolean {
  return path.toLowerCase().endsWith(ext) && basename(path).length > ext.length;
}

/** NAME.wav for 1, NAME-n.wav beside it for n > 1 (the extension as the user wrote it). */
export function numbered(record: string, index: number): string {
  if (index === 1) return record;
  const ext = extname(record);
  return join(dirname(record), `${basename(record, ext)}-${index}${ext}`);
}

/** Local time as YYYYMMDD-HHMMSS: sorts by time, and reads as the clock on the wall at the gig. */
function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** What is at `path`: a stat that fails for another reason than "not there" (EACCES on a parent, ...) is its own answer. */
function statKind(path: string): 'folder' | 'file' | 'other' | 'missing' | { error: string } {
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'folder' : st.isFile() ? 'file' : 'other';
  } catch (err) {
    // ENOTDIR (a file where a folder should be) is "not there" too: mkdir then says what is in the way
    const code = errnoCode(err);
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : { error: describeFsError(err) };
  }
}

/** Creates, writes a byte to and removes a scratch file: the only test that also catches a read-only mount, a quota or a full disk. */
function writeProblem(folder: string): string | null {
  const probe = join(folder, `.smitin-write-check-${process.pid}`);
  let fd: number;
  try {
    fd = openSync(probe, 'wx');
  } catch (err) {
    return describeFsError(err);
  }
  let problem: string | null = null;
  try {
    writeSync(fd, Buffer.alloc(1));
  } catch (err) {
    problem = describeFsError(err);
  }
  try {
    closeSync(fd);
    unlinkSync(probe);
  } catch {
    // a scratch file left behind is untidy, not a reason to refuse
  }
  return problem;
}
