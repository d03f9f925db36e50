/**
 * Pull-callback timing of the audio outputs: the interval between pulls
 * against the nominal block period (bufferFrames / sampleRate), p50 / p99 /
 * max, and the pulled rate against the sample rate, over a run of wall time.
 * - the null sink (hrtime-paced timers);
 * - PortAudio -> ALSA jack PCM -> a JACK dummy server (real-time clock),
 *   started here like the tests do, when jackd is installed.
 *
 *   npm run build && node dist/bench/audio-output.bench.js [--seconds 20]
 */
import { percentile } from '../src/util/percentile.js';
import { openNullOutput, openPortAudioOutput, type AudioOutput } from '../src/audio/output.js';
import { JACK_PCM, JackSession, jackUnavailableReason } from '../test/helpers/jack.js';

const RATE = 48_000;
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 20;
/** Pulls in the first half second fill the device queue at once: left out. */
const WARMUP_S = 0.5;

async function measure(name: string, output: AudioOutput): Promise<void> {
  const times: number[] = [];
  let frames = 0;
  output.start((n) => {
    times.push(performance.now());
    frames += n;
    return new Float32Array(n * 2);
  });
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  await output.stop();
  const t0 = times[0];
  const kept = times.filter((t) => t - t0 >= WARMUP_S * 1000);
  const intervals = kept.slice(1).map((t, i) => t - kept[i]).sort((a, b) => a - b);
  const nominal = (output.bufferFrames / output.sampleRate) * 1000;
  const rate = ((kept.length - 1) * output.bufferFrames) / ((kept[kept.length - 1] - kept[0]) / 1000);
  console.log(
    `${name.padEnd(34)} period ${nominal.toFixed(2)} ms | interval p50 ${percentile(intervals, 50).toFixed(2)}  p99 ${percentile(intervals, 99).toFixed(2)}  max ${intervals[intervals.length - 1].toFixed(2)} ms | ` +
      `rate ${(rate / output.sampleRate).toFixed(4)} x | blocks ${output.stats.blocks} errors ${output.stats.errors} resyncs ${output.stats.resyncs}` +
      ` | latency ${output.latencyMs.toFixed(1)} ms (${output.latencySource}) + queue ${output.queueMs.toFixed(1)} ms`,
  );
  void frames;
}

async function main(): Promise<void> {
  console.log(`audio output pull timing over ${SECONDS} s each (first ${WARMUP_S} s left out), ${RATE} Hz stereo float32`);
  console.log(`command: ${['node', ...process.execArgv, ...process.argv.slice(1)].join(' ')}`);
  for (const frames of [256, 512]) await measure(`null sink, ${frames} frames`, openNullOutput({ sampleRate: RATE, bufferFrames: frames }));

  const unavailable = jackUnavailableReason();
  if (unavailable) {
    console.log(`PortAudio -> JACK: skipped (${unavailable})`);
    return;
  }
  const jack = await JackSession.start();
  try {
    // PortAudio reads these when it first opens ALSA: set before the first stream.
    Object.assign(process.env, jack.env);
    for (const frames of [256, 512]) {
      const recording = await jack.record(SECONDS + 5);
      const errors: string[] = [];
      await measure(`PortAudio -> JACK dummy, ${frames} frames`, openPortAudioOutput({ device: JACK_PCM, sampleRate: RATE, bufferFrames: frames, onError: (e) => errors.push(e.message) }));
      if (errors.length) console.log(`  errors: ${errors.join('; ')}`);
      await recording.done;
    }
  } finally {
    await jack.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
