/** The loudest sample since the last reading: the level meter's input, fed from the output's tap (one pass over each block). */
export class PeakMeter {
  private peak = 0;

  write(block: Float32Array): void {
    let p = this.peak;
    for (let i = 0; i < block.length; i++) {
      const a = Math.abs(block[i]);
      if (a > p) p = a;
    }
    this.peak = p;
  }

  /** The peak since the last call, in dB full scale (-Infinity for silence); starts the next period. */
  readDbfs(): number {
    const p = this.peak;
    this.peak = 0;
    return p > 0 ? 20 * Math.log10(p) : -Infinity;
  }
}
