/**
 * The generation side of the live engine, run in the worker thread: it
 * generates while the ring holds less than its target (so it is paced by
 * the listener, and a slow moment never turns into a backlog), reads the
 * knobs once per step from shared memory, and follows prompt, tempo and
 * transport commands without a restart:
 * - a new prompt re-primes a fresh generator with the last bars played as
 *   its audio prompt (the window starting on a bar), so the music turns
 *   toward the new text instead of starting over. It takes effect at the
 *   next bar line of the generated music, the latest prompt wins, and there
 *   is at most one re-prime per bar: a re-prime costs tens of ms, and a
 *   flood of prompts (hundreds a second) must not turn into underruns;
 * - a tempo change applies to the next frame synthesized;
 * - knob, temperature and guidance changes apply to the next frame made,
 *   or, quantized (`quantize`), to the first frame made that starts on the
 *   next beat, bar or 4- or 8-bar phrase line of the music: never to frames
 *   already in the ring, so a change lands on the grid a listener hears;
 * - stop pauses generation, play resumes it where it was;
 * - a loop freezes the last N whole bars made, from the next bar line, and
 *   replays their tokens through the codec exactly (a producer records a
 *   clean N-bar loop) until it is released, a knob, temperature or guidance
 *   moves, or a prompt arrives; generation then continues with what played,
 *   loop and all, as its context.
 * - a cued play (a DAW's start, src/sync/) restarts the music's count at the
 *   cue's song position, on a bar line of the model's music: tinyband's bars
 *   are in its frames, so frames are made and dropped until the music's bar
 *   phase is the cue's (stopped, the loop parks on the next bar line, so a
 *   start on a bar costs one frame); EnCodec models have no bars, only the
 *   start and the count are aligned.
 *
 * The loop plays a token source (token-source.ts: the model and SMITIN, in
 * process today) through a frame renderer (frame-renderer.ts: the codec);
 * it knows the codec only by its traits (bars, frame length).
 */
import { codecTraits, type CodecTraits } from '../model/codec/traits.js';
import type { MusicgenModel } from '../model/musicgen/index.js';
import type { ProbeSet } from '../smitin/probe-set.js';
import type { ControlBlock } from './control-block.js';
import type { FrameRenderer } from './frame-renderer.js';
import { ModelTokenSource, type ModelSourceSettings } from './model-token-source.js';
import { openFrameRenderer } from './open-renderer.js';
import type { TokenSource } from './token-source.js';
import type { EngineCommand, FeatureTelemetry, LoopBars, Quantize } from '../protocol.js';
import { StereoRing } from './ring.js';

/** The loop's settings, with the in-process token source's (create() makes one). */
export interface LoopSettings extends ModelSourceSettings {
  prompt: string;
  tempo: number;
  /** Output sample rate. */
  sampleRate: number;
  /** Generate while the ring holds fewer frames (samples per channel) than this. */
  targetFrames: number;
  playing?: boolean;
  /** Post every frame's tokens (tests, visualisers: the ground truth of what plays). */
  reportTokens?: boolean;
  /** Where control changes land: the next frame ('off'), or the first frame on the next beat or bar line. */
  quantize?: Quantize;
  /** The mix and each instrument on its own pair (tinyband; the ring must have the pairs). */
  stems?: boolean;
}


/** What the loop tells the main thread. */
export type LoopMessage =
  | { type: 'telemetry'; features: FeatureTelemetry[]; stepMs: number; realtimeFactor: number; tempo: number; prompt: string; playing: boolean; frames: number; reprimes: number; looping: number }
  /** Audio from ring position `position` on was generated with the controls of time `stamp` (nowMs mod 2^31): the output measures the latency. */
  | { type: 'mark'; stamp: number; position: number }
  | { type: 'issue'; message: string }
  /** A cued play's music starts at ring position `position`, song position `beats`: what was queued before is stale. */
  | { type: 'cue'; beats: number; position: number }
  /** A play after a stop: the music made after it starts at ring position `position`; a frame written as the stop came is stale. */
  | { type: 'resume'; position: number }
  /** Audio from ring position `position` on is `beats` beats into the music (on every 16th-note line): the output keeps the heard position. */
  | { type: 'grid'; beats: number; position: number }
  /** A frame's tokens, the ring position its audio starts at, its index (frames made so far), the synth's index for its humanising (a loop's frames keep their own) and the tempo it plays at (with reportTokens). */
  | { type: 'tokens'; frame: number[]; position: number; index: number; dice: number; tempo: number };

export const TELEMETRY_MS = 100;

const PHRASE_BARS = { bar: 1, '4bars': 4, '8bars': 8 } as const;

/** What the loop plays: a token source through a renderer, and the codec's traits (its bars, its frames' length). */
export interface LoopParts {
  source: TokenSource;
  renderer: FrameRenderer;
  traits: CodecTraits;
}

export class GenerationLoop {
  private prompt: string;
  private tempo: number;
  private playing: boolean;
  private stopped = false;
  private seq: number;
  private framesOut = 0;
  /** Beats of music generated so far: the musical time of the next frame. */
  private beats = 0;
  private readonly strengths: Float64Array;
  private pendingStamp: number | null = null;
  private pendingPrompt: string | null = null;
  /** The bar (of frames out) of the last re-prime: at most one per bar. */
  private reprimedBar = -1;
  /** Prompt changes applied so far (each re-primes the model). */
  private reprimes = 0;
  private workMs = 0;
  private audioMs = 0;
  private lastTelemetry = 0;
  /** The temperature and guidance the source has (a control change is one that differs). */
  private temperature: number;
  private guidance: number;
  /** A loop asked for (bars; 0 releases), applied at the next bar line. */
  private pendingLoop: LoopBars | 0 | null = null;
  /** The loop playing: its frames, the frame (from the start) the first was, and the next one to play. */
  private loop: { frames: number[][]; first: number; next: number } | null = null;
  /** A cued play's song position, until the loop starts there. */
  private pendingCue: number | null = null;
  /** Stopped off a bar line: make frames up to the next one while nobody listens. */
  private parkPending = false;
  /** The next frame made starts a 16th-note line of the grid whatever came before (after a cue). */
  private gridDue = false;
  private readonly source: TokenSource;
  private readonly renderer: FrameRenderer;
  private readonly traits: CodecTraits;

  /** The loop on any token source and renderer; the source is primed with `settings.prompt` before the first frame is asked. */
  constructor(
    parts: LoopParts,
    private readonly ring: StereoRing,
    private readonly controls: ControlBlock,
    private readonly settings: LoopSettings,
    private readonly post: (m: LoopMessage) => void,
  ) {
    this.source = parts.source;
    this.renderer = parts.renderer;
    this.traits = parts.traits;
    this.prompt = settings.prompt;
    this.tempo = settings.tempo;
    this.playing = settings.playing ?? true;
    this.temperature = controls.temperature();
    this.guidance = controls.guidance();
    this.strengths = new Float64Array(controls.features.length);
    // the values at start are not a change: no latency mark for them
    this.seq = controls.sequence();
  }

  /** The loop on a model loaded in this thread: the in-process token source, steered with `probes`, and the codec's renderer. */
  static async create(
    model: MusicgenModel,
    ring: StereoRing,
    controls: ControlBlock,
    probes: ProbeSet | null,
    settings: LoopSettings,
    post: (m: LoopMessage) => void,
  ): Promise<GenerationLoop> {
    const renderer = await openFrameRenderer(model, settings.tempo, settings.sampleRate, settings.stems);
    const { seed, steering, alphas, sampling } = settings;
    const source = new ModelTokenSource(model, { probes, steering, alphas, seed, sampling, temperature: controls.temperature(), guidance: controls.guidance() });
    // made before the first await, so the loop and the source start from the same reading of the controls
    const loop = new GenerationLoop({ source, renderer, traits: codecTraits(model.spec.codec) }, ring, controls, settings, post);
    await source.reprime(settings.prompt, []);
    return loop;
  }

  get features(): readonly string[] {
    return this.controls.features;
  }

  /** The source starts afresh on the current prompt, continuing from `frames` (codebook-major). */
  private async restart(frames: readonly Uint16Array[]): Promise<void> {
    await this.source.reprime(this.prompt, frames);
  }

  /** Per-feature alphas (a preset's maxima); the others return to the steering settings' alpha. */
  setAlphas(alphas: Record<string, number>): void {
    this.source.setAlphas(alphas);
  }

  /** Applies a command from the main thread (already validated there). */
  handle(cmd: EngineCommand): void {
    switch (cmd.type) {
      case 'prompt':
        this.pendingPrompt = cmd.text;
        break;
      case 'tempo':
        this.tempo = cmd.bpm;
        this.renderer.setTempo(cmd.bpm);
        break;
      case 'play':
        // nothing is written while stopped (a frame a stop cut off is dropped), so the ring's end is where the
        // music made after this play begins; the output, told to play, waits for this mark
        if (!this.playing && !cmd.cue) this.post({ type: 'resume', position: this.ring.written() });
        this.playing = true;
        if (cmd.cue) this.pendingCue = cmd.cue.beats;
        break;
      case 'stop':
        this.playing = false;
        this.parkPending = true;
        break;
      case 'loop':
        this.pendingLoop = cmd.bars;
        break;
      default:
        // strengths, temperature and guidance come through shared memory; record and presets are the main thread's
        break;
    }
  }

  /** Runs until shutdown(): one frame whenever the ring is below target. */
  async run(): Promise<void> {
    while (!this.stopped) {
      if (this.pendingCue !== null) {
        await this.startCue(this.pendingCue);
        continue;
      }
      if (!this.playing && this.parkPending) {
        this.parkPending = false;
        await this.skipToBarPhase(0);
        continue;
      }
      // a re-prime (leaving a loop costs one too) is taken at once, with the ring at its target, not when it runs low
      if (this.loopEnds()) {
        await this.endLoop();
        continue;
      }
      if (this.promptDue()) {
        await this.applyPrompt();
        // A re-primed model's first step feeds its whole audio prompt: 30-40 ms on our 2-core machine against ~3 ms
        // for a step. Taken now, with the ring at its target, it cannot underrun; taken when the ring runs low (the
        // normal pace), a loaded machine made it do. The ring has room for target + two frames.
        if (this.playing) await this.produceFrame();
        continue;
      }
      if (!this.playing || this.ring.available() >= this.settings.targetFrames) {
        this.maybeTelemetry();
        await sleep(1);
        continue;
      }
      await this.produceFrame();
    }
    this.renderer.close();
  }

  shutdown(): void {
    this.stopped = true;
  }

  /** A pending prompt applies on a bar line of the generated music, once per bar at most. */
  private promptDue(): boolean {
    if (this.pendingPrompt === null) return false;
    const bar = this.promptBarFrames();
    return this.framesOut % bar === 0 && Math.floor(this.framesOut / bar) !== this.reprimedBar;
  }

  /** A bar in model frames: 16 sixteenths for tinyband; for EnCodec models, a bar of the current tempo at the codec's frame rate. */
  private promptBarFrames(): number {
    return this.traits.barFramesAt(this.tempo);
  }

  /** Turns to the pending prompt: a fresh generator continues from the bars just played (the window starting on a bar). */
  private async applyPrompt(): Promise<void> {
    this.takePrompt();
    await this.restart(this.context());
  }

  /** The pending prompt becomes the one played (the caller re-primes). */
  private takePrompt(): void {
    this.prompt = this.pendingPrompt!;
    this.pendingPrompt = null;
    this.reprimedBar = Math.floor(this.framesOut / this.promptBarFrames());
    this.reprimes++;
  }

  /**
   * What played last, at most the model's window, starting on a bar line
   * (codebook-major, as a prompt): the model's own frames, followed, when a
   * loop is ending, by the repetitions it played (the model made none of them).
   */
  private context(loop = this.loop): Uint16Array[] {
    const keep = this.source.contextFrames;
    const made = this.source.completed(keep);
    const looped = loop ? Math.min(loop.next, keep) : 0;
    const total = made[0].length + looped;
    // frame j of the result is frame framesOut - total + j of the music: start on its first bar line within the window
    const bar = this.barFrames();
    const first = this.framesOut - total;
    const start = Math.max(first, this.framesOut - keep);
    const from = (bar > 1 ? Math.ceil(start / bar) * bar : start) - first;
    return made.map((row, k) => {
      const out = new Uint16Array(total - from);
      for (let j = from; j < total; j++) out[j - from] = j < row.length ? row[j] : loop!.frames[(loop!.next - looped + j - row.length) % loop!.frames.length][k];
      return out;
    });
  }

  /** Starts the music's count at song position `beats`, on the bar phase of that position (a loop playing ends). */
  async startCue(beats: number): Promise<void> {
    this.pendingCue = null;
    if (this.loop) await this.endLoop();
    await this.skipToBarPhase(Math.round(beats / this.beatsPerFrame()));
    this.beats = beats;
    this.gridDue = true;
    this.post({ type: 'cue', beats, position: this.ring.written() });
  }

  /** Makes and drops frames (the model and the synth go on; nobody hears them) until the music is `frames` into a bar (tinyband: sixteenths). */
  private async skipToBarPhase(frames: number): Promise<void> {
    const bar = this.barFrames();
    while ((((this.framesOut - frames) % bar) + bar) % bar !== 0) {
      if (this.promptDue()) await this.applyPrompt();
      await this.renderer.push(await this.nextFrame());
      this.framesOut++;
    }
  }

  /** The source's next frame, the controls read before each of its steps. */
  private nextFrame(): Promise<number[]> {
    return this.source.next(() => this.readControls());
  }

  /** Steps until one frame of audio is in the ring (or plays the loop's next frame). */
  async produceFrame(): Promise<void> {
    const t0 = performance.now();
    if (this.loopEnds()) await this.endLoop();
    if (this.promptDue()) await this.applyPrompt();
    this.startLoopIfDue();
    const loop = this.loop;
    const at = loop ? loop.next++ % loop.frames.length : 0;
    const frame = loop ? loop.frames[at] : await this.nextFrame();
    const position = this.ring.written();
    const replay = loop ? { of: loop.first + at, seam: at === 0 } : undefined;
    const block = await this.renderer.push(frame, replay);
    // A stop that came while this frame was made cut it off: made but never heard, like the park's frames. Written,
    // it would reach a play that follows and run out while the worker parks (an underrun, under a transport flood).
    if (!this.playing) {
      this.framesOut++;
      return;
    }
    const wrote = this.ring.writePairs(block.pairs ?? [block]);
    if (wrote < block.left.length) this.post({ type: 'issue', message: `ring full: dropped ${block.left.length - wrote} samples (the ring is smaller than target + one frame)` });
    if (this.settings.reportTokens) this.post({ type: 'tokens', frame, position, index: this.framesOut, dice: replay?.of ?? this.framesOut, tempo: this.tempo });
    if (this.pendingStamp !== null) {
      this.post({ type: 'mark', stamp: this.pendingStamp, position });
      this.pendingStamp = null;
    }
    // the musical grid, at 16th-note resolution (every tinyband frame; every few EnCodec frames)
    const sixteenth = Math.floor(this.beats * 4 + 1e-9);
    if (this.framesOut === 0 || this.gridDue || sixteenth !== Math.floor(this.lastGridBeats * 4 + 1e-9)) {
      this.post({ type: 'grid', beats: this.beats, position });
      this.lastGridBeats = this.beats;
      this.gridDue = false;
    }
    this.beats += this.beatsPerFrame();
    this.framesOut++;
    this.workMs += performance.now() - t0;
    this.audioMs += (1000 * block.left.length) / this.settings.sampleRate;
    this.maybeTelemetry();
  }

  /** Whether the loop playing ends now: released, or a control change lands (on its grid), or a prompt arrives. */
  private loopEnds(): boolean {
    if (!this.loop) return false;
    return this.pendingLoop === 0 || this.pendingPrompt !== null || (this.controls.sequence() !== this.seq && this.onGrid());
  }

  /** Generation goes on from what was heard, the loop included (the window starting on a bar). */
  private async endLoop(): Promise<void> {
    const context = this.context();
    this.loop = null;
    if (this.pendingLoop === 0) this.pendingLoop = null;
    // a prompt that ends the loop applies at once (one re-prime serves both): the new text, the same context
    if (this.pendingPrompt !== null) this.takePrompt();
    await this.restart(context);
  }

  /** A loop asked for starts on the next bar line of the music, with the last whole bars made (fewer when fewer were made). */
  private startLoopIfDue(): void {
    const bars = this.pendingLoop;
    if (bars === null || this.loop) return;
    if (bars === 0) {
      this.pendingLoop = null;
      return;
    }
    const bar = this.promptBarFrames();
    if (this.framesOut % bar !== 0) return;
    const made = this.source.completed(bars * bar);
    const length = Math.floor(made[0].length / bar) * bar;
    if (length === 0) return;
    this.pendingLoop = null;
    const from = made[0].length - length;
    this.loop = { frames: Array.from({ length }, (_, t) => made.map((row) => row[from + t])), first: this.framesOut - length, next: 0 };
  }

  private readControls(): void {
    const seq = this.controls.sequence();
    if (seq === this.seq || !this.onGrid()) return;
    this.seq = seq;
    this.pendingStamp = this.controls.stamp();
    this.controls.readStrengths(this.strengths);
    this.source.setStrengths(this.features, this.strengths);
    const temperature = this.controls.temperature();
    if (temperature !== this.temperature) {
      this.temperature = temperature;
      this.source.setTemperature(temperature);
    }
    const guidance = this.controls.guidance();
    if (guidance !== this.guidance) {
      this.guidance = guidance;
      this.source.setGuidance(guidance);
    }
  }

  private lastGridBeats = 0;

  /** Whether the frame about to be made starts where a quantized change may land. */
  private onGrid(): boolean {
    const q = this.settings.quantize ?? 'off';
    if (q === 'off') return true;
    return this.framesOut % this.gridFrames(q) === 0;
  }

  /** A quantize grid in frames: a beat, a bar, or a 4- or 8-bar phrase (where a band brings an instrument in). */
  private gridFrames(q: Exclude<Quantize, 'off'>): number {
    if (q === 'beat') return Math.max(1, Math.round(1 / this.beatsPerFrame()));
    return this.promptBarFrames() * PHRASE_BARS[q];
  }

  /** A frame's length in beats: a 16th for tinyband; for EnCodec models, its share of a beat at the current tempo. */
  private beatsPerFrame(): number {
    return this.traits.beatsPerFrame(this.tempo);
  }

  /** A bar written in the tokens (tinyband's 16 sixteenths); 1 where they have none (EnCodec). */
  private barFrames(): number {
    return this.traits.tokenBarFrames;
  }

  private maybeTelemetry(): void {
    const now = performance.now();
    if (now - this.lastTelemetry < TELEMETRY_MS) return;
    this.lastTelemetry = now;
    const { steps, ms } = this.source.takeStepTiming();
    this.post({
      type: 'telemetry',
      features: this.source.steering(),
      stepMs: steps ? ms / steps : 0,
      realtimeFactor: this.workMs > 0 ? this.audioMs / this.workMs : 0,
      tempo: this.tempo,
      prompt: this.prompt,
      playing: this.playing,
      frames: this.framesOut,
      reprimes: this.reprimes,
      looping: this.loop ? this.loop.frames.length / this.promptBarFrames() : 0,
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

