/**
 * The in-process token source: a MusicGen generator on the loaded model,
 * steered by SMITIN when a probe set is given. A re-prime makes a fresh
 * generator (new text conditioning, the context as its audio prompt, the
 * next seed), so the steerer's state carries across prompts.
 *
 * Threading: the generation worker's (onnxruntime blocks the thread it runs on).
 */
import { encodeText, MusicgenGenerator, slideFor, type MusicgenModel } from '../model/musicgen/index.js';
import type { FeatureTelemetry } from '../protocol.js';
import type { ProbeSet } from '../smitin/probe-set.js';
import { Steerer, type SteeringSettings } from '../smitin/steerer.js';
import type { StepTiming, TokenSource } from './token-source.js';

/** A session's settings for its in-process source (the live engine sends them to the worker with the loop's). */
export interface ModelSourceSettings {
  /** The first generator's seed; each re-prime takes the next. */
  seed: number;
  steering: SteeringSettings;
  /** Per-feature alpha overrides (a preset's maxima). */
  alphas?: Record<string, number>;
  /** Top-k and top-p for the session (default: the model's generation_config.json); temperature and guidance are live controls. */
  sampling?: { topK: number; topP: number };
}

export interface ModelTokenSourceOptions extends ModelSourceSettings {
  /** null: no steering. */
  probes: ProbeSet | null;
  /** The controls' values at the start. */
  temperature: number;
  guidance: number;
}

export class ModelTokenSource implements TokenSource {
  readonly contextFrames: number;
  /** Made by reprime(). */
  private generator!: MusicgenGenerator;
  private readonly steerer: Steerer | undefined;
  private temperature: number;
  private guidance: number;
  /** Generators made so far: the next one's seed offset. */
  private generation = 0;
  private timing: StepTiming = { steps: 0, ms: 0 };

  /** Re-prime it once (the prompt, no context) before the first frame. */
  constructor(
    private readonly model: MusicgenModel,
    private readonly options: ModelTokenSourceOptions,
  ) {
    this.contextFrames = slideFor(model.spec).keep;
    this.temperature = options.temperature;
    this.guidance = options.guidance;
    this.steerer = options.probes ? new Steerer(options.probes, {}, options.steering) : undefined;
    for (const [name, alpha] of Object.entries(options.alphas ?? {})) this.steerer?.setAlpha(name, alpha);
  }

  async reprime(prompt: string, context: readonly Uint16Array[]): Promise<void> {
    const { spec } = this.model;
    // always with the unconditional half (a scale of 0 asks for it), so the guidance knob can move freely
    const conditioning = await encodeText(this.model, [prompt], this.guidance === 1 ? 0 : this.guidance);
    this.generator = new MusicgenGenerator(this.model.decoder, spec, conditioning, {
      ...spec.generation,
      ...this.options.sampling,
      temperature: this.temperature,
      seed: this.options.seed + this.generation++,
      prompt: context[0]?.length ? context : undefined,
      slide: slideFor(spec),
      hook: this.steerer,
    });
    this.generator.setGuidance(this.guidance);
  }

  async next(beforeStep?: () => void): Promise<number[]> {
    let frame: number[] | null = null;
    while (!frame) {
      beforeStep?.();
      const s0 = performance.now();
      frame = await this.generator.step();
      this.timing.ms += performance.now() - s0;
      this.timing.steps++;
    }
    return frame;
  }

  completed(count: number): Uint16Array[] {
    return this.generator.completedFrames(count);
  }

  setStrengths(names: readonly string[], values: ArrayLike<number>): void {
    this.steerer?.setStrengths(names, values);
  }

  setAlphas(alphas: Readonly<Record<string, number>>): void {
    if (!this.steerer) return;
    const own = this.options.steering.alphas ?? {};
    for (const name of this.steerer.features) this.steerer.setAlpha(name, alphas[name] ?? own[name] ?? this.options.steering.alpha);
  }

  setTemperature(value: number): void {
    this.temperature = value;
    this.generator.setTemperature(value);
  }

  setGuidance(value: number): void {
    this.guidance = value;
    this.generator.setGuidance(value);
  }

  steering(): FeatureTelemetry[] {
    const steerer = this.steerer;
    return steerer ? steerer.knobs.map((i) => steerer.feature(i)) : [];
  }

  takeStepTiming(): StepTiming {
    const taken = this.timing;
    this.timing = { steps: 0, ms: 0 };
    return taken;
  }
}
