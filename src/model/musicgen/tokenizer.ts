/**
 * A prompt's words to text-encoder ids through a Hugging Face tokenizer.json
 * (T5's Unigram for MusicGen, a word-level vocabulary for tinyband), with
 * @huggingface/tokenizers.
 *
 * @huggingface/tokenizers 0.2.0 returns an id of null (or undefined) for a
 * word a WordLevel model does not know, instead of the unk id the Rust
 * library gives; such ids become the model's unk id here, and the words are
 * reported so a caller can say which ones the model does not know.
 */
import { Tokenizer } from '@huggingface/tokenizers';

export interface EncodedPrompt {
  ids: number[];
  /** Words the vocabulary does not have (encoded as the unk id). */
  unknown: string[];
}

interface TokenizerJson {
  model?: { type?: string; unk_token?: unknown; unk_id?: unknown; vocab?: unknown };
  truncation?: { max_length?: unknown } | null;
}

export class PromptTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    /** Id of the unknown-word token, or null when the vocabulary has none. */
    readonly unkId: number | null,
    readonly maxLength: number | null,
    readonly file: string,
    /** A word-level vocabulary's words (specials left out): what a musician can type; null for a subword model (T5), which reads any text. */
    readonly words: readonly string[] | null,
  ) {}

  /** `json` is the parsed tokenizer.json; errors name `file`. */
  static fromJson(json: unknown, file: string): PromptTokenizer {
    if (typeof json !== 'object' || json === null || typeof (json as TokenizerJson).model !== 'object') {
      throw new Error(`${file}: expected a Hugging Face tokenizers file (an object with a "model"), got: ${JSON.stringify(json)?.slice(0, 80)}`);
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json, {});
    } catch (err) {
      throw new Error(`${file}: @huggingface/tokenizers cannot read it: ${(err as Error).message}`);
    }
    const t = json as TokenizerJson;
    let unkId: number | null = null;
    if (typeof t.model?.unk_id === 'number') unkId = t.model.unk_id; // Unigram names the id
    else if (typeof t.model?.unk_token === 'string') unkId = tokenizer.token_to_id(t.model.unk_token) ?? null;
    const max = t.truncation?.max_length;
    const vocab = t.model?.type === 'WordLevel' && typeof t.model.vocab === 'object' && t.model.vocab !== null ? Object.keys(t.model.vocab) : null;
    const words = vocab ? vocab.filter((w) => !/^<.*>$/.test(w)) : null;
    return new PromptTokenizer(tokenizer, unkId, typeof max === 'number' && max > 0 ? max : null, file, words);
  }

  encode(text: string): EncodedPrompt {
    const enc = this.tokenizer.encode(text);
    const ids: number[] = [];
    const unknown: string[] = [];
    for (let i = 0; i < enc.ids.length; i++) {
      const id = enc.ids[i] as number | null | undefined;
      if (typeof id === 'number' && Number.isInteger(id)) {
        ids.push(id);
        if (id === this.unkId) unknown.push(enc.tokens[i]);
        continue;
      }
      if (this.unkId === null) {
        throw new Error(`${this.file}: the word "${enc.tokens[i]}" is not in the vocabulary and the tokenizer defines no unk token`);
      }
      ids.push(this.unkId);
      unknown.push(enc.tokens[i]);
    }
    if (this.maxLength !== null && ids.length > this.maxLength) {
      // truncation leaves room for the closing special token (T5's </s>), as the Rust library does
      const last = ids[ids.length - 1];
      const special = this.tokenizer.get_added_tokens_decoder().get(last)?.special ?? false;
      ids.splice(special ? this.maxLength - 1 : this.maxLength, ids.length, ...(special ? [last] : []));
    }
    return { ids, unknown };
  }
}
