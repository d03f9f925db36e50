/**
 * The keep-up verdict and its advice from figures chosen here (the
 * measurement itself is exercised through `smitin check` and `live` in
 * test/cli/check.test.ts): the sustained rate counts the full window, the
 * codec and the re-prime; an EnCodec model's chunked writes must fit the
 * ring; the advice names what would help and what cannot.
 */
import { describe, expect, it } from 'vitest';
import { judgeKeepUp, keepUpAdvice, reportLines, ringFor, verdictLine, type AdviceContext, type KeepUpFigures } from '../../src/engine/keep-up.js';

/** tinyband at 120 BPM: a 16th note is 125 ms; a step of 2 ms, the synthesizer writing every frame. */
const TINYBAND: KeepUpFigures = {
  frameAudioMs: 125,
  window: 256,
  keep: 96,
  short: { past: 20, steps: 24, meanMs: 2, p90Ms: 3 },
  full: { past: 207, steps: 24, meanMs: 2.5, p90Ms: 3 },
  reprimeMs: 30,
  codec: { msPerFrame: 0.5, framesPerWrite: 1, msPerWrite: 0.5 },
  steered: true,
  ms: 300,
};

/** MusicGen-small's shape on a 2-core CPU, fp32 (bench/decoder-step: 83 ms at past 16; longer contexts cost more), EnCodec at 50 frames/s, audio every 25 frames. */
const SMALL: KeepUpFigures = {
  ...TINYBAND,
  frameAudioMs: 20,
  window: 1496,
  keep: 598,
  short: { past: 20, steps: 12, meanMs: 83, p90Ms: 90 },
  full: { past: 1446, steps: 12, meanMs: 400, p90Ms: 420 },
  reprimeMs: 9000,
  codec: { msPerFrame: 2, framesPerWrite: 25, msPerWrite: 50 },
};

const CPU: AdviceContext = { decoderDtype: 'fp32', hasQ8: true, ep: 'cpu', providers: ['cpu'], threads: 1, cores: 8, tempo: null };

describe('the keep-up verdict', () => {
  it('tinyband: yes, with the multiple at the full window, the codec and the re-prime spread over a window', () => {
    const v = judgeKeepUp(TINYBAND, 100);
    // 125 ms of audio for 2.5 + 0.5 + 30 / 160 ms of work
    expect(v.multiple).toBeCloseTo(125 / (2.5 + 0.5 + 30 / 160), 6);
    expect(v.shortMultiple).toBeCloseTo(125 / 2.5, 6);
    expect(v).toMatchObject({ keepsUp: true, reason: 'ok', gapMs: 3, reprimeGapMs: 33 });
    expect(verdictLine(v)).toMatch(/^yes, x39 real time/);
    expect(keepUpAdvice(TINYBAND, v, { ...CPU, tempo: 120 })).toEqual([]);
  });

  it('MusicGen-small on a CPU: no, judged at the full window even though the short context is faster', () => {
    const v = judgeKeepUp(SMALL, 100);
    expect(v.reason).toBe('slow');
    expect(v.keepsUp).toBe(false);
    expect(v.multiple).toBeCloseTo(20 / (400 + 2 + 9000 / 898), 6);
    expect(v.shortMultiple).toBeCloseTo(20 / 85, 6);
    expect(verdictLine(v)).toMatch(/^no, x0\.05 real time \(needs x1: it makes 5 % of the audio it plays; 20\.6x faster per frame would hold\)$/);
    const lines = reportLines('"small"', 'fp32, cpu, 1 thread', { figures: SMALL, verdict: v, advice: keepUpAdvice(SMALL, v, CPU) });
    expect(lines[1]).toBe(`can this machine play it live? ${verdictLine(v)}`);
    expect(lines.some((l) => /from silence it runs at x0\.24: the window's length is what costs/.test(l))).toBe(true);
  });

  it('with only the short context measured (a quick check that stopped), the verdict rests on it', () => {
    const quick = { ...SMALL, full: null, reprimeMs: null, codec: null };
    const v = judgeKeepUp(quick, 100);
    expect(v.multiple).toBeCloseTo(20 / 83, 6);
    expect(v.reason).toBe('slow');
    expect(v.reprimeGapMs).toBeNull();
  });

  it("a fast enough EnCodec model whose chunks do not fit the ring: no, for the ring, and the advice is a ring that covers the gap", () => {
    const gpu = { ...SMALL, short: { ...SMALL.short, meanMs: 6 }, full: { ...SMALL.full!, meanMs: 8 }, reprimeMs: 120 };
    const v = judgeKeepUp(gpu, 100);
    expect(v.multiple).toBeGreaterThan(1);
    // 25 frames of 8 ms, then the chunk's 50 ms decode
    expect(v.gapMs).toBe(250);
    expect(v).toMatchObject({ keepsUp: false, reason: 'ring' });
    expect(verdictLine(v)).toMatch(/^no at --latency 100: x2\.0 real time, but audio comes 250 ms apart/);
    const advice = keepUpAdvice(gpu, v, CPU);
    expect(advice[0]).toBe(`--latency ${ringFor(250)}: the ring must cover the 250 ms between audio writes (the codec writes audio every 25 frames); 100 ms does not`);
    expect(ringFor(250)).toBe(320);
    // the ring it names is enough: judged again there, it keeps up
    expect(judgeKeepUp(gpu, ringFor(250)).keepsUp).toBe(true);
  });

  it('a re-prime longer than the ring is said with the ring that rides it out, without refusing', () => {
    const slowReprime = { ...TINYBAND, reprimeMs: 150 };
    const v = judgeKeepUp(slowReprime, 100);
    expect(v.keepsUp).toBe(true);
    const [line] = keepUpAdvice(slowReprime, v, CPU);
    expect(line).toMatch(/^a re-prime \(a prompt change, or the window sliding every 20 s\) stalls 153 ms: a short dropout each time at --latency 100; --latency 200 rides it out$/);
  });
});

describe('the advice when too slow', () => {
  const v = judgeKeepUp(SMALL, 100);

  it('names int8 files the folder has, more threads, the accelerator there is, and says a longer ring cannot help', () => {
    const advice = keepUpAdvice(SMALL, v, { ...CPU, providers: ['cpu', 'cuda'] });
    expect(advice[0]).toMatch(/^--dtype decoder=q8: this folder has an int8 decoder/);
    expect(advice[1]).toBe('--threads 8: this machine has 8 cores and the model ran on 1');
    expect(advice[2]).toBe('--ep cuda: available here (cuda)');
    expect(advice.at(-1)).toMatch(/^not --latency: a longer ring cannot make up a rate below real time/);
  });

  it('without int8 files or a provider: how to make them, and what an accelerator needs; nothing about dtype once it is q8', () => {
    const none = keepUpAdvice(SMALL, v, { ...CPU, hasQ8: false, threads: null });
    expect(none[0]).toMatch(/this folder has none; make one with training\/to_q8\.py DIR$/);
    expect(none.some((a) => a.startsWith('--threads'))).toBe(false);
    expect(none[1]).toMatch(/^an accelerator: this onnxruntime-node has no provider but the CPU ready/);
    expect(keepUpAdvice(SMALL, v, { ...CPU, decoderDtype: 'q8' }).some((a) => a.includes('q8'))).toBe(false);
  });

  it('tinyband too slow at a fast tempo: the tempo at which its 16th notes are long enough', () => {
    const slow = { ...TINYBAND, frameAudioMs: 75, full: { ...TINYBAND.full!, meanMs: 100 } };
    const verdict = judgeKeepUp(slow, 100);
    expect(verdict.reason).toBe('slow');
    const tempo = keepUpAdvice(slow, verdict, { ...CPU, tempo: 200 }).find((a) => a.startsWith('--tempo'));
    expect(tempo).toBe(`--tempo ${Math.floor(200 * verdict.multiple)} or slower: a frame is a 16th note, so it lasts longer at a slower tempo`);
    // below the slowest tempo there is no such advice
    const hopeless = { ...slow, full: { ...slow.full, meanMs: 1000 } };
    expect(keepUpAdvice(hopeless, judgeKeepUp(hopeless, 100), { ...CPU, tempo: 200 }).some((a) => a.startsWith('--tempo'))).toBe(false);
  });
});
