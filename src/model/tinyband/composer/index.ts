export { compose, DEFAULT_BARS } from './compose.js';
export { DEFAULT_ARRANGEMENT } from './arrangement.js';
export type { ComposeOptions } from './compose.js';
export { withoutInstrument, slicePiece } from './piece.js';
export type { Piece, Section } from './piece.js';
export * from './stats.js';
