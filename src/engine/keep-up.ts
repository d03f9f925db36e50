/**
 * Whether a model keeps up live, judged from measured figures (the
 * measurement is keep-up-timing.ts; this part is pure, so the verdict and
 * the advice are tested with figures a test chooses).
 *
 * Live makes one frame per decoder step and hands the codec's audio to a
 * ring that the device drains in real time; the worker refills it whenever
 * it holds less than the ring target (--latency). Two things must hold:
 * - the sustained rate: audio made per second of work, at the longest
 *   context live plays (the full window), with the codec and the window's
 *   re-prime (a slide every window - keep frames) spread over the frames,
 *   is at least real time (x1). Below it every ring runs dry, however long;
 * - the gap between audio writes fits in the ring: an EnCodec model's
 *   audio comes out a chunk of frames at a time (25 frames, 0.5 s), so the
 *   ring must cover the steps of a whole chunk plus its decode. tinyband's
 *   synthesizer writes every frame.
 * A re-prime (a prompt change, a window slide) is one longer step: when it
 * does not fit in the ring the music drops out for a moment each time; that
 * is said, with the ring that would cover it, but does not refuse a model.
 */
import { MIN_TEMPO } from '../constants.js';

/** Decoder steps timed at one context length. */
export interface StepTiming {
  /** Positions in the cache when the timed steps began. */
  past: number;
  steps: number;
  meanMs: number;
  p90Ms: number;
}

/** What keep-up-timing.ts measures. */
export interface KeepUpFigures {
  /** Audio one model frame lasts, ms: a 16th note at the tempo (tinyband), 1000 / frame rate (EnCodec: 20 ms). */
  frameAudioMs: number;
  /** The model's window and the context a slide keeps, in frames. */
  window: number;
  keep: number;
  /** Steps from silence (the session's start). */
  short: StepTiming;
  /** Steps at the end of a full window; null when not measured (a quick check stops once the short context is already too slow). */
  full: StepTiming | null;
  /** One re-prime: the run that feeds the kept context after a slide or a prompt change; null when not measured. */
  reprimeMs: number | null;
  /** The codec: ms per frame (all its work spread over the frames), frames per audio write, ms of one write; null when not measured. */
  codec: { msPerFrame: number; framesPerWrite: number; msPerWrite: number } | null;
  /** Whether the steps ran with SMITIN steering on (a probe set was there). */
  steered: boolean;
  /** How long the measurement took, ms (loading excluded). */
  ms: number;
}

export interface KeepUpVerdict {
  keepsUp: boolean;
  /** Audio seconds per second of work, sustained: at the full window when measured, else at the short context (an upper bound). */
  multiple: number;
  /** The same at the short context (the session's first seconds). */
  shortMultiple: number;
  /** The longest wait between two audio writes in steady play, ms: what the ring must cover. */
  gapMs: number;
  /** A re-prime and the rest of its write, ms (null: not measured). */
  reprimeGapMs: number | null;
  /** The ring target it was judged against, ms. */
  latencyMs: number;
  /** Why it does not keep up: too slow on average, or the ring too short for the gap between writes. */
  reason: 'ok' | 'slow' | 'ring';
}

/** The verdict for a ring target of `latencyMs`. */
export function judgeKeepUp(f: KeepUpFigures, latencyMs: number): KeepUpVerdict {
  const step = (f.full ?? f.short).meanMs;
  const codecPerFrame = f.codec?.msPerFrame ?? 0;
  const reprimePerFrame = f.reprimeMs !== null ? f.reprimeMs / Math.max(1, f.window - f.keep) : 0;
  const multiple = f.frameAudioMs / (step + codecPerFrame + reprimePerFrame);
  const shortMultiple = f.frameAudioMs / (f.short.meanMs + codecPerFrame);
  const framesPerWrite = f.codec?.framesPerWrite ?? 1;
  const gapMs = framesPerWrite * step + (f.codec?.msPerWrite ?? 0);
  const reprimeGapMs = f.reprimeMs !== null ? f.reprimeMs + gapMs : null;
  const reason = multiple < 1 ? 'slow' : gapMs > latencyMs ? 'ring' : 'ok';
  return { keepsUp: reason === 'ok', multiple, shortMultiple, gapMs, reprimeGapMs, latencyMs, reason };
}

/** What the machine and the folder offer, for the advice. */
export interface AdviceContext {
  /** The decoder's dtype: the graph that sets the step's cost. */
  decoderDtype: string;
  /** Whether the folder has int8 files (*_quantized.onnx). */
  hasQ8: boolean;
  ep: string;
  /** Providers this onnxruntime-node can start as installed (bundled with it). */
  providers: readonly string[];
  /** The intra-op threads the model ran with (null: onnxruntime's choice, the cores). */
  threads: number | null;
  cores: number;
  /** tinyband: a frame is a 16th note, so its audio lasts longer at a slower tempo. */
  tempo: number | null;
}

/** A ring target (ms, rounded up to 10) that covers `gapMs` with a quarter to spare. */
export function ringFor(gapMs: number): number {
  return Math.ceil((gapMs * 1.25) / 10) * 10;
}

/** The settings that would help, each with what can be told of how much. */
export function keepUpAdvice(f: KeepUpFigures, v: KeepUpVerdict, ctx: AdviceContext): string[] {
  const out: string[] = [];
  if (v.reason === 'slow') {
    if (ctx.decoderDtype !== 'q8') {
      out.push(
        ctx.hasQ8
          ? '--dtype decoder=q8: this folder has an int8 decoder (on MusicGen-small\'s shape a q8 step took 0.4-0.6x the fp32 time on a 2-core CPU)'
          : 'an int8 decoder (--dtype decoder=q8, about 0.4-0.6x the fp32 step on CPU): this folder has none; make one with training/to_q8.py DIR',
      );
    }
    if (ctx.threads !== null && ctx.threads < ctx.cores) out.push(`--threads ${ctx.cores}: this machine has ${ctx.cores} cores and the model ran on ${ctx.threads}`);
    const others = ctx.providers.filter((p) => p !== 'cpu' && p !== ctx.ep);
    if (others.length) out.push(`--ep ${others[0]}: available here (${others.join(', ')})`);
    else if (ctx.ep === 'cpu') out.push('an accelerator: this onnxruntime-node has no provider but the CPU ready; with an NVIDIA GPU, install its CUDA files (README, Install notes) and use --ep cuda');
    if (ctx.tempo !== null) {
      const bpm = Math.floor(ctx.tempo * v.multiple);
      if (bpm >= MIN_TEMPO) out.push(`--tempo ${bpm} or slower: a frame is a 16th note, so it lasts longer at a slower tempo`);
    }
    out.push('not --latency: a longer ring cannot make up a rate below real time, it only delays the first underrun');
  } else if (v.reason === 'ring') {
    const chunk = (f.codec?.framesPerWrite ?? 1) > 1 ? ` (the codec writes audio every ${f.codec!.framesPerWrite} frames)` : '';
    out.push(`--latency ${ringFor(v.gapMs)}: the ring must cover the ${v.gapMs.toFixed(0)} ms between audio writes${chunk}; ${v.latencyMs} ms does not`);
  }
  if (v.reason !== 'slow' && v.reprimeGapMs !== null && v.reprimeGapMs > v.latencyMs) {
    out.push(
      `a re-prime (a prompt change, or the window sliding every ${((f.window - f.keep) * f.frameAudioMs / 1000).toFixed(0)} s) stalls ${v.reprimeGapMs.toFixed(0)} ms: ` +
        `a short dropout each time at --latency ${v.latencyMs}; --latency ${ringFor(v.reprimeGapMs)} rides it out`,
    );
  }
  return out;
}

/** "yes, x52 real time" / "no, x0.17 real time (needs x1)": the verdict in a line. */
export function verdictLine(v: KeepUpVerdict): string {
  const x = `x${formatMultiple(v.multiple)} real time`;
  if (v.reason === 'ok') return `yes, ${x} (${formatMultiple(v.multiple)} times what live needs; the ring covers the ${v.gapMs.toFixed(0)} ms between writes)`;
  if (v.reason === 'slow') return `no, ${x} (needs x1: it makes ${(v.multiple * 100).toFixed(0)} % of the audio it plays; ${(1 / v.multiple).toFixed(1)}x faster per frame would hold)`;
  return `no at --latency ${v.latencyMs}: ${x}, but audio comes ${v.gapMs.toFixed(0)} ms apart, longer than the ${v.latencyMs} ms ring`;
}

export function formatMultiple(m: number): string {
  return m >= 10 ? m.toFixed(0) : m >= 1 ? m.toFixed(1) : m.toFixed(2);
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** One line of what was measured. */
export function measuredLine(f: KeepUpFigures): string {
  const what = f.steered ? 'with guidance and SMITIN' : 'with guidance (no probes: unsteered)';
  const full = f.full ? `, ${ms(f.full.meanMs)} ms at ${f.full.past} of ${f.window} frames of context` : ', the full window not measured (already too slow)';
  const reprime = f.reprimeMs !== null ? `; re-prime of ${f.keep} frames ${ms(f.reprimeMs)} ms` : '';
  const codec = f.codec ? `; codec ${ms(f.codec.msPerFrame)} ms a frame${f.codec.framesPerWrite > 1 ? ` (audio every ${f.codec.framesPerWrite.toFixed(0)} frames, ${ms(f.codec.msPerWrite)} ms a write)` : ''}` : '';
  return `decoder step ${what}: ${ms(f.short.meanMs)} ms from silence${full}${reprime}${codec}; a frame is ${ms(f.frameAudioMs)} ms of audio`;
}

/** The check as lines: the model and how it ran, what was measured, the verdict, the advice. */
export function reportLines(model: string, how: string, r: { figures: KeepUpFigures; verdict: KeepUpVerdict; advice: readonly string[] }): string[] {
  const lines = [`${model} (${how}): ${measuredLine(r.figures)}`, `can this machine play it live? ${verdictLine(r.verdict)}`];
  if (r.figures.full && r.verdict.shortMultiple >= 2 * r.verdict.multiple) lines.push(`  from silence it runs at x${formatMultiple(r.verdict.shortMultiple)}: the window's length is what costs`);
  for (const a of r.advice) lines.push(`  - ${a}`);
  return lines;
}
