import type { LogitsProcessor } from './processor.js';

/** Divides the scores by `temperature`: above 1 flattens the distribution, below 1 sharpens it. */
export class Temperature implements LogitsProcessor {
  readonly name = 'temperature';

  constructor(readonly temperature: number) {
    if (!(Number.isFinite(temperature) && temperature > 0)) {
      throw new RangeError(`temperature must be a number > 0, got: ${temperature}`);
    }
  }

  apply(row: Float32Array): void {
    if (this.temperature === 1) return;
    const inv = 1 / this.temperature;
    for (let i = 0; i < row.length; i++) row[i] *= inv;
  }
}
