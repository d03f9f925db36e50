/** --dtype per graph: the one parser (model/musicgen/dtype.ts) and which hub files a choice needs (hub/model-files.ts). */
import { describe, expect, it } from 'vitest';
import { formatDtypes, parseDtypes } from '../../src/model/musicgen/dtype.js';
import { describeMissing, modelFiles } from '../../src/hub/model-files.js';
import { parseHubId } from '../../src/hub/hub-id.js';
import { hubNameOf } from '../../src/hub/cache-layout.js';

describe('parseDtypes', () => {
  it('reads one dtype for all graphs, graph=dtype pairs, and a default with exceptions', () => {
    expect(parseDtypes('q8')).toEqual({ text_encoder: 'q8', decoder: 'q8', encodec: 'q8' });
    expect(parseDtypes('decoder=q8')).toEqual({ text_encoder: 'fp32', decoder: 'q8', encodec: 'fp32' });
    expect(parseDtypes('q4, encodec=fp32')).toEqual({ text_encoder: 'q4', decoder: 'q4', encodec: 'fp32' });
    expect(parseDtypes('text_encoder=fp16,decoder=q8,encodec=fp32')).toEqual({ text_encoder: 'fp16', decoder: 'q8', encodec: 'fp32' });
  });

  it('refuses with the part, the graph and the allowed values', () => {
    expect(() => parseDtypes('int4')).toThrow('unknown dtype "int4": expected one of fp32, fp16, q8, q4 (or graph=dtype)');
    expect(() => parseDtypes('decoder=int8')).toThrow('unknown dtype "int8" for decoder: expected one of fp32, fp16, q8, q4');
    expect(() => parseDtypes('vocoder=q8')).toThrow('unknown graph "vocoder" in "vocoder=q8": expected one of text_encoder, decoder, encodec');
    expect(() => parseDtypes('decoder=q8,decoder=fp16')).toThrow('decoder is given twice');
    expect(() => parseDtypes('q8,fp16')).toThrow('two dtypes for all graphs');
    expect(() => parseDtypes('q8,')).toThrow('expected a dtype');
  });

  it('formats back to the shortest --dtype value', () => {
    expect(formatDtypes(parseDtypes('decoder=fp16,q8,text_encoder=q8,encodec=q8'))).toBe('q8,decoder=fp16');
    expect(formatDtypes(parseDtypes('q8,decoder=q8'))).toBe('q8');
    expect(formatDtypes(parseDtypes('decoder=q8'))).toBe('decoder=q8');
    expect(formatDtypes(parseDtypes('fp32'))).toBe('fp32');
    for (const raw of ['q4,encodec=fp32', 'text_encoder=fp16,decoder=q8', 'q8,decoder=fp16']) expect(parseDtypes(formatDtypes(parseDtypes(raw)))).toEqual(parseDtypes(raw));
  });
});

const EXPORT = [
  'README.md', 'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json',
  'onnx/text_encoder.onnx', 'onnx/text_encoder_quantized.onnx',
  'onnx/decoder_model_merged.onnx', 'onnx/decoder_model_merged.onnx_data', 'onnx/decoder_model_merged.onnx_data_1', 'onnx/decoder_model_merged_quantized.onnx', 'onnx/decoder_model.onnx',
  'onnx/encodec_decode.onnx', 'onnx/encodec_encode.onnx',
  // a listing that tries to reach out of the folder
  'onnx/decoder_model_merged.onnx_data/../../../escape', 'onnx/decoder_model_merged.onnx_data_x',
];

describe('modelFiles', () => {
  it('takes each graph in its dtype with its external data, and nothing else', () => {
    const f = modelFiles(EXPORT, parseDtypes('decoder=fp32,q8,encodec=fp32'));
    expect(f.needed).toEqual([
      'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json',
      'onnx/text_encoder_quantized.onnx',
      'onnx/decoder_model_merged.onnx', 'onnx/decoder_model_merged.onnx_data', 'onnx/decoder_model_merged.onnx_data_1',
      'onnx/encodec_decode.onnx',
    ]);
    expect(describeMissing(f)).toBe('');
  });

  it('names a missing dtype with the dtypes there are, and a repository that is no MusicGen export', () => {
    expect(describeMissing(modelFiles(EXPORT, parseDtypes('q8')))).toBe('onnx/encodec_decode_quantized.onnx (--dtype q8; encodec is there as fp32)');
    expect(describeMissing(modelFiles(['config.json', 'onnx/decoder_model_merged_q4.onnx'], parseDtypes('decoder=q4')))).toBe(
      'generation_config.json, tokenizer.json, onnx/text_encoder.onnx (--dtype text_encoder=fp32; no text_encoder graph in any dtype)',
    );
  });
});

describe('parseHubId', () => {
  it('reads owner/name[@revision] and leaves paths alone', () => {
    expect(parseHubId('Xenova/musicgen-small')).toEqual({ repo: 'Xenova/musicgen-small', revision: 'main' });
    expect(parseHubId('Xenova/musicgen-small@refs/pr/3')).toEqual({ repo: 'Xenova/musicgen-small', revision: 'refs/pr/3' });
    for (const notId of ['models/tinyband/x', './a/b', '/abs/path', 'a/../b', 'a--b/c', 'just-a-name', 'a/b@', 'a/b@../x']) expect(parseHubId(notId)).toBeNull();
  });
});

describe('hubNameOf', () => {
  it('names a cached snapshot folder by its hub id, and nothing else', () => {
    const commit = '29f06027940bfbce324954f3db78c6d766ccf04e';
    expect(hubNameOf(`/c/hub/models--Xenova--musicgen-small/snapshots/${commit}`)).toBe('Xenova/musicgen-small@29f06027940b');
    expect(hubNameOf('/c/models/tinyband')).toBeNull();
    expect(hubNameOf(`/c/hub/models--Xenova--musicgen-small/other/${commit}`)).toBeNull();
  });
});
