/** Equal temperament, A4 = 440 Hz: MIDI note number to frequency. */
export function midiToHz(midi: number): number {
  return 440 * Math.pow(2, (midi - 69) / 12);
}
