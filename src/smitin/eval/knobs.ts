/**
 * The live setting of smitin eval: a performer's knob on music the model is
 * playing itself, not a composer prompt. Every item is a text prompt and a
 * sampling seed; the model plays KNOB_BARS bars from silence. The knob is
 * turned either from the first step (`start`: `smitin render --steer`) or
 * at bar TURN_BAR of the running piece (`turn`: a live knob move). Presence
 * is measured on the last MEASURED_BARS bars, the same window in both
 * settings, against the unsteered twin (same text, same seed).
 */
import { FRAMES_PER_BAR } from '../../constants.js';
import { encodeText, MusicgenGenerator, type Conditioning, type MusicgenModel } from '../../model/musicgen/index.js';
import type { DecoderRun, SteerableDecoder, StepHook } from '../../model/steerable-decoder.js';
import { STYLE_NAMES, type StyleName } from '../../model/tinyband/styles.js';
import { Rng } from '../../util/rng.js';
import type { Steerer } from '../steerer.js';

export const KNOB_BARS = 8;
export const TURN_BAR = 2;
export const MEASURED_BARS = 4;
export const KNOB_FRAMES = KNOB_BARS * FRAMES_PER_BAR;
export const MEASURED_FROM = (KNOB_BARS - MEASURED_BARS) * FRAMES_PER_BAR;
/** The decoder run at which the `turn` setting turns the knob: run r (BOS first) makes frame r of codebook 0. */
export const TURN_RUN = TURN_BAR * FRAMES_PER_BAR;

export const KNOB_SETTINGS = ['start', 'turn'] as const;
export type KnobSetting = (typeof KNOB_SETTINGS)[number];

const MOODS = ['happy', 'bright', 'sad', 'dark', 'calm'];
const ENERGIES = ['calm', 'steady', 'energetic'];

export interface KnobItem {
  style: StyleName;
  /** What the performer typed: style, mood and energy words. */
  text: string;
  samplingSeed: number;
}

/** n prompts cycling through the styles with seeded mood and energy words (the words the model was trained on). */
export function knobItems(n: number, seed: number): KnobItem[] {
  const rng = new Rng(seed * 7_777 + 13);
  return Array.from({ length: n }, (_, i) => {
    const style = STYLE_NAMES[i % STYLE_NAMES.length];
    return { style, text: `${style} ${rng.pick(MOODS)} ${rng.pick(ENERGIES)}`, samplingSeed: 900_000 + seed * 10_000 + i };
  });
}

/** Far above every item's own seed (eval seeds stop at 2000), so no resampled seed is another item's. */
const RESAMPLED_SEED_OFFSET = 50_000_000;

/** The same prompts with other sampling seeds: music that differs from the twins only by its sampling path, each knob cell's yardstick. */
export function resampledItems(items: readonly KnobItem[]): KnobItem[] {
  return items.map((it) => ({ ...it, samplingSeed: it.samplingSeed + RESAMPLED_SEED_OFFSET }));
}

/**
 * Holds a steerer's strengths at 0 until the run that makes frame
 * `frame` of codebook 0, then sets them: the knob turned at that frame.
 */
class TurnAt implements StepHook {
  constructor(
    private readonly steerer: Steerer,
    private readonly strengths: Readonly<Record<string, number>>,
    private readonly run: number,
  ) {
    for (const name of Object.keys(strengths)) steerer.setStrength(name, 0);
  }

  before(run: DecoderRun, decoder: SteerableDecoder): Promise<void> | void {
    if (run.index === this.run) for (const [name, s] of Object.entries(this.strengths)) this.steerer.setStrength(name, s);
    return this.steerer.before(run, decoder);
  }

  after(run: DecoderRun, decoder: SteerableDecoder): void {
    this.steerer.after(run, decoder);
  }
}

export interface KnobRunOptions {
  model: MusicgenModel;
  items: readonly KnobItem[];
  sampling: { guidance: number; topK: number; topP: number; temperature: number };
  setting: KnobSetting;
  /** A fresh steerer per item with the knob's strengths, or none for the unsteered twin. */
  steerer?: () => Steerer;
  strengths?: Readonly<Record<string, number>>;
  onItem?: () => void;
}

/** Each item's KNOB_FRAMES frames (codebook-major). */
export async function knobRuns(options: KnobRunOptions): Promise<Uint16Array[][]> {
  const { model, items, sampling } = options;
  const texts = new Map<string, Conditioning>();
  const out: Uint16Array[][] = [];
  for (const item of items) {
    let cond = texts.get(item.text);
    if (!cond) texts.set(item.text, (cond = await encodeText(model, [item.text], sampling.guidance)));
    let hook: StepHook | undefined;
    if (options.steerer) {
      const steerer = options.steerer();
      hook = options.setting === 'turn' ? new TurnAt(steerer, options.strengths ?? {}, TURN_RUN) : steerer;
    }
    const gen = new MusicgenGenerator(model.decoder, model.spec, cond, { ...sampling, seed: item.samplingSeed, doSample: true, hook });
    out.push(await gen.generate(KNOB_FRAMES));
    options.onItem?.();
  }
  return out;
}

/** The measured window of a run: its last MEASURED_BARS bars. */
export function measured(tokens: readonly Uint16Array[]): Uint16Array[] {
  return tokens.map((r) => r.subarray(MEASURED_FROM));
}
