import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PromptTokenizer } from '../../src/model/musicgen/tokenizer.js';
import { MODEL_DIR, NO_MODEL_REASON } from '../helpers/model.js';

/** A word-level tokenizer.json in tinyband's layout: T5 specials, lowercase, words split on non-letters, then </s>. */
function wordLevel(vocabWords: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const specials = ['<pad>', '</s>', '<unk>'];
  const vocab = Object.fromEntries([...specials, ...vocabWords].map((w, i) => [w, i]));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Split', pattern: { Regex: '[^a-z]+' }, behavior: 'Removed', invert: false },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
    ...extra,
  };
}

describe('prompt tokenizer (word level)', () => {
  const tok = PromptTokenizer.fromJson(wordLevel(['rock', 'funk', 'happy']), 'tokenizer.json');

  it('maps words to ids and closes with </s>', () => {
    expect(tok.encode('Rock, HAPPY')).toEqual({ ids: [3, 5, 1], unknown: [] });
    expect(tok.encode('')).toEqual({ ids: [1], unknown: [] });
  });

  it('maps unknown words to the unk id (the library gives null for them)', () => {
    expect(tok.unkId).toBe(2);
    expect(tok.encode('zither funk kazoo')).toEqual({ ids: [2, 4, 2, 1], unknown: ['zither', 'kazoo'] });
  });

  it('says so when a word is unknown and there is no unk token', () => {
    const json = wordLevel(['rock']);
    (json.model as Record<string, unknown>).unk_token = undefined;
    const noUnk = PromptTokenizer.fromJson(json, 'x/tokenizer.json');
    expect(noUnk.unkId).toBeNull();
    expect(() => noUnk.encode('rock zither')).toThrow('x/tokenizer.json: the word "zither" is not in the vocabulary and the tokenizer defines no unk token');
  });

  it('truncates to truncation.max_length, keeping the closing </s>', () => {
    const t = PromptTokenizer.fromJson(wordLevel(['rock', 'funk', 'happy'], { truncation: { max_length: 3 } }), 'tokenizer.json');
    expect(t.encode('rock funk happy rock').ids).toEqual([3, 4, 1]);
  });

  it('names the file when it is not a tokenizers file', () => {
    expect(() => PromptTokenizer.fromJson({ hello: 1 }, 'm/tokenizer.json')).toThrow(/^m\/tokenizer\.json: expected a Hugging Face tokenizers file/);
  });
});

describe.skipIf(!MODEL_DIR)(`the model's tokenizer.json (${MODEL_DIR ?? NO_MODEL_REASON})`, () => {
  it('encodes tinyband words and reads unknown ones as <unk>', () => {
    const file = join(MODEL_DIR!, 'tokenizer.json');
    const tok = PromptTokenizer.fromJson(JSON.parse(readFileSync(file, 'utf8')), file);
    const known = tok.encode('funk happy energetic drums');
    expect(known.unknown).toEqual([]);
    expect(known.ids).not.toContain(tok.unkId);
    expect(known.ids.at(-1)).toBe(1);
    const odd = tok.encode('funk with a theremin');
    expect(odd.unknown).toEqual(['with', 'a', 'theremin']);
    expect(odd.ids.filter((id) => id === tok.unkId)).toHaveLength(3);
  });
});

describe("the words a musician can type (PROMPT_WORDS, shown in --help)", () => {
  it("are exactly the shipped tinyband tokenizer's words", async () => {
    const { PROMPT_WORDS } = await import('../../src/model/tinyband/styles.js');
    const { SHIPPED_MODEL } = await import('../helpers/model.js');
    const vocab = Object.keys(JSON.parse(readFileSync(join(SHIPPED_MODEL, 'tokenizer.json'), 'utf8')).model.vocab).filter((w) => !/^<.*>$/.test(w));
    expect([...PROMPT_WORDS].sort()).toEqual(vocab.sort());
  });
});
