// Tokenizes texts with a tokenizer.json in @huggingface/tokenizers (the library the runtime uses),
// for training/make_musicgen_fixture.py.
//   node training/tokenize.mjs tokenizer.json "text one" "text two"   -> JSON [{ text, ids, tokens }]
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';

const tokenizer = new Tokenizer(JSON.parse(readFileSync(process.argv[2], 'utf8')), {});
const out = process.argv.slice(3).map((text) => {
  const { ids, tokens } = tokenizer.encode(text);
  return { text, ids, tokens, decoded: tokenizer.decode(ids, { skip_special_tokens: true }) };
});
console.log(JSON.stringify(out));
