/**
 * The live engine, main-thread side: starts the generation worker, hands
 * knob values to it through shared memory and the other commands by
 * message, and gives the audio output its pull function (OutputStage over
 * the ring). Telemetry from the worker is merged with what only this side
 * knows (ring fill, underruns, control latency) into one Observable.
 *
 * A bad command never reaches the worker: values are checked here, and an
 * error is reported through `issues$`, not thrown at the caller.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import { MIN_TEMPO } from '../constants.js';
import { STEM_CHANNELS } from '../model/codec/synth/index.js';
import { readModelFolder } from '../model/families.js';
import type { DtypeChoice, ModelSpec } from '../model/musicgen/index.js';
import type { ExecutionProvider } from '../model/onnx/session.js';
import { knobNames, readProbeSet } from '../smitin/probe-set.js';
import { DEFAULT_STEERING, type SteeringSettings } from '../smitin/steerer.js';
import { ControlBlock } from './control-block.js';
import type { LoopMessage, LoopSettings } from './generation-loop.js';
import { OutputStage } from './output-stage.js';
import { checkControl, isLoopCommand, LOOP_BARS, MAX_PROMPT_LENGTH, type EngineCommand, type Quantize, type Telemetry } from '../protocol.js';
import { StereoRing } from './ring.js';
import type { LoadedModel, ToMain, ToWorker, WorkerInit } from './worker-protocol.js';
import type { KeepUpFigures } from './keep-up.js';
import type { KeepUpEffort } from './keep-up-timing.js';

export interface LiveEngineOptions {
  modelDir: string;
  /** The probe set to steer with; null plays without steering. */
  probesFile: string | null;
  prompt: string;
  tempo: number;
  sampleRate: number;
  /** The ring target: audio generated ahead of the output, ms (the main part of the control latency). */
  latencyMs: number;
  seed?: number;
  steering?: Partial<SteeringSettings>;
  alphas?: Record<string, number>;
  /** Where the temperature and guidance controls start (default: the model's generation_config.json). */
  temperature?: number;
  guidance?: number;
  /** Top-k and top-p for the whole session (default: the model's generation_config.json). */
  topK?: number;
  topP?: number;
  /** Which model files (default fp32) and where they run: as render's --dtype, --ep and --threads. */
  dtype?: DtypeChoice;
  ep?: ExecutionProvider;
  threads?: number;
  /** Output device latency (ms) to report in telemetry. */
  deviceLatencyMs?: number;
  /** Measure whether the model keeps up before it plays (keepUp), with this effort; undefined: no check. */
  check?: KeepUpEffort;
  /** Emit every generated frame's tokens on tokens$ (tests, visualisers). */
  reportTokens?: boolean;
  /** Where control changes land: the next frame ('off', the default), or the next beat or bar line. */
  quantize?: Quantize;
  /** The mix and each instrument on its own pair (tinyband): pull() then hands out STEM_CHANNELS channels. */
  stems?: boolean;
}

export const DEFAULT_LATENCY_MS = 100;

/** A generated frame as the main thread hears of it (reportTokens). */
export interface TokenFrame {
  frame: number[];
  /** The ring position its audio starts at. */
  position: number;
  /** Frames made before it. */
  index: number;
  /** The synthesizer's frame index for its humanising: `index`, except in a loop, whose frames keep their own. */
  dice: number;
  /** The tempo it plays at, BPM. */
  tempo: number;
}

/** Starts the worker: the compiled .js beside this file, or (tests, which run the sources) the .ts under tsx's loader. */
function spawnWorker(init: WorkerInit): Worker {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData: init });
  // tsx's ESM register() (its package exports map esm/api to this file for import)
  const tsx = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href;
  const ts = new URL('./worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(boot, { eval: true, workerData: init });
}

export class LiveEngine {
  readonly output: OutputStage;
  readonly features: readonly string[];
  private readonly telemetry = new BehaviorSubject<Telemetry | null>(null);
  private readonly issues = new Subject<string>();
  private readonly tokens = new Subject<TokenFrame>();
  private playing = true;
  private tempo: number;
  private recording = false;
  private started = performance.now();
  private closed: Promise<void> | null = null;
  /** What the worker opened (once it is ready). */
  loaded: LoadedModel | null = null;
  /** The keep-up check's figures, measured in the worker before it plays (null: not asked for). */
  keepUp: KeepUpFigures | null = null;
  private deviceLatencyMs: number;

  private constructor(
    private readonly worker: Worker,
    private readonly ring: StereoRing,
    private readonly controls: ControlBlock,
    private readonly options: LiveEngineOptions,
    /** The model's folder as read (its dtype's files). */
    readonly spec: ModelSpec,
  ) {
    this.features = controls.features;
    this.output = new OutputStage(ring, options.sampleRate);
    this.tempo = options.tempo;
    this.deviceLatencyMs = options.deviceLatencyMs ?? 0;
    this.listen();
  }

  /** Loads the model and plays: load() then play(). */
  static async start(options: LiveEngineOptions): Promise<LiveEngine> {
    const engine = await LiveEngine.load(options);
    try {
      await engine.play();
    } catch (err) {
      await engine.close();
      throw err;
    }
    return engine;
  }

  /**
   * Starts the worker and waits until it has loaded the model and, with
   * `check`, measured whether it keeps up (keepUp); nothing plays until
   * play(). A session looks at keepUp before it opens the audio device.
   */
  static async load(options: LiveEngineOptions): Promise<LiveEngine> {
    const { spec } = readModelFolder(options.modelDir, options.dtype ?? 'fp32');
    const features = options.probesFile ? knobNames(readProbeSet(options.probesFile)) : [];
    if (!(options.latencyMs > 0 && options.latencyMs <= 2000)) throw new RangeError(`latency (the ring target) must be in (0, 2000] ms, got: ${options.latencyMs}`);
    const targetFrames = Math.round((options.latencyMs / 1000) * options.sampleRate);
    // room for the target plus the longest frame (a 16th at the slowest tempo), with margin
    const longestFrame = Math.ceil((options.sampleRate * 60) / (MIN_TEMPO * 4));
    const ring = StereoRing.allocate(targetFrames + 2 * longestFrame, options.stems ? STEM_CHANNELS / 2 : 1);
    const controls = ControlBlock.allocate(features, options.temperature ?? spec.generation.temperature, options.guidance ?? spec.generation.guidance);
    const settings: LoopSettings = {
      prompt: options.prompt,
      tempo: options.tempo,
      sampleRate: options.sampleRate,
      targetFrames,
      seed: options.seed ?? 1,
      steering: { ...DEFAULT_STEERING, ...options.steering },
      alphas: options.alphas,
      reportTokens: options.reportTokens,
      quantize: options.quantize,
      stems: options.stems,
      sampling: { topK: options.topK ?? spec.generation.topK, topP: options.topP ?? spec.generation.topP },
    };
    const load = { dtype: options.dtype, ep: options.ep, threads: options.threads };
    const init: WorkerInit = { modelDir: options.modelDir, probesFile: options.probesFile, features, load, check: options.check ?? null, ring: ring.buffer, controls: controls.buffer, settings };
    const worker = spawnWorker(init);
    const engine = new LiveEngine(worker, ring, controls, options, spec);
    await engine.waitFor('loaded');
    return engine;
  }

  /** Starts the music (after load(), and a look at keepUp): resolves once the worker generates. `deviceLatencyMs`: the output's, for telemetry. */
  async play(deviceLatencyMs?: number): Promise<void> {
    if (deviceLatencyMs !== undefined) this.deviceLatencyMs = deviceLatencyMs;
    const ready = this.waitFor('ready');
    this.post({ type: 'play' });
    await ready;
  }

  /** The stage being waited for (load, then play), settled by the worker's messages, or by its failure. */
  private stage: { until: 'loaded' | 'ready'; resolve: () => void; reject: (err: Error) => void } | null = null;

  private waitFor(until: 'loaded' | 'ready'): Promise<void> {
    return new Promise((resolve, reject) => (this.stage = { until, resolve, reject }));
  }

  private reach(stage: 'loaded' | 'ready'): void {
    const s = this.stage;
    if (s?.until !== stage) return;
    this.stage = null;
    s.resolve();
  }

  private fail(err: Error): void {
    const s = this.stage;
    this.stage = null;
    s?.reject(err);
  }

  private listen(): void {
    this.worker.once('exit', (code: number) => this.fail(new Error(`the generation worker exited (code ${code}) before it was ready`)));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('message', (m: ToMain) => {
      switch (m.type) {
        case 'loaded':
          this.loaded = m.loaded;
          this.keepUp = m.keepUp;
          this.reach('loaded');
          break;
        case 'ready':
          this.started = performance.now();
          this.reach('ready');
          break;
        case 'error':
          this.fail(new Error(m.message));
          this.issues.next(`generation: ${m.message}`);
          break;
        case 'mark':
          this.output.mark(m.stamp, m.position);
          break;
        case 'grid':
          this.output.gridMark(m.beats, m.position);
          break;
        case 'cue':
          this.output.cueMark(m.position);
          break;
        case 'resume':
          this.output.resumeMark(m.position);
          break;
        case 'issue':
          this.issues.next(m.message);
          break;
        case 'tokens':
          this.tokens.next({ frame: m.frame, position: m.position, index: m.index, dice: m.dice, tempo: m.tempo });
          break;
        case 'telemetry':
          this.publish(m);
          break;
        default:
          break;
      }
    });
  }

  get telemetry$(): Observable<Telemetry | null> {
    return this.telemetry.asObservable();
  }

  /** Every generated frame's tokens and the ring position its audio starts at (with reportTokens). */
  get tokens$(): Observable<TokenFrame> {
    return this.tokens.asObservable();
  }

  get issues$(): Observable<string> {
    return this.issues.asObservable();
  }

  /** The function the audio output pulls with. */
  readonly pull = (frames: number): Float32Array => this.output.pull(frames);

  /** Applies a command; a bad one is reported on issues$ and ignored (the engine never dies of a control message). */
  command(cmd: EngineCommand): void {
    try {
      this.apply(cmd);
    } catch (err) {
      this.issues.next(`command ${cmd.type}: ${(err as Error).message}`);
    }
  }

  private apply(cmd: EngineCommand): void {
    switch (cmd.type) {
      case 'strength':
        this.controls.setStrength(cmd.feature, checkControl('strength', cmd.value));
        return;
      case 'temperature':
        this.controls.setTemperature(checkControl('temperature', cmd.value));
        return;
      case 'guidance':
        this.controls.setGuidance(checkControl('guidance', cmd.value));
        return;
      case 'tempo':
        this.tempo = checkControl('tempo', cmd.bpm);
        break;
      case 'prompt':
        if (typeof cmd.text !== 'string' || cmd.text.length > MAX_PROMPT_LENGTH) throw new RangeError(`prompt must be a string of at most ${MAX_PROMPT_LENGTH} characters`);
        break;
      case 'play':
        if (cmd.cue) {
          const { beats, at } = cmd.cue;
          if (!(Number.isFinite(beats) && beats >= 0 && Number.isFinite(at))) throw new RangeError(`a cue needs a song position >= 0 beats and a finite time, got: ${beats} beats at ${at} ms`);
          this.output.cueAt(at);
        } else this.output.setPlaying(true);
        this.playing = true;
        break;
      case 'stop':
        this.playing = false;
        this.output.setPlaying(false);
        break;
      case 'record':
        this.recording = cmd.on;
        return;
      case 'loop':
        if (!isLoopCommand(cmd.bars)) throw new RangeError(`loop must be 0 (release) or one of ${LOOP_BARS.join(', ')} bars, got: ${cmd.bars}`);
        break;
      case 'preset':
        return;
    }
    this.post({ type: 'command', command: cmd });
  }

  /** Per-feature alphas from a preset (features left out use the steering default); bad values are reported, not applied. */
  setAlphas(alphas: Record<string, number>): void {
    const bad = Object.entries(alphas).find(([name, a]) => !this.features.includes(name) || !(Number.isFinite(a) && a >= 0 && a <= 1000));
    if (bad) {
      this.issues.next(`alphas: ${bad[0]}=${bad[1]} is not a feature of the probes with an alpha in [0, 1000]`);
      return;
    }
    this.post({ type: 'alphas', alphas });
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private publish({ features, stepMs, realtimeFactor, reprimes, frames, prompt, looping }: Extract<LoopMessage, { type: 'telemetry' }>): void {
    const lat = this.output.latencies;
    this.telemetry.next({
      time: (performance.now() - this.started) / 1000,
      playing: this.playing,
      tempo: this.tempo,
      // the prompt the model plays: a new one applies at the next bar line
      prompt,
      features,
      realtimeFactor,
      stepMs,
      ringMs: this.output.ringMs(),
      underruns: this.output.underruns,
      deviceLatencyMs: this.deviceLatencyMs,
      controlLatencyMs: lat.length ? lat[lat.length - 1] : NaN,
      recording: this.recording,
      looping,
      reprimes,
      frames,
      beats: this.output.heardBeats,
      temperature: this.controls.temperature(),
      guidance: this.controls.guidance(),
    });
  }

  /** Stops the worker (it finishes its step and releases the model). */
  close(): Promise<void> {
    if (this.closed) return this.closed;
    this.closed = new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 3000);
      this.worker.on('message', (m: ToMain) => {
        if (m.type === 'closed') {
          clearTimeout(timer);
          void this.worker.terminate().then(() => resolve());
        }
      });
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.post({ type: 'shutdown' });
    });
    this.telemetry.complete();
    this.issues.complete();
    this.tokens.complete();
    return this.closed;
  }
}
