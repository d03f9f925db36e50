/** EnCodec, MusicGen's codec: code frames in, mono audio at the model's rate out, streamed in bounded chunks. */
export { decodeCodes, DEFAULT_ENCODEC_STREAM, EncodecStream, type EncodecStreamOptions, type EncodecStreamStats } from './stream.js';
/** And the other way: mono audio at the model's rate in, code frames out (encodec_encode.onnx), for probe data from audio. */
export { checkEncodecEncoder, DEFAULT_ENCODE, ENC_AUDIO_CODES, ENC_INPUT_VALUES, ENC_PADDING_MASK, ENCODEC_ENCODER, EncodecEncoder, encoderFile, type EncodeOptions } from './encoder.js';
/** Its properties as a MusicGen codec (see model/codec/traits.ts). */
export { encodecOf, encodecTraits } from './traits.js';
