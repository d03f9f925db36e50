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
 *   next beat or bar line of the music: never to frames already in the
 *   ring, so a change lands on the grid a listener hears;
 * - stop pauses generation, play resumes it where it was.
 */
import { BEATS_PER_BAR, FRAMES_PER_BEAT } from '../constants.js';
import { encodeText, MusicgenGenerator, slideFor, type MusicgenModel } from '../model/musicgen/index.js';
import type { ProbeSet } from '../smitin/probe-set.js';
import { Steerer, type SteeringSettings } from '../smitin/steerer.js';
import type { ControlBlock } from './control-block.js';
import { openFrameCodec, type FrameCodec } from './frame-codec.js';
import type { EngineCommand, FeatureTelemetry, Quantize } from '../protocol.js';
import { StereoRing } from './ring.js';

export interface LoopSettings {
  prompt: string;
  tempo: number;
  /** Output sample rate. */
  sampleRate: number;
  /** Generate while the ring holds fewer frames (samples per channel) than this. */
  targetFrames: number;
  seed: number;
  steering: SteeringSettings;
  /** Per-feature alpha overrides (a preset's maxima). */
  alphas?: Record<string, number>;
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
  | { type: 'telemetry'; features: FeatureTelemetry[]; stepMs: number; realtimeFactor: number; tempo: number; prompt: string; playing: boolean; frames: number; reprimes: number }
  /** Audio from ring position `position` on was generated with the controls of time `stamp` (nowMs mod 2^31): the output measures the latency. */
  | { type: 'mark'; stamp: number; position: number }
  | { type: 'issue'; message: string }
  /** Audio from ring position `position` on is `beats` beats into the music (on every 16th-note line): the output keeps the heard position. */
  | { type: 'grid'; beats: number; position: number }
  /** A frame's tokens and the ring position its audio starts at (with reportTokens). */
  | { type: 'tokens'; frame: number[]; position: number };

const TELEMETRY_MS = 100;

export class GenerationLoop {
  private generator!: MusicgenGenerator;
  private readonly steerer: Steerer | undefined;
  private prompt: string;
  private tempo: number;
  private playing: boolean;
  private stopped = false;
  private seq: number;
  private generation = 0;
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
  private stepMs = 0;
  private steps = 0;
  private workMs = 0;
  private audioMs = 0;
  private lastTelemetry = 0;
  private temperature: number;
  private guidance: number;

  private constructor(
    private readonly model: MusicgenModel,
    private readonly codec: FrameCodec,
    private readonly ring: StereoRing,
    private readonly controls: ControlBlock,
    probes: ProbeSet | null,
    private readonly settings: LoopSettings,
    private readonly post: (m: LoopMessage) => void,
  ) {
    this.prompt = settings.prompt;
    this.tempo = settings.tempo;
    this.playing = settings.playing ?? true;
    this.temperature = controls.temperature();
    this.guidance = controls.guidance();
    this.strengths = new Float64Array(controls.features.length);
    // the values at start are not a change: no latency mark for them
    this.seq = controls.sequence();
    this.steerer = probes ? new Steerer(probes, {}, settings.steering) : undefined;
    for (const [name, alpha] of Object.entries(settings.alphas ?? {})) this.steerer?.setAlpha(name, alpha);
  }

  static async create(
    model: MusicgenModel,
    ring: StereoRing,
    controls: ControlBlock,
    probes: ProbeSet | null,
    settings: LoopSettings,
    post: (m: LoopMessage) => void,
  ): Promise<GenerationLoop> {
    const codec = await openFrameCodec(model, settings.tempo, settings.sampleRate, settings.stems);
    const loop = new GenerationLoop(model, codec, ring, controls, probes, settings, post);
    await loop.restart([]);
    return loop;
  }

  get features(): readonly string[] {
    return this.controls.features;
  }

  /** A fresh generator for the current prompt, continuing from `frames` (codebook-major). */
  private async restart(frames: readonly Uint16Array[]): Promise<void> {
    const { spec } = this.model;
    // always with the unconditional half (a scale of 0 asks for it), so the guidance knob can move freely
    const conditioning = await encodeText(this.model, [this.prompt], this.guidance === 1 ? 0 : this.guidance);
    this.generator = new MusicgenGenerator(this.model.decoder, spec, conditioning, {
      ...spec.generation,
      temperature: this.temperature,
      seed: this.settings.seed + this.generation++,
      prompt: frames[0]?.length ? frames : undefined,
      slide: slideFor(spec),
      hook: this.steerer,
    });
    this.generator.setGuidance(this.guidance);
  }

  /** Per-feature alphas (a preset's maxima); the others return to the steering settings' alpha. */
  setAlphas(alphas: Record<string, number>): void {
    if (!this.steerer) return;
    const own = this.settings.steering.alphas ?? {};
    for (const name of this.features) this.steerer.setAlpha(name, alphas[name] ?? own[name] ?? this.settings.steering.alpha);
  }

  /** Applies a command from the main thread (already validated there). */
  handle(cmd: EngineCommand): void {
    switch (cmd.type) {
      case 'prompt':
        this.pendingPrompt = cmd.text;
        break;
      case 'tempo':
        this.tempo = cmd.bpm;
        this.codec.setTempo(cmd.bpm);
        break;
      case 'play':
        this.playing = true;
        break;
      case 'stop':
        this.playing = false;
        break;
      default:
        // strengths, temperature and guidance come through shared memory; record and presets are the main thread's
        break;
    }
  }

  /** Runs until shutdown(): one frame whenever the ring is below target. */
  async run(): Promise<void> {
    while (!this.stopped) {
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
    this.codec.close();
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
    const codec = this.model.spec.codec;
    if (codec.kind === 'tinyband-synth') return codec.framesPerBeat * BEATS_PER_BAR;
    return Math.max(1, Math.round((codec.frameRate * 60 * BEATS_PER_BAR) / this.tempo));
  }

  /** Turns to the pending prompt: a fresh generator continues from the bars just played (the window starting on a bar). */
  private async applyPrompt(): Promise<void> {
    this.prompt = this.pendingPrompt!;
    this.pendingPrompt = null;
    this.reprimedBar = Math.floor(this.framesOut / this.promptBarFrames());
    this.reprimes++;
    const barFrames = this.barFrames();
    const keep = slideFor(this.model.spec).keep;
    const played = this.framesOut;
    const start = Math.max(0, played - keep);
    const aligned = barFrames > 1 ? Math.ceil(start / barFrames) * barFrames : start;
    await this.restart(this.generator.completedFrames(Math.max(0, Math.min(played - aligned, keep))));
  }

  /** Steps until one frame of audio is in the ring. */
  async produceFrame(): Promise<void> {
    if (this.promptDue()) await this.applyPrompt();
    const t0 = performance.now();
    let frame: number[] | null = null;
    while (!frame) {
      this.readControls();
      const s0 = performance.now();
      frame = await this.generator.step();
      this.stepMs += performance.now() - s0;
      this.steps++;
    }
    const position = this.ring.written();
    const block = await this.codec.push(frame);
    const wrote = block.pairs ? this.ring.writePairs(block.pairs) : this.ring.write(block.left, block.right);
    if (wrote < block.left.length) this.post({ type: 'issue', message: `ring full: dropped ${block.left.length - wrote} samples (the ring is smaller than target + one frame)` });
    if (this.settings.reportTokens) this.post({ type: 'tokens', frame, position });
    if (this.pendingStamp !== null) {
      this.post({ type: 'mark', stamp: this.pendingStamp, position });
      this.pendingStamp = null;
    }
    // the musical grid, at 16th-note resolution (every tinyband frame; every few EnCodec frames)
    const sixteenth = Math.floor(this.beats * 4 + 1e-9);
    if (this.framesOut === 0 || sixteenth !== Math.floor(this.lastGridBeats * 4 + 1e-9)) {
      this.post({ type: 'grid', beats: this.beats, position });
      this.lastGridBeats = this.beats;
    }
    this.beats += this.beatsPerFrame();
    this.framesOut++;
    this.workMs += performance.now() - t0;
    this.audioMs += (1000 * block.left.length) / this.settings.sampleRate;
    this.maybeTelemetry();
  }

  private readControls(): void {
    const seq = this.controls.sequence();
    if (seq === this.seq || !this.onGrid()) return;
    this.seq = seq;
    this.pendingStamp = this.controls.stamp();
    this.controls.readStrengths(this.strengths);
    this.steerer?.setStrengths(this.features, this.strengths);
    const temperature = this.controls.temperature();
    if (temperature !== this.temperature) {
      this.temperature = temperature;
      this.generator.setTemperature(temperature);
    }
    const guidance = this.controls.guidance();
    if (guidance !== this.guidance) {
      this.guidance = guidance;
      this.generator.setGuidance(guidance);
    }
  }

  private lastGridBeats = 0;

  /** Whether the frame about to be made starts where a quantized change may land. */
  private onGrid(): boolean {
    const q = this.settings.quantize ?? 'off';
    if (q === 'off') return true;
    const every = q === 'bar' ? this.promptBarFrames() : Math.max(1, Math.round(1 / this.beatsPerFrame()));
    return this.framesOut % every === 0;
  }

  /** A frame's length in beats: a 16th for tinyband; for EnCodec models, its share of a beat at the current tempo. */
  private beatsPerFrame(): number {
    const codec = this.model.spec.codec;
    return codec.kind === 'tinyband-synth' ? 1 / codec.framesPerBeat : this.tempo / 60 / codec.frameRate;
  }

  private barFrames(): number {
    return this.model.spec.codec.kind === 'tinyband-synth' ? FRAMES_PER_BEAT * BEATS_PER_BAR : 1;
  }

  private maybeTelemetry(): void {
    const now = performance.now();
    if (now - this.lastTelemetry < TELEMETRY_MS) return;
    this.lastTelemetry = now;
    const features = this.steerer ? this.features.map((_, i) => this.steerer!.feature(i)) : [];
    this.post({
      type: 'telemetry',
      features,
      stepMs: this.steps ? this.stepMs / this.steps : 0,
      realtimeFactor: this.workMs > 0 ? this.audioMs / this.workMs : 0,
      tempo: this.tempo,
      prompt: this.prompt,
      playing: this.playing,
      frames: this.framesOut,
      reprimes: this.reprimes,
    });
    this.stepMs = 0;
    this.steps = 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

