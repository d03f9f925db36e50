/**
 * What SMITIN costs per generation step on tinyband: the plain decoder
 * against the prepared one (iti/heads added) without steering, and with 4
 * features steered (monitor in the same pass, a clean extra pass, or off).
 * Configurations run interleaved, round by round, so a busy moment on a
 * shared machine hits them all alike; each round generates FRAMES frames
 * from the same prompt and seed.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/steering.bench.js [rounds, default 8] [frames, default 256]
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeText, loadModel, MusicgenGenerator, type MusicgenModel, type StepHook } from '../src/model/musicgen/index.js';
import { loadSteerableModel } from '../src/smitin/prepare.js';
import { readProbeSet } from '../src/smitin/probe-set.js';
import { DEFAULT_STEERING, Steerer, type MonitorMode } from '../src/smitin/steerer.js';
import { modelSteering } from '../src/smitin/steering-file.js';
import { TINYBAND_HOLD } from '../src/smitin/eval/live.js';
import { percentile } from '../src/util/percentile.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)); // from dist/bench/
const MODEL = join(REPO, 'models', 'tinyband');
const ROUNDS = Number(process.argv[2] ?? 8);
const FRAMES = Number(process.argv[3] ?? 256);
const FEATURES = { drums: 0.7, bass: 0.7, piano: -0.5, guitar: 0.7 };

interface Config {
  name: string;
  model: MusicgenModel;
  hook: () => StepHook | undefined;
}

const plain = await loadModel(MODEL, { threads: 1 });
const prepared = await loadSteerableModel(MODEL, { threads: 1 });
const probes = readProbeSet(join(MODEL, 'probes.safetensors'));
const steer = (monitor: MonitorMode, every = 1) => () => new Steerer(probes, FEATURES, { monitor, every });
// what render and live play: the defaults plus the model's steering.json (its layers, alphas, companions); the hold monitor as a setting beside it
const product = modelSteering(MODEL, join(MODEL, 'probes.safetensors'), probes);
const knobsOnly = { ...probes, features: probes.features.filter((f) => f.role === undefined) };
const configs: Config[] = [
  { name: 'plain decoder', model: plain, hook: () => undefined },
  { name: 'prepared, no steering', model: prepared, hook: () => undefined },
  { name: '4 features, monitor same pass', model: prepared, hook: steer('same') },
  { name: 'product, 4 features', model: prepared, hook: () => new Steerer(probes, FEATURES, product) },
  // a monitor probe nothing pushes (tinyband's sounding) is read only under a trace: this row against the one above says a live step pays nothing for it
  { name: 'product, without monitor probes', model: prepared, hook: () => new Steerer(knobsOnly, FEATURES, product) },
  { name: 'with the hold, drums=-0.7, 5 held', model: prepared, hook: () => new Steerer(probes, { drums: -0.7 }, { ...product, ...TINYBAND_HOLD }) },
  { name: '4 features, monitor off', model: prepared, hook: steer('off') },
  { name: '4 features, monitor clean pass', model: prepared, hook: steer('clean') },
  { name: '4 features, clean pass, every 5', model: prepared, hook: steer('clean', 5) },
];
const steps = new Map<string, number[]>(configs.map((c) => [c.name, []]));

for (let round = 0; round < ROUNDS + 1; round++) {
  for (const c of configs) {
    const cond = await encodeText(c.model, ['funk happy energetic'], c.model.spec.generation.guidance);
    const g = new MusicgenGenerator(c.model.decoder, c.model.spec, cond, {
      ...c.model.spec.generation,
      seed: round,
      slide: { keep: 96, align: 16 },
      hook: c.hook(),
    });
    const times: number[] = [];
    for (let n = 0; n < FRAMES; ) {
      const t0 = performance.now();
      const frame = await g.step();
      times.push(performance.now() - t0);
      if (frame) n++;
    }
    if (round > 0) steps.get(c.name)!.push(...times); // round 0 warms up
  }
}

const pct = percentile;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const base = steps.get(configs[0].name)!;
console.log(`tinyband, one thread, ${ROUNDS} rounds x ${FRAMES} frames (window slides at 256), CFG 2 rows; steered: ${Object.entries(FEATURES).map(([k, v]) => `${k}=${v}`).join(' ')}, soft weighting, alpha ${DEFAULT_STEERING.alpha}, ${DEFAULT_STEERING.halves === 'cond' ? 'conditional half' : 'both CFG halves'}`);
console.log('configuration'.padEnd(34) + 'mean ms  p50 ms  p99 ms  mean vs plain  p50 vs plain');
for (const c of configs) {
  const t = steps.get(c.name)!;
  console.log(
    c.name.padEnd(34) +
      `${mean(t).toFixed(3).padStart(7)} ${pct(t, 50).toFixed(3).padStart(7)} ${pct(t, 99).toFixed(3).padStart(7)}` +
      `  ${((mean(t) / mean(base) - 1) * 100).toFixed(1).padStart(11)} %  ${((pct(t, 50) / pct(base, 50) - 1) * 100).toFixed(1).padStart(10)} %`,
  );
}
await plain.release();
await prepared.release();
