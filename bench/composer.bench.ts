/**
 * Composer figures over many pieces: the unsteered entry baseline (an absent
 * instrument enters within the next 4 bars), bass on chord tones, melody in
 * key, per-instrument presence, and composing speed.
 *   npm run build && node dist/bench/composer.bench.js [pieces] [bars]
 */
import { INSTRUMENTS } from '../src/model/tinyband/layout.js';
import { addRatio, bassOnChordTones, compose, entryBaseline, melodyInKey, ratio, type Piece } from '../src/model/tinyband/composer/index.js';

const count = Number(process.argv[2] ?? 1000);
const bars = Number(process.argv[3] ?? 32);
const started = performance.now();
const pieces: Piece[] = [];
for (let seed = 0; seed < count; seed++) pieces.push(compose({ seed, bars }));
const ms = performance.now() - started;

let bass = { hits: 0, total: 0 };
let melody = { hits: 0, total: 0 };
const presence = INSTRUMENTS.map(() => 0);
for (const p of pieces) {
  bass = addRatio(bass, bassOnChordTones(p.tokens[1], p.chords));
  melody = addRatio(melody, melodyInKey(p.tokens[3], p.key));
  p.labels.forEach((row, i) => (presence[i] += row.reduce((a, x) => a + x, 0) / row.length / pieces.length));
}
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
console.log(`composer: ${count} pieces x ${bars} bars`);
console.log(`  entry baseline (absent instrument enters within 4 bars): ${pct(ratio(entryBaseline(pieces)))}`);
console.log(`  bass note-ons on chord tones: ${pct(ratio(bass))} of ${bass.total}`);
console.log(`  melody note-ons in key:       ${pct(ratio(melody))} of ${melody.total}`);
console.log(`  share of bars each instrument plays: ${INSTRUMENTS.map((n, i) => `${n} ${pct(presence[i])}`).join(', ')}`);
console.log(`  compose speed: ${(ms / count).toFixed(2)} ms per piece (${((count * bars) / (ms / 1000)).toFixed(0)} bars/s)`);
