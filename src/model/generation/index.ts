/** Generation parts: logits processors composed by a list, guidance, and samplers (as transformers' generation/). */
import type { LogitsProcessor } from './processor.js';
import { SuppressTokens } from './suppress.js';
import { Temperature } from './temperature.js';
import { TopK } from './top-k.js';
import { TopP } from './top-p.js';

export { applyAll, type LogitsProcessor } from './processor.js';
export { Temperature } from './temperature.js';
export { TopK } from './top-k.js';
export { TopP } from './top-p.js';
export { SuppressTokens } from './suppress.js';
export { checkGuidance, combineGuidance, needsUnconditional } from './guidance.js';
export { Greedy, Multinomial, makeSampler, type Sampler } from './sampler.js';

export interface SamplingSettings {
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
}

/** The processor list for one generation, in transformers' order. */
export function buildProcessors(
  settings: SamplingSettings,
  vocabSize: number,
  suppress?: { limits?: readonly number[]; ids?: readonly number[] },
): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (suppress && (suppress.limits || (suppress.ids && suppress.ids.length > 0))) list.push(new SuppressTokens(suppress.limits, suppress.ids));
  list.push(new Temperature(settings.temperature));
  if (settings.topK > 0 && settings.topK < vocabSize) list.push(new TopK(settings.topK, vocabSize));
  if (settings.topP < 1) list.push(new TopP(settings.topP, vocabSize));
  return list;
}
