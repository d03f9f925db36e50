/** Project-wide constants, with units and where they come from. */

/** Output sample rate of the tinyband synthesizer, Hz (the usual DAW rate). */
export const SAMPLE_RATE = 48_000;
/** Stereo output. */
export const CHANNELS = 2;
/** A tinyband frame is a 16th note: 4 frames per beat, 16 per 4/4 bar. */
export const FRAMES_PER_BEAT = 4;
export const BEATS_PER_BAR = 4;
export const FRAMES_PER_BAR = FRAMES_PER_BEAT * BEATS_PER_BAR;
/** Tempo range the synthesizer renders, BPM. */
export const MIN_TEMPO = 60;
export const MAX_TEMPO = 200;
export const DEFAULT_TEMPO = 120;

/** Samples in one 16th-note frame at `bpm` (fractional: frame starts are rounded from this, so no drift). */
export function samplesPerFrame(bpm: number, sampleRate = SAMPLE_RATE): number {
  return (sampleRate * 60) / (bpm * FRAMES_PER_BEAT);
}

/**
 * A synced start (--sync) hands the music of the DAW's start position to the device this long after the DAW is
 * there: the cue reaches the worker, which makes one frame (a start on a bar line; ~5 ms here), inside one device
 * block; a cue later than this skips into the music instead, so the grid holds. The offset is fixed, and the DAW
 * takes it (plus the output latency) off the recording (docs/sync.md).
 */
export const SYNC_START_DELAY_MS = 30;
