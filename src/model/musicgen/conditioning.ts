/**
 * Text conditioning: prompts -> tokenizer -> text encoder -> the encoder
 * states and mask the decoder attends to. With classifier-free guidance the
 * batch is doubled: the conditional half first, then an unconditional half
 * whose states and mask are all zero (transformers' MusicGen does exactly
 * this, and tinyband was trained with condition dropout to zero states).
 * The projection to the decoder's width is inside the decoder graph, so the
 * raw text-encoder states are what is fed.
 */
import { checkGuidance, needsUnconditional } from '../generation/index.js';
import { ort, type OnnxSession } from '../onnx/session.js';
import { TEXT_ATTENTION_MASK, TEXT_INPUT_IDS, TEXT_LAST_HIDDEN_STATE } from './contract.js';
import type { EncodedPrompt, PromptTokenizer } from './tokenizer.js';

export interface Conditioning {
  /** [rows, S, d_text]: B conditional rows, then B zero rows when doubled. */
  states: ort.Tensor;
  /** int64 [rows, S]: 1 on prompt tokens; all zero in the unconditional half. */
  mask: ort.Tensor;
  /** Prompts (B). */
  batch: number;
  /** Encoder rows fed to the decoder: 2B with guidance, B without. */
  rows: number;
  guidance: number;
  prompts: EncodedPrompt[];
}

/** Id the text encoder pads shorter prompts with: T5's <pad> is 0. */
const TEXT_PAD_ID = 0;

export async function encodeText(
  model: { tokenizer: PromptTokenizer; textEncoder: OnnxSession },
  prompts: readonly string[],
  guidance: number,
): Promise<Conditioning> {
  checkGuidance(guidance);
  if (prompts.length === 0) throw new RangeError('encodeText needs at least one prompt');
  const encoded = prompts.map((p) => model.tokenizer.encode(p));
  const batch = encoded.length;
  const seq = Math.max(1, ...encoded.map((e) => e.ids.length));
  const ids = new BigInt64Array(batch * seq).fill(BigInt(TEXT_PAD_ID));
  const mask = new BigInt64Array(batch * seq);
  encoded.forEach((e, b) => {
    e.ids.forEach((id, i) => {
      ids[b * seq + i] = BigInt(id);
      mask[b * seq + i] = 1n;
    });
  });
  const out = await model.textEncoder.run({
    [TEXT_INPUT_IDS]: new ort.Tensor('int64', ids, [batch, seq]),
    [TEXT_ATTENTION_MASK]: new ort.Tensor('int64', mask, [batch, seq]),
  });
  const hidden = out[TEXT_LAST_HIDDEN_STATE];
  const [hb, hs, d] = hidden.dims;
  if (hb !== batch || hs !== seq) {
    throw new Error(`${model.textEncoder.path}: ${TEXT_LAST_HIDDEN_STATE} is [${hidden.dims.join(', ')}], expected [${batch}, ${seq}, d_model]`);
  }
  const doubled = needsUnconditional(guidance);
  const rows = doubled ? 2 * batch : batch;
  const src = hidden.data as Float32Array | Uint16Array;
  // float32 or float16 (as raw bits): zero is all-zero bits in both, so zeroing needs no conversion
  const states = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(rows * seq * d);
  states.set(src);
  // padded positions carry zero states, as transformers multiplies the states by the mask
  for (let p = 0; p < batch * seq; p++) if (mask[p] === 0n) states.fill(0, p * d, (p + 1) * d);
  const fullMask = new BigInt64Array(rows * seq);
  fullMask.set(mask);
  return {
    states: new ort.Tensor(hidden.type as 'float32', states as Float32Array, [rows, seq, d]),
    mask: new ort.Tensor('int64', fullMask, [rows, seq]),
    batch,
    rows,
    guidance,
    prompts: encoded,
  };
}
