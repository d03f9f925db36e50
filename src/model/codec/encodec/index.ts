/** EnCodec, MusicGen's codec: code frames in, mono audio at the model's rate out, streamed in bounded chunks. */
export { decodeCodes, DEFAULT_ENCODEC_STREAM, EncodecStream, type EncodecStreamOptions, type EncodecStreamStats } from './stream.js';
