import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as families from '../../src/model/families.js';
import { loadModel, readModelFolder } from '../../src/model/musicgen/folder.js';
import { ModelFileError } from '../../src/model/onnx/session.js';
import { brokenCopy, editJson, linkedCopy, MODEL_DIR, NO_MODEL_REASON, type Json } from '../helpers/model.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));

async function loadError(dir: string, dtype?: 'fp32' | 'fp16' | 'q8'): Promise<string> {
  const err = await loadModel(dir, { dtype, threads: 1 }).then(
    async (m) => {
      await m.release();
      return null;
    },
    (e: unknown) => e,
  );
  expect(err, 'expected the folder to be refused').toBeInstanceOf(ModelFileError);
  return (err as Error).message;
}

describe.skipIf(!MODEL_DIR)(`model folder checks (${MODEL_DIR ?? NO_MODEL_REASON})`, () => {
  const config = () => JSON.parse(readFileSync(join(MODEL_DIR!, 'config.json'), 'utf8')) as Json;

  it('reads a good folder', async () => {
    const { spec } = readModelFolder(MODEL_DIR!);
    const c = config();
    expect(spec.dims).toEqual({
      layers: c.decoder.num_hidden_layers,
      heads: c.decoder.num_attention_heads,
      headDim: c.decoder.hidden_size / c.decoder.num_attention_heads,
      codebooks: 4,
      vocab: 170,
      textDim: c.text_encoder.d_model,
    });
    expect(spec.codec.kind).toBe('tinyband-synth');
    expect(spec.padId).toBe(170);
    expect(spec.bosId).toBe(170);
    const m = await loadModel(MODEL_DIR!, { threads: 1 });
    await m.release();
  });

  it('names a missing file', async () => {
    const noGen = brokenCopy((d) => rmSync(join(d, 'generation_config.json')));
    expect(await loadError(noGen)).toBe(
      `${noGen}/generation_config.json: missing (a MusicGen export folder has config.json, generation_config.json, tokenizer.json and onnx/)`,
    );
    const noDecoder = brokenCopy((d) => rmSync(join(d, 'onnx', 'decoder_model_merged.onnx')));
    expect(await loadError(noDecoder)).toMatch(
      new RegExp(`^${noDecoder}/onnx/decoder_model_merged\\.onnx: missing \\(--dtype fp32 needs decoder_model_merged\\.onnx; this folder's onnx/ has: .*text_encoder\\.onnx`),
    );
    expect(await loadError(MODEL_DIR!, 'q8')).toMatch(/onnx\/text_encoder_quantized\.onnx: missing \(--dtype q8 needs text_encoder_quantized\.onnx/);
    expect(await loadError('/nonexistent/model')).toBe('/nonexistent/model: no such model folder');
  });

  it('names a truncated .onnx', async () => {
    const dir = brokenCopy((d) => {
      const path = join(d, 'onnx', 'decoder_model_merged.onnx');
      const bytes = readFileSync(path);
      rmSync(path);
      writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 3)));
    });
    expect(await loadError(dir)).toMatch(
      new RegExp(`^${dir}/onnx/decoder_model_merged\\.onnx: onnxruntime cannot load it \\(not a valid or complete ONNX file\\)`),
    );
  });

  it('names the file, the field and what was expected in wrong JSON', async () => {
    const notJson = brokenCopy((d) => writeFileSync(join(d, 'config.json'), '{"model_type": "musicgen",'));
    expect(await loadError(notJson)).toMatch(new RegExp(`^${notJson}/config\\.json: not valid JSON`));

    const notMusicgen = brokenCopy((d) => editJson(d, 'config.json', (j) => (j.model_type = 't5')));
    expect(await loadError(notMusicgen)).toBe(`${notMusicgen}/config.json: model_type: expected "musicgen", got: "t5" (is this a MusicGen export folder?)`);

    const noDecoder = brokenCopy((d) => editJson(d, 'config.json', (j) => delete j.decoder));
    expect(await loadError(noDecoder)).toBe(`${noDecoder}/config.json: decoder: expected object, but it is missing (is this a MusicGen export folder?)`);

    const wrongType = brokenCopy((d) => editJson(d, 'config.json', (j) => (j.decoder.num_hidden_layers = 'four')));
    expect(await loadError(wrongType)).toMatch(/config\.json: decoder\.num_hidden_layers: expected number, got: "four"/);

    const badTopK = brokenCopy((d) => editJson(d, 'generation_config.json', (j) => (j.top_k = -1)));
    expect(await loadError(badTopK)).toMatch(new RegExp(`^${badTopK}/generation_config\\.json: top_k: Too small: expected number to be >=0, got: -1`));

    const badTokenizer = brokenCopy((d) => writeFileSync(join(d, 'tokenizer.json'), '[1, 2]'));
    expect(await loadError(badTokenizer)).toMatch(new RegExp(`^${badTokenizer}/tokenizer\\.json: expected a Hugging Face tokenizers file`));
  });

  it('names a vocabulary that does not match the logits width', async () => {
    // an EnCodec MusicGen config (no tinyband layout to check against first): the graph check must catch it
    const encodec = brokenCopy((d) =>
      editJson(d, 'config.json', (j) => {
        delete j.tinyband;
        j.audio_encoder.model_type = 'encodec';
        j.decoder.vocab_size = 171;
      }),
    );
    expect(await loadError(encodec)).toBe(
      `${encodec}/onnx/decoder_model_merged.onnx: output logits scores 170 ids per codebook (its last dimension), but config.json decoder.vocab_size is 171: the config does not belong to this graph`,
    );
    const tinyband = brokenCopy((d) => editJson(d, 'config.json', (j) => (j.decoder.vocab_size = 2048)));
    expect(await loadError(tinyband)).toBe(`${tinyband}/config.json: decoder.vocab_size: the tinyband token layout has 170 ids, got: 2048`);
  });

  it('names graph and config disagreements: layers, text width, a graph that is not the decoder', async () => {
    const layers = config().decoder.num_hidden_layers as number;
    const moreLayers = brokenCopy((d) => editJson(d, 'config.json', (j) => (j.decoder.num_hidden_layers = layers + 1)));
    expect(await loadError(moreLayers)).toBe(
      `${moreLayers}/onnx/decoder_model_merged.onnx: has past_key_values for ${layers} layers, but config.json decoder.num_hidden_layers is ${layers + 1}`,
    );
    const d = config().text_encoder.d_model as number;
    const width = brokenCopy((dir) => editJson(dir, 'config.json', (j) => (j.text_encoder.d_model = d + 1)));
    expect(await loadError(width)).toBe(
      `${width}/onnx/text_encoder.onnx: output last_hidden_state has ${d} in dimension 2, but config.json text_encoder.d_model gives ${d + 1}`,
    );
    const swapped = brokenCopy((dir) => {
      rmSync(join(dir, 'onnx', 'text_encoder.onnx'));
      symlinkSync(join(MODEL_DIR!, 'onnx', 'decoder_model_merged.onnx'), join(dir, 'onnx', 'text_encoder.onnx'));
    });
    expect(await loadError(swapped)).toMatch(
      /text_encoder\.onnx: has no input attention_mask \(not a MusicGen export with the optimum\/transformers\.js contract\); its inputs: input_ids, encoder_hidden_states, .*\(\d+ in all\)$/,
    );
  });
});

describe('model families (config.json model_type)', () => {
  /** A linked copy of the MusicGen fixture with its config.json edited. */
  const fixtureWith = (edit: (j: Json) => void): string => {
    const dir = linkedCopy(FIXTURE);
    editJson(dir, 'config.json', edit);
    return dir;
  };

  it('names the file, the model_type found and the families known for one smitin cannot play', async () => {
    const llama = fixtureWith((j) => (j.model_type = 'llama'));
    const message = `${llama}/config.json: model_type "llama" is not a model family smitin can play; known: musicgen`;
    expect(() => families.readModelFolder(llama)).toThrow(ModelFileError);
    expect(() => families.readModelFolder(llama)).toThrow(message);
    await expect(families.loadModel(llama, { threads: 1 })).rejects.toThrow(message);
    // an inherited property name is no family either
    const proto = fixtureWith((j) => (j.model_type = 'toString'));
    expect(() => families.familyOf(proto)).toThrow(`${proto}/config.json: model_type "toString" is not a model family smitin can play; known: musicgen`);
  });

  it("hands a folder whose config names no family to MusicGen's reader, which keeps its own words", async () => {
    const untyped = fixtureWith((j) => delete j.model_type);
    expect(() => families.readModelFolder(untyped)).toThrow(`${untyped}/config.json: model_type: expected "musicgen", but it is missing (is this a MusicGen export folder?)`);
    expect(() => families.readModelFolder('/nonexistent/model')).toThrow('/nonexistent/model: no such model folder');
    const notJson = linkedCopy(FIXTURE);
    writeFileSync(join(notJson, 'config.json'), '{"model_type": "musicgen",');
    await expect(families.loadModel(notJson)).rejects.toThrow(new RegExp(`^${notJson}/config\\.json: not valid JSON`));
  });

  it.skipIf(!MODEL_DIR)('reads a musicgen folder as the MusicGen reader does', async () => {
    expect(families.readModelFolder(MODEL_DIR!).spec).toEqual(readModelFolder(MODEL_DIR!).spec);
    const m = await families.loadModel(MODEL_DIR!, { threads: 1 });
    expect(m.spec).toEqual(readModelFolder(MODEL_DIR!).spec);
    await m.release();
  });
});
