/**
 * How hard each note of a frame is played: the bar accent and the
 * humanizing dice. The band engine plays with these, and the band's MIDI
 * notes (src/notes) take their velocities from them, so a note's MIDI
 * velocity is the one the synthesizer played it with.
 */
import { Rng } from '../../../util/rng.js';
import { Codebook, type DrumVoice } from '../../tinyband/layout.js';
import { accentedVelocity } from './drums.js';
import { accentAt } from './voicing.js';

/** Seed of the humanizing generators: fixed, so a render is reproducible. */
const SEED = 0x7e57ba5d;

/**
 * The random draws (velocity variation, strum spacing, noise offsets) for one
 * stream (a codebook) at one frame. Each (frame, stream) pair gets its own
 * generator, so what one instrument plays never shifts another's dice: a
 * render with an instrument removed equals the full render minus that
 * instrument's stem.
 */
export function dice(frameIndex: number, stream: Codebook): Rng {
  return new Rng((SEED ^ Math.imul(frameIndex + 1, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0);
}

/** A player's variation: +-7 % around the intended velocity. */
function human(rng: Rng): number {
  return 1 + 0.07 * (2 * rng.next() - 1);
}

/** Base velocities (0..1) of each stream before accent and variation. */
const DRUM_BASE = 0.92;
const STREAM_BASE = { [Codebook.Bass]: 0.85, [Codebook.Harmony]: 0.78, [Codebook.Melody]: 0.86 } as const;
/** Guitar up-strokes (the 16ths between the 8ths) are lighter than down-strokes. */
const UP_STROKE = 0.85;

export type PitchedStream = Codebook.Bass | Codebook.Harmony | Codebook.Melody;

export interface DrumHit {
  voice: DrumVoice;
  /** Humanized velocity before the bar accent, as the kit takes it. */
  velocity: number;
  /** The velocity the voice sounds with, the bar accent applied. */
  level: number;
  /** Where in its noise loop the hit starts. */
  seed: number;
}

/** The frame's drum hits, in the order the kit plays them (the dice are drawn in that order). */
export function drumHits(frameIndex: number, voices: Iterable<DrumVoice>): DrumHit[] {
  const accent = accentAt(frameIndex);
  const out: DrumHit[] = [];
  let rng: Rng | null = null;
  for (const voice of voices) {
    rng ??= dice(frameIndex, Codebook.Drums);
    const velocity = DRUM_BASE * human(rng);
    out.push({ voice, velocity, level: accentedVelocity(voice, accent, velocity), seed: rng.nextUint32() });
  }
  return out;
}

/**
 * The velocity (0..1) of the note or strike a pitched stream starts on frame
 * `frameIndex`, and that stream's dice after the draw: the synth goes on to
 * draw its seeds, strums and jitter from them. Tonal parts follow the bar
 * accent more gently than the drums do.
 */
export function streamStrike(stream: PitchedStream, frameIndex: number): { velocity: number; rng: Rng } {
  const soft = 1 - 0.45 * (1 - accentAt(frameIndex));
  const rng = dice(frameIndex, stream);
  return { velocity: Math.min(1, STREAM_BASE[stream] * soft * human(rng)), rng };
}

/** A guitar chord strum: down-strokes on the 8ths, lighter up-strokes on the 16ths between them. */
export function strum(velocity: number, frameIndex: number): { down: boolean; velocity: number } {
  const down = frameIndex % 2 === 0;
  return { down, velocity: down ? velocity : velocity * UP_STROKE };
}
