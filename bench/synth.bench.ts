/**
 * Throughput of the tinyband synthesizer on one core: the full band (drums,
 * bass, piano and guitar, chords and melody) on a dense pattern, rendered
 * whole and streamed in audio-callback-sized blocks.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/synth.bench.js [seconds] [bpm]
 */

import { FRAMES_PER_BAR, SAMPLE_RATE, samplesPerFrame } from '../src/constants.js';
import { densePattern } from '../src/model/codec/synth/demo-pattern.js';
import { BandSynth, renderStems, renderTokens } from '../src/model/codec/synth/index.js';
import type { FrameTokens } from '../src/model/tinyband/layout.js';

const seconds = Number(process.argv[2] ?? 60);
const tempo = Number(process.argv[3] ?? 120);
const REPEATS = 5;
const BLOCK = 512;

const frames = Math.ceil((seconds * SAMPLE_RATE) / samplesPerFrame(tempo));
const tokens = densePattern(Math.ceil(frames / FRAMES_PER_BAR)).map((row) => row.subarray(0, frames));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function report(name: string, audioSeconds: number, ms: number[]): void {
  const best = Math.min(...ms);
  const med = median(ms);
  console.log(
    `${name.padEnd(22)} audio ${audioSeconds.toFixed(1)} s  wall best ${best.toFixed(1)} ms, median ${med.toFixed(1)} ms  ` +
      `real-time x${(audioSeconds * 1000 / best).toFixed(0)} best, x${(audioSeconds * 1000 / med).toFixed(0)} median  ` +
      `${(med / frames).toFixed(4)} ms/frame`,
  );
}

/** Best and median of REPEATS timed runs of `render` (after one untimed, for the JIT), which returns the samples it made. */
function timeWhole(name: string, render: () => number): void {
  const ms: number[] = [];
  let audio = 0;
  render(); // warm-up: let the JIT compile the hot loops
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    audio = render() / SAMPLE_RATE;
    ms.push(performance.now() - t0);
  }
  report(name, audio, ms);
}

// Whole render: the path datasets and tests use.
timeWhole('renderTokens', () => renderTokens(tokens, { tempo }).left.length);
// --outputs stems: each instrument through its own reverb, the mix summed from them.
timeWhole('renderStems', () => renderStems(tokens, { tempo })[0].length);

// Streaming: frames pushed as a player would, read back in 512-sample blocks.
{
  const left = new Float32Array(BLOCK);
  const right = new Float32Array(BLOCK);
  const frame = (t: number): FrameTokens => [tokens[0][t], tokens[1][t], tokens[2][t], tokens[3][t]];
  const run = (): number => {
    const synth = new BandSynth({ tempo });
    let t = 0;
    let total = 0;
    for (;;) {
      while (t < frames && synth.queuedSamples() < BLOCK) synth.pushFrame(frame(t++));
      const got = synth.process(left, right);
      total += got;
      if (got < BLOCK) return total;
    }
  };
  run();
  const ms: number[] = [];
  let audio = 0;
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    audio = run() / SAMPLE_RATE;
    ms.push(performance.now() - t0);
  }
  report(`stream (${BLOCK}-sample blocks)`, audio, ms);
}
