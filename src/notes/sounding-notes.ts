/**
 * Which notes sound now, per channel and key, so that every on gets its off
 * and an off for a note that never started (its frame was never heard) is
 * not passed on. Each sounding note carries what its owner needs at its
 * end (the MIDI file: the tick it started on).
 */
import type { NoteEvent } from './note-decoder.js';

export class SoundingNotes<T = undefined> {
  private readonly on = new Map<number, { event: NoteEvent; data: T }>();

  /**
   * Takes an event in. An on returns true; an off returns its on and the
   * data given with it, or null for a note not sounding (not to pass on).
   */
  apply(event: NoteEvent, data: T): true | { event: NoteEvent; data: T } | null {
    const key = event.channel * 128 + event.note;
    if (event.type === 'on') {
      this.on.set(key, { event, data });
      return true;
    }
    const started = this.on.get(key);
    if (!started) return null;
    this.on.delete(key);
    return started;
  }

  /** Everything sounding (its note-ons and data), which then sounds no more. */
  releaseAll(): { event: NoteEvent; data: T }[] {
    const all = [...this.on.values()];
    this.on.clear();
    return all;
  }
}
