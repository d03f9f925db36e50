/** Cutting rendered audio to a length. */
import { SAMPLE_RATE } from '../constants.js';

/** Fade at a cut, so audio stopped mid-note does not click. */
export const FADE_OUT_SECONDS = 0.02;

/** The first `length` samples of each channel (zero-padded if shorter), faded out over the last FADE_OUT_SECONDS. */
export function cutWithFade(
  channels: readonly Float32Array[],
  length: number,
  sampleRate = SAMPLE_RATE,
): Float32Array[] {
  const fade = Math.min(length, Math.round(FADE_OUT_SECONDS * sampleRate));
  return channels.map((full) => {
    const out = new Float32Array(length);
    out.set(full.subarray(0, Math.min(length, full.length)));
    for (let i = 0; i < fade; i++) out[length - 1 - i] *= i / fade;
    return out;
  });
}
