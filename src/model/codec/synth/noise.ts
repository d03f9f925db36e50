/**
 * White noise for the voices. Each user owns a 32-bit xorshift state,
 * stepped inline in its loop (no call per sample) and seeded from fixed or
 * per-event seeds, so the output is identical on every run and platform and
 * does not depend on the order in which voices are rendered.
 */

/** Maps a signed 32-bit xorshift state to roughly [-1, 1). */
export const NOISE_SCALE = 1 / 2147483648;

/** A non-zero xorshift seed (zero is xorshift's fixed point). */
export function noiseSeed(u32: number): number {
  const s = u32 | 0;
  return s === 0 ? 0x6d2b79f5 : s;
}
