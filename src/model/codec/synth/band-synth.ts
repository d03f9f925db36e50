/**
 * The tinyband codec's decoder: a synthesizer that plays token frames as a
 * small band (drums, bass, piano, guitar) at 48 kHz stereo.
 *
 * Streaming and whole renders share this one code path: renderTokens queues
 * every frame and calls process once, so a test can hold the streaming path
 * to the whole render sample for sample.
 */

import { SAMPLE_RATE } from '../../../constants.js';
import { NUM_CODEBOOKS, type FrameTokens } from '../../tinyband/layout.js';
import { BandEngine } from './band-engine.js';
import { MAX_CHUNK } from './buses.js';
import { FrameClock } from './frame-clock.js';
import { FrameQueue } from './frame-queue.js';
import { type BandMix, resolveMix } from './mix.js';
import { STEM_CHANNELS } from './stem-master.js';

export interface BandSynthOptions {
  /** Beats per minute, 60..200; one frame is a 16th note. */
  tempo: number;
  /** Output rate in Hz; default 48000. */
  sampleRate?: number;
  /** Per-instrument gain (1 = default level) and pan (-1..1). */
  mix?: BandMix;
  /** Render with processStems (the mix and each instrument on its own pair) instead of process. */
  stems?: boolean;
}

const MIN_RATE = 8000;
const MAX_RATE = 192000;

export class BandSynth {
  readonly sampleRate: number;
  private readonly engine: BandEngine;
  private readonly clock: FrameClock;
  private readonly queue = new FrameQueue();
  private readonly frame = [0, 0, 0, 0];
  /** Samples left to render of the frame under way. */
  private frameLeft = 0;
  /** Frames started since construction or reset: the position in the bar. */
  private frameIndex = 0;
  /** The frame started next begins a loop's repetition. */
  private seam = false;

  constructor(options: BandSynthOptions) {
    const sampleRate = options.sampleRate ?? SAMPLE_RATE;
    if (!Number.isInteger(sampleRate) || sampleRate < MIN_RATE || sampleRate > MAX_RATE) {
      throw new RangeError(`sampleRate must be an integer in [${MIN_RATE}, ${MAX_RATE}] Hz, got: ${String(sampleRate)}`);
    }
    this.sampleRate = sampleRate;
    this.clock = new FrameClock(options.tempo, sampleRate);
    this.engine = new BandEngine(sampleRate, resolveMix(options.mix), options.stems ?? false);
  }

  /** The tempo frames pushed from now on will have. */
  get tempo(): number {
    return this.clock.tempo;
  }

  /**
   * Sets the tempo of the frames pushed after this call (frames already
   * queued keep theirs, so queuedSamples() stays true). Frame starts stay
   * exact across changes: no drift. Throws RangeError outside 60..200 BPM.
   */
  setTempo(bpm: number): void {
    this.clock.setTempo(bpm);
  }

  /**
   * Queues one frame: one id per codebook, in the layout's order (a
   * FrameTokens, or a model's frame as the engine has it). Pad and
   * out-of-range ids are silence (rest), never an error.
   */
  pushFrame(tokens: FrameTokens | readonly number[]): void {
    this.queue.push(tokens[0], tokens[1], tokens[2], tokens[3], this.clock.next());
  }

  /**
   * Fills left/right (same length, any block size) from queued frames and
   * returns the samples written. When the queue runs dry it stops early and
   * zero-fills the rest, so a return value below the block size is an underrun.
   */
  process(left: Float32Array, right: Float32Array): number {
    if (left.length !== right.length) {
      throw new RangeError(`left and right must have the same length, got: ${left.length} and ${right.length}`);
    }
    const n = left.length;
    let written = 0;
    for (let m = this.nextChunk(n); m > 0; m = this.nextChunk(n - written)) {
      this.engine.render(left, right, written, m);
      written += m;
    }
    if (written < n) {
      left.fill(0, written);
      right.fill(0, written);
    }
    return written;
  }

  /**
   * The frame started next counts as frame `index`: its place in the bar
   * and its humanising dice. A loop replays its frames with their own
   * indices, so every repetition sounds the same (the frames after it count
   * on from there); `seam` marks the first frame of a repetition.
   */
  setNextFrameIndex(index: number, seam = false): void {
    if (!Number.isInteger(index) || index < 0) throw new RangeError(`frame index must be an integer >= 0, got: ${index}`);
    if (this.queue.size > 0) throw new Error('setNextFrameIndex: frames are still queued; set it before pushing the frame it is for');
    this.frameIndex = index;
    this.seam = seam;
  }

  /**
   * Stems (a synth made with `stems`): as process, into STEM_CHANNELS
   * arrays of one length: the mix on 0-1, then drums, bass, piano and
   * guitar on their own pairs (INSTRUMENTS order). The stems sum to the mix.
   */
  processStems(channels: readonly Float32Array[]): number {
    if (channels.length !== STEM_CHANNELS || channels.some((c) => c.length !== channels[0].length)) {
      throw new RangeError(`processStems needs ${STEM_CHANNELS} channels of one length, got: ${channels.map((c) => c.length).join(', ')}`);
    }
    const n = channels[0].length;
    let written = 0;
    for (let m = this.nextChunk(n); m > 0; m = this.nextChunk(n - written)) {
      this.engine.renderStems(channels, written, m);
      written += m;
    }
    if (written < n) for (const c of channels) c.fill(0, written);
    return written;
  }

  /** Starts queued frames as needed and takes the next chunk (at most `room` samples) of the frame under way; 0 when the queue is dry. */
  private nextChunk(room: number): number {
    if (room <= 0) return 0;
    while (this.frameLeft === 0) {
      const length = this.queue.shift(this.frame);
      if (length < 0) return 0;
      this.engine.startFrame(this.frame, this.frameIndex++, this.seam);
      this.seam = false;
      this.frameLeft = length;
    }
    const m = Math.min(this.frameLeft, room, MAX_CHUNK);
    this.frameLeft -= m;
    return m;
  }

  /** Samples that process() can still deliver from queued frames. */
  queuedSamples(): number {
    return this.frameLeft + this.queue.samples;
  }

  /** Frames queued and not yet started. */
  queuedFrames(): number {
    return this.queue.size;
  }

  /** Silence, empty queue, frame 0 at sample 0; the current tempo is kept. */
  reset(): void {
    this.queue.clear();
    this.clock.reset();
    this.engine.reset();
    this.frameLeft = 0;
    this.frameIndex = 0;
  }
}

/**
 * Renders codebook-major tokens (tokens[k][t]) in one go. Equal, sample for
 * sample, to pushing the same frames into a BandSynth and streaming them out.
 */
export function renderTokens(
  tokens: readonly ArrayLike<number>[],
  options: BandSynthOptions,
): { left: Float32Array; right: Float32Array } {
  const synth = queued(tokens, options);
  const left = new Float32Array(synth.queuedSamples());
  const right = new Float32Array(left.length);
  synth.process(left, right);
  return { left, right };
}

/** As renderTokens, into STEM_CHANNELS channels: the mix, then each instrument's pair (see BandSynth.processStems). */
export function renderStems(tokens: readonly ArrayLike<number>[], options: Omit<BandSynthOptions, 'stems'>): Float32Array[] {
  const synth = queued(tokens, { ...options, stems: true });
  const n = synth.queuedSamples();
  const channels = Array.from({ length: STEM_CHANNELS }, () => new Float32Array(n));
  synth.processStems(channels);
  return channels;
}

/** A synth with every frame of codebook-major `tokens` queued. */
function queued(tokens: readonly ArrayLike<number>[], options: BandSynthOptions): BandSynth {
  if (tokens.length !== NUM_CODEBOOKS) {
    throw new RangeError(`tokens must have ${NUM_CODEBOOKS} codebook rows, got: ${tokens.length}`);
  }
  const frames = tokens[0].length;
  for (let k = 1; k < NUM_CODEBOOKS; k++) {
    if (tokens[k].length !== frames) {
      throw new RangeError(`every codebook row must have ${frames} frames, row ${k} has ${tokens[k].length}`);
    }
  }
  const synth = new BandSynth(options);
  for (let t = 0; t < frames; t++) synth.pushFrame([tokens[0][t], tokens[1][t], tokens[2][t], tokens[3][t]]);
  return synth;
}
