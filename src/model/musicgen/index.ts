/** The MusicGen runtime: a model folder, text conditioning, the cached decoder and the streaming generator. */
export { defaultThreads, loadModel, onnxPath, readModelFolder, requireCodecFile, type Codec, type LoadOptions, type ModelSpec, type MusicgenModel } from './folder.js';
export { DTYPES, formatDtypes, graphDtypes, parseDtypes, type Dtype, type DtypeChoice, type GraphDtypes } from './dtype.js';
export { PromptTokenizer, type EncodedPrompt } from './tokenizer.js';
export { encodeText, type Conditioning } from './conditioning.js';
export { DecoderSession } from './decoder-session.js';
export { DEFAULT_KEEP_FRACTION, MusicgenGenerator, slideFor, type DecoderRun, type GeneratorMetrics, type GeneratorOptions, type SlideOptions, type StepHook } from './generator.js';
