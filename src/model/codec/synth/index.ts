/** The tinyband synthesizer: token frames in, 48 kHz stereo float32 out. */
export { BandSynth, renderStems, renderTokens, type BandSynthOptions } from './band-synth.js';
export { STEM_CHANNELS } from './stem-master.js';
export { DEFAULT_PAN, type BandMix, type InstrumentMix } from './mix.js';
export { checkTempo } from './frame-clock.js';
export { pianoVoicing, guitarVoicing } from './voicing.js';
export { midiToHz } from './pitch.js';
export { densePattern } from './demo-pattern.js';
