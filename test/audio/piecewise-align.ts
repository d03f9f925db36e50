/**
 * Piecewise, sample-exact alignment of what a player handed to its device
 * (the reference: a WAV tee) with what a recorder downstream captured.
 *
 * Why not one global lag: a real-time graph under load legitimately shifts
 * the rest of the recording. When the player is late, its PCM runs dry and
 * the graph plays silence for the cycles it had no data for (silence
 * inserted); PortAudio's recovery from that xrun discards the blocks it had
 * queued, and a recorder that misses a cycle loses it (frames dropped). One
 * lag fitted to the whole run then calls every sample after the first such
 * event "different". Here the two signals are walked together and compared
 * sample for sample; at a mismatch the walk resynchronises on the cheapest
 * explanation (fewest frames skipped on both sides, found by exact search
 * in a bounded window) and classifies what was skipped:
 *
 * - inserted: silent recorded frames with no reference counterpart;
 * - dropped: reference frames that never reached the recording;
 * - replaced: both at once (reference frames lost, silence in their place);
 * - repeated: recorded frames that repeat the ones just before them (a
 *   graph reads a port's buffer again when its client missed a cycle),
 *   possibly in place of as many reference frames (that cycle's, lost);
 * - anything else is a failure: recorded frames that are neither silence
 *   nor the reference at that point nor a repeat of what was just recorded
 *   (corruption, a wrong order), or no resynchronisation within the window
 *   (a dropout too long to be an xrun, or not the reference at all).
 * Whether a gap is acceptable is the caller's call (see gapProblems).
 *
 * Silence is ambiguous to align (any silent stretch matches any other), so
 * resynchronisation anchors only on sounding frames, and the leading
 * silence of both signals is not compared: the walk starts where the
 * reference first sounds.
 */

export interface AlignOptions {
  /** Largest |difference| that still counts as the same sample (jack_rec's 32-bit integers round float32 by < 1e-9). */
  tolerance?: number;
  /** |sample| at or below this is silence. */
  silence?: number;
  /** Frames that must match exactly, on every channel, to accept a resynchronisation point. */
  confirmFrames?: number;
  /** Largest number of frames skipped on either side when resynchronising; a longer gap is a failure. */
  searchFrames?: number;
  /**
   * The graph's cycle, frames, when the recording is cut in whole cycles from
   * its first frame (jack_rec): a mismatching cycle whose every sample is this
   * cycle's, the one before's or the one after's at the same place is torn,
   * not corrupt. 0: no such check.
   */
  cycle?: number;
}

export interface Gap {
  kind: 'inserted' | 'dropped' | 'replaced' | 'repeated' | 'torn';
  /** Reference frame where the gap starts (the first frame that did not follow on). */
  refAt: number;
  /** Recorded frame where the gap starts. */
  recAt: number;
  /** Silent recorded frames with no reference counterpart. */
  insertedFrames: number;
  /** Recorded frames that repeat the ones just before them. */
  repeatedFrames: number;
  /** Reference frames with no recorded counterpart. */
  droppedFrames: number;
  /** In a torn cycle: the frames that held the cycle before or after this one instead of this one's. */
  tornFrames?: number;
}

export interface AlignFailure {
  refAt: number;
  recAt: number;
  reason: string;
}

export interface Alignment {
  /** First matched frame pair: where the reference first sounds, and where that is in the recording. */
  refStart: number;
  recStart: number;
  /** One past the last matched frame pair. */
  refEnd: number;
  recEnd: number;
  /** Frame pairs that matched sample for sample. */
  matchedFrames: number;
  /** The stretches that matched, in order: reference frame, recorded frame, length. */
  runs: { refAt: number; recAt: number; frames: number }[];
  gaps: Gap[];
  insertedFrames: number;
  repeatedFrames: number;
  droppedFrames: number;
  /**
   * Reference frames after refEnd that the recording does not hold because it
   * ended or went silent there (the last blocks a player hands over as it
   * stops may never play); 0 when the reference's remainder is silent.
   */
  tailFrames: number;
  /**
   * How the recording goes on after the last match: the reference matched to
   * its end (or its remainder is silent); the recording ended; it is silent
   * to its end; or it repeats its last `tailRepeat.period` frames for
   * `tailRepeat.frames` frames and is silent after that (a JACK port whose
   * client is closing holds its last period for a few cycles).
   */
  tail: 'complete' | 'recording ended' | 'recording silent' | 'recording repeats';
  tailRepeat: { period: number; frames: number } | null;
  /** The first thing that is neither a match nor a gap; the walk stops there. */
  failure: AlignFailure | null;
}

const DEFAULTS: Required<AlignOptions> = { tolerance: 1e-6, silence: 1e-6, confirmFrames: 64, searchFrames: 96_000, cycle: 0 };

/** Anchors for resynchronisation need a sample sum clearly off zero: near zero, the buckets hold every quiet frame. */
const ANCHOR_MIN = 1e-3;
const BUCKET = 1 / 65_536;
const BUCKETS = Math.ceil(4 / BUCKET) + 2;

/**
 * The recording's frames grouped by the value of their channel sum, each
 * group in frame order: the frames that could match a reference frame are
 * found without a scan.
 */
class ValueIndex {
  private readonly starts: Int32Array;
  private readonly frames: Int32Array;

  constructor(private readonly sum: Float64Array) {
    const counts = new Int32Array(BUCKETS + 1);
    for (let i = 0; i < sum.length; i++) counts[bucketOf(sum[i]) + 1]++;
    for (let b = 0; b < BUCKETS; b++) counts[b + 1] += counts[b];
    this.starts = counts.slice();
    const fill = counts.slice();
    this.frames = new Int32Array(sum.length);
    for (let i = 0; i < sum.length; i++) this.frames[fill[bucketOf(sum[i])]++] = i;
  }

  /** The recorded frames in [from, to] whose sum is within `tol` of `value`, in frame order, into `out`. */
  find(value: number, tol: number, from: number, to: number, out: number[]): number[] {
    out.length = 0;
    for (let b = bucketOf(value - tol), hi = bucketOf(value + tol); b <= hi; b++) {
      let a = this.starts[b];
      let z = this.starts[b + 1];
      while (a < z) {
        const m = (a + z) >>> 1;
        if (this.frames[m] < from) a = m + 1;
        else z = m;
      }
      for (let k = a, end = this.starts[b + 1]; k < end; k++) {
        const f = this.frames[k];
        if (f > to) break;
        if (Math.abs(this.sum[f] - value) <= tol) out.push(f);
      }
    }
    // two buckets at most, each in frame order
    return out.sort((x, y) => x - y);
  }
}

function bucketOf(v: number): number {
  const c = v < -2 ? -2 : v > 2 ? 2 : v;
  return Math.floor((c + 2) / BUCKET);
}

function channelSum(channels: readonly Float32Array[], length: number): Float64Array {
  const s = new Float64Array(length);
  for (const c of channels) for (let i = 0; i < length; i++) s[i] += c[i];
  return s;
}

/**
 * Aligns `recorded` to `reference` (same channel count, any lengths) as
 * described at the top of this file.
 */
export function alignPiecewise(reference: readonly Float32Array[], recorded: readonly Float32Array[], options: AlignOptions = {}): Alignment {
  const { tolerance, silence, confirmFrames: K, searchFrames: W, cycle: P } = { ...DEFAULTS, ...options };
  if (reference.length === 0 || reference.length !== recorded.length) {
    throw new RangeError(`reference and recording need the same number of channels (got ${reference.length} and ${recorded.length})`);
  }
  const C = reference.length;
  const refLen = Math.min(...reference.map((c) => c.length));
  const recLen = Math.min(...recorded.map((c) => c.length));
  const refSum = channelSum(reference, refLen);
  const recSum = channelSum(recorded, recLen);
  const index = new ValueIndex(recSum);
  const sumTol = C * tolerance;

  const same = (p: number, q: number): boolean => {
    for (let c = 0; c < C; c++) if (Math.abs(reference[c][p] - recorded[c][q]) > tolerance) return false;
    return true;
  };
  const confirmed = (p: number, q: number): boolean => {
    if (p + K > refLen || q + K > recLen) return false;
    for (let k = 0; k < K; k++) if (!same(p + k, q + k)) return false;
    return true;
  };
  const silentRec = (from: number, to: number): boolean => {
    for (let c = 0; c < C; c++) for (let q = from; q < to; q++) if (Math.abs(recorded[c][q]) > silence) return false;
    return true;
  };
  const silentRef = (from: number, to: number): boolean => {
    for (let c = 0; c < C; c++) for (let p = from; p < to; p++) if (Math.abs(reference[c][p]) > silence) return false;
    return true;
  };

  /**
   * A graph that reads a port while its client is still writing the next
   * cycle into it records a cycle torn between the two (or between this one
   * and the last, when the client had not written this one yet): per channel
   * and per sample. The cycle holding recorded frame `j`, where reference
   * frame `i` was due, is torn when every sample is one of those three and
   * the next recorded cycle is the next reference cycle;
   * with how many frames are not this cycle's; null when it is not torn.
   */
  const tornAt = (i: number, j: number, matchedBefore: number): { i0: number; j0: number; frames: number } | null => {
    if (P === 0) return null;
    const j0 = j - (j % P);
    const i0 = i - (j - j0);
    if (j - j0 > matchedBefore || i0 - P < 0 || i0 + 2 * P > refLen || j0 + P > recLen) return null;
    let other = 0;
    for (let k = 0; k < P; k++) {
      let mine = true;
      for (let c = 0; c < C; c++) {
        const v = recorded[c][j0 + k];
        if (Math.abs(v - reference[c][i0 + k]) <= tolerance) continue;
        mine = false;
        if (Math.abs(v - reference[c][i0 + P + k]) > tolerance && Math.abs(v - reference[c][i0 - P + k]) > tolerance) return null;
      }
      if (!mine) other++;
    }
    // a whole cycle from one neighbour is a cycle lost or read twice: the gaps above say which
    if (other === 0 || other === P) return null;
    // the client finished writing the next cycle, which the graph then read whole (a chance equal sample cannot pass this)
    return confirmed(i0 + P, j0 + P) ? { i0, j0, frames: other } : null;
  };

  /**
   * The cheapest (di + dj) resynchronisation from (i, j) with di <= maxDi and
   * dj <= maxDj, or null. `startup`: the recorded side's skip costs nothing
   * (the recording's lead-in before the player started).
   */
  const candidates: number[] = [];
  const resync = (i: number, j: number, maxDi: number, maxDj: number, startup = false): { di: number; dj: number } | null => {
    let best: { di: number; dj: number } | null = null;
    let bestCost = Infinity;
    const lastDi = Math.min(maxDi, refLen - K - i);
    for (let di = 0; di <= lastDi && di < bestCost; di++) {
      const p = i + di;
      if (Math.abs(refSum[p]) < ANCHOR_MIN) continue;
      const djLimit = startup ? maxDj : Math.min(maxDj, bestCost - di - 1);
      for (const q of index.find(refSum[p], sumTol, j, j + djLimit, candidates)) {
        if (!confirmed(p, q)) continue;
        // candidates come in frame order: the first confirmed one is the cheapest for this di
        best = { di, dj: q - j };
        bestCost = startup ? di : di + q - j;
        break;
      }
      // with a free lead-in, the first reference frame found is the answer: a later one only drops more
      if (startup && best) break;
    }
    return best;
  };

  const result: Alignment = {
    refStart: 0,
    recStart: 0,
    refEnd: 0,
    recEnd: 0,
    matchedFrames: 0,
    runs: [],
    gaps: [],
    insertedFrames: 0,
    repeatedFrames: 0,
    droppedFrames: 0,
    tailFrames: 0,
    tail: 'complete',
    tailRepeat: null,
    failure: null,
  };

  let first = 0;
  while (first < refLen && Math.abs(refSum[first]) < ANCHOR_MIN) first++;
  if (first >= refLen) {
    result.failure = { refAt: 0, recAt: 0, reason: 'the reference never sounds' };
    return result;
  }
  const start = resync(first, 0, W, recLen, true);
  if (!start) {
    result.failure = { refAt: first, recAt: 0, reason: `the reference's first sound (frame ${first}, or any within ${W} frames after it) is nowhere in the recording` };
    return result;
  }
  let i = first + start.di;
  let j = start.dj;
  // the anchor is the first clearly sounding frame: the quieter frames of a fade-in before it belong to the match too
  while (i > 0 && j > 0 && !silentRef(i - 1, i) && same(i - 1, j - 1)) {
    i--;
    j--;
  }
  if (!silentRec(0, j)) {
    result.failure = { refAt: i, recAt: j, reason: `the recording sounds before the reference's first sound (before recorded frame ${j})` };
    return result;
  }
  let sounding = 0;
  while (silentRef(sounding, sounding + 1)) sounding++;
  if (i > sounding) result.gaps.push({ kind: 'dropped', refAt: sounding, recAt: j, insertedFrames: 0, repeatedFrames: 0, droppedFrames: i - sounding });
  result.refStart = i;
  result.recStart = j;

  for (;;) {
    const run = { refAt: i, recAt: j, frames: 0 };
    while (i < refLen && j < recLen && same(i, j)) {
      i++;
      j++;
      run.frames++;
    }
    if (run.frames > 0) result.runs.push(run);
    result.matchedFrames += run.frames;
    const torn = i < refLen && j < recLen ? tornAt(i, j, run.frames) : null;
    if (torn) {
      result.gaps.push({ kind: 'torn', refAt: torn.i0, recAt: torn.j0, insertedFrames: 0, repeatedFrames: 0, droppedFrames: 0, tornFrames: torn.frames });
      i = torn.i0 + P;
      j = torn.j0 + P;
      continue;
    }
    result.refEnd = i;
    result.recEnd = j;
    if (i >= refLen || silentRef(i, refLen)) break;
    // too little recording left to confirm a resynchronisation: it ended
    if (recLen - j < K) {
      result.tail = 'recording ended';
      result.tailFrames = refLen - i;
      break;
    }
    const next = resync(i, j, W, W);
    if (!next) {
      const repeat = trailingRepeat(recorded, j, tolerance);
      if (silentRec(j, recLen)) {
        result.tail = 'recording silent';
        result.tailFrames = refLen - i;
      } else if (repeat && silentRec(j + repeat.frames, recLen)) {
        result.tail = 'recording repeats';
        result.tailRepeat = repeat;
        result.tailFrames = refLen - i;
      } else if (silentRec(j, Math.min(recLen, j + W))) {
        result.failure = { refAt: i, recAt: j, reason: `silence of more than ${W} frames from recorded frame ${j}, then sound (a dropout)` };
      } else {
        result.failure = { refAt: i, recAt: j, reason: `recorded frame ${j} is not reference frame ${i}, and they do not meet again within ${W} frames` };
      }
      break;
    }
    let { di, dj } = next;
    // anchors are clearly sounding frames: quieter frames just before one that already match belong to the match
    while (di > 0 && dj > 0 && same(i + di - 1, j + dj - 1)) {
      di--;
      dj--;
    }
    if (dj > 0 && !silentRec(j, j + dj)) {
      // a stale buffer read again stands in for at most the cycle it was read in
      if ((di === 0 || di === dj) && dj <= j - result.recStart && sameStretch(recorded, recorded, j - dj, j, dj, tolerance)) {
        result.gaps.push({ kind: 'repeated', refAt: i, recAt: j, insertedFrames: 0, repeatedFrames: dj, droppedFrames: di });
        i += di;
        j += dj;
        continue;
      }
      result.failure = {
        refAt: i,
        recAt: j,
        reason: `recorded frames ${j}..${j + dj} are neither silence, nor the reference, nor a repeat of the frames before them (where ${di} reference frames are missing)`,
      };
      break;
    }
    const kind = di === 0 ? 'inserted' : dj === 0 ? 'dropped' : 'replaced';
    result.gaps.push({ kind, refAt: i, recAt: j, insertedFrames: dj, repeatedFrames: 0, droppedFrames: di });
    i += di;
    j += dj;
  }
  for (const g of result.gaps) {
    result.insertedFrames += g.insertedFrames;
    result.repeatedFrames += g.repeatedFrames;
    result.droppedFrames += g.droppedFrames;
  }
  return result;
}

/** The shortest period (up to 4096 frames) with which the frames from `at` on repeat the ones before, and for how many frames; null if none. */
function trailingRepeat(rec: readonly Float32Array[], at: number, tol: number): { period: number; frames: number } | null {
  const len = Math.min(...rec.map((c) => c.length));
  const same = (p: number, q: number) => rec.every((c) => Math.abs(c[p] - c[q]) <= tol);
  for (let period = 1; period <= Math.min(4096, at); period++) {
    let n = 0;
    while (at + n < len && same(at + n, at + n - period)) n++;
    // a stale buffer repeats whole: at least one full period, and not just silence repeating silence
    if (n >= period && rec.some((c) => c.subarray(at, at + period).some((v) => Math.abs(v) > tol))) return { period, frames: n };
  }
  return null;
}

function sameStretch(a: readonly Float32Array[], b: readonly Float32Array[], p: number, q: number, n: number, tol: number): boolean {
  for (const [c, ch] of a.entries()) for (let k = 0; k < n; k++) if (Math.abs(ch[p + k] - b[c][q + k]) > tol) return false;
  return true;
}

/** One line: frames matched, each gap with its length in ms, the tail, and the failure if any. */
export function describeAlignment(a: Alignment, sampleRate: number): string {
  const ms = (frames: number) => `${((frames / sampleRate) * 1000).toFixed(1)} ms`;
  const gaps = a.gaps.map((g) => {
    const at = `${(g.refAt / sampleRate).toFixed(2)} s`;
    if (g.kind === 'inserted') return `+${ms(g.insertedFrames)} silence @${at}`;
    if (g.kind === 'dropped') return `-${ms(g.droppedFrames)} lost @${at}`;
    if (g.kind === 'torn') return `cycle torn (${g.tornFrames} frames) @${at}`;
    if (g.kind === 'repeated') return `${ms(g.repeatedFrames)} repeated${g.droppedFrames ? ` in place of ${ms(g.droppedFrames)}` : ''} @${at}`;
    return `-${ms(g.droppedFrames)} lost, +${ms(g.insertedFrames)} silence @${at}`;
  });
  return (
    `matched ${(a.matchedFrames / sampleRate).toFixed(2)} s from reference ${(a.refStart / sampleRate).toFixed(3)} s (recording ${(a.recStart / sampleRate).toFixed(3)} s); ` +
    `${a.gaps.length} gap(s)${gaps.length ? `: ${gaps.join(', ')}` : ''}; inserted ${ms(a.insertedFrames)}, repeated ${ms(a.repeatedFrames)}, lost ${ms(a.droppedFrames)}; ` +
    `tail ${a.tail}${a.tailRepeat ? ` (last ${a.tailRepeat.period} frames for ${ms(a.tailRepeat.frames)})` : ''}${a.tailFrames ? `, ${ms(a.tailFrames)} of the reference not recorded` : ''}` +
    (a.failure ? `; FAILED at reference ${(a.failure.refAt / sampleRate).toFixed(3)} s: ${a.failure.reason}` : '')
  );
}

export interface GapLimits {
  /** Gaps must be whole multiples of this many frames (a real-time graph inserts, repeats and loses whole cycles). */
  period: number;
  /** Longest silence one gap may insert. */
  maxGapFrames: number;
  /** Longest repeat one gap may hold (0: none allowed). */
  maxRepeatFrames: number;
  /** Silence inserted and frames lost, in all. */
  maxInsertedFrames: number;
  maxDroppedFrames: number;
}

/** What is wrong with the gaps of `a` for a real-time graph's xruns (an empty list: nothing). */
export function gapProblems(a: Alignment, limits: GapLimits): string[] {
  const problems: string[] = [];
  const { period } = limits;
  const odd = a.gaps.filter((g) => g.insertedFrames % period !== 0 || g.repeatedFrames % period !== 0 || g.droppedFrames % period !== 0);
  if (odd.length) {
    const g = odd[0];
    problems.push(`${odd.length} gap(s) not whole ${period}-frame cycles (first at reference frame ${g.refAt}: ${g.kind} +${g.insertedFrames + g.repeatedFrames} -${g.droppedFrames})`);
  }
  const longest = Math.max(0, ...a.gaps.map((g) => g.insertedFrames));
  if (longest > limits.maxGapFrames) problems.push(`a silence of ${longest} frames (at most ${limits.maxGapFrames})`);
  const longestRepeat = Math.max(0, ...a.gaps.map((g) => g.repeatedFrames));
  if (longestRepeat > limits.maxRepeatFrames) problems.push(`a repeat of ${longestRepeat} frames (at most ${limits.maxRepeatFrames})`);
  if (a.insertedFrames > limits.maxInsertedFrames) problems.push(`${a.insertedFrames} frames of silence inserted in all (at most ${limits.maxInsertedFrames})`);
  if (a.droppedFrames > limits.maxDroppedFrames) problems.push(`${a.droppedFrames} frames lost in all (at most ${limits.maxDroppedFrames})`);
  return problems;
}
