/** The MusicGen runtime: a model folder, text conditioning, the cached decoder and the streaming generator. */
export { defaultThreads, DTYPES, loadModel, onnxPath, readModelFolder, requireCodecFile, type Codec, type Dtype, type LoadOptions, type ModelSpec, type MusicgenModel } from './folder.js';
export { PromptTokenizer, type EncodedPrompt } from './tokenizer.js';
export { encodeText, type Conditioning } from './conditioning.js';
export { DecoderSession } from './decoder-session.js';
export { DEFAULT_KEEP_FRACTION, MusicgenGenerator, slideFor, type DecoderRun, type GeneratorMetrics, type GeneratorOptions, type SlideOptions, type StepHook } from './generator.js';
