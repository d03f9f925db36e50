/**
 * smitin render --steer as a user runs it: drums pushed into drumless
 * composer prompts appear in the tokens and in the audio (cymbal and hat
 * energy above 5 kHz), the summary carries the monitor and gain trace, and
 * bad steering arguments are refused before anything runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { readDataset } from '../../src/model/tinyband/dataset.js';
import { featureAmount } from '../../src/smitin/tinyband-features.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { linkedCopy, MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';
import { energyShare } from '../synth/helpers.js';

const ready = MODEL_DIR === SHIPPED_MODEL && existsSync(join(SHIPPED_MODEL, 'probes.safetensors'));
const TINY = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));

describe.skipIf(!ready)('smitin render --steer', () => {
  const dir = tempDir();
  const data = join(dir, 'data');
  let drumless: number[] = [];
  beforeAll(() => {
    expect(smitin(['dataset', '--pieces', '40', '--bars', '8', '--seed', '3', '--out', data, '--quiet']).status).toBe(0);
    const pieces = readDataset(data, (p) => readFileSync(p)).pieces;
    drumless = pieces.map((p, i) => (featureAmount('drums', p.tokens.map((r) => r.slice(0, 32))) === 0 ? i : -1)).filter((i) => i >= 0).slice(0, 4);
    expect(drumless).toHaveLength(4);
  });

  const render = (name: string, item: number, ...extra: string[]) => {
    const out = join(dir, name);
    const r = smitin(['render', '--prompt', 'rock', '--continue', data, '--item', String(item), '--seconds', '8', '--seed', '1', '--threads', '1', '--out', out, '--json', ...extra]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return { summary: JSON.parse(r.stdout), wav: decodeWav(readFileSync(out)) };
  };

  it('drums pushed into drumless prompts sound in the tokens and in the audio', () => {
    let plainShare = 0;
    let steeredShare = 0;
    let plainHigh = 0;
    let steeredHigh = 0;
    for (const item of drumless) {
      const plain = render(`p${item}.wav`, item);
      const steered = render(`s${item}.wav`, item, '--steer', 'drums=1');
      plainShare += plain.summary.sounding.drums / drumless.length;
      steeredShare += steered.summary.sounding.drums / drumless.length;
      plainHigh += energyShare(plain.wav.channels[0], 5000, 24000) / drumless.length;
      steeredHigh += energyShare(steered.wav.channels[0], 5000, 24000) / drumless.length;
    }
    expect(steeredShare).toBeGreaterThan(plainShare + 0.15);
    // hats and cymbals: energy above 5 kHz (the synth tests put 99.8 % of a closed hat there)
    expect(steeredHigh).toBeGreaterThan(5 * plainHigh);
  });

  it('--json carries the settings, per-feature amounts and the monitor / gain trace of every step', () => {
    const { summary } = render('t.wav', drumless[0], '--steer', 'drums=0.8,guitar=-0.5', '--every', '2');
    const s = summary.steering;
    // the defaults, with tinyband's own choices from its steering.json (per-feature layers and alphas, companions; no hold)
    const own = JSON.parse(readFileSync(join(SHIPPED_MODEL, 'steering.json'), 'utf8'));
    expect(s).toMatchObject({ strengths: { drums: 0.8, guitar: -0.5 }, weighting: 'soft', alpha: 30, every: 2, monitor: 'same', halves: 'cond', fromLayer: 1, layers: own.layers, alphas: own.alphas, hold: 0 });
    expect(Object.keys(summary.features)).toEqual(['drums', 'bass', 'piano', 'guitar', 'minor', 'dense']);
    const drums = s.features.drums;
    expect(drums.strength).toBe(0.8);
    expect(drums.monitor).toHaveLength(summary.steps);
    expect(drums.gain).toHaveLength(summary.steps);
    for (const v of drums.monitor) expect(v).toBeGreaterThanOrEqual(0);
    // every second run at most, never more than strength x the feature's alpha
    drums.applied.forEach((a: number, run: number) => {
      if (run % 2) expect(a).toBe(0);
      expect(Math.abs(a)).toBeLessThanOrEqual(0.8 * own.alphas.drums + 1e-9);
    });
    expect(s.features.guitar.applied.some((a: number) => a < 0)).toBe(true);
    // piano's knob is at 0: only guitar's companion pushes it, by at most its own alpha
    for (const a of s.features.piano.applied) expect(Math.abs(a)).toBeLessThanOrEqual(own.alphas.piano + 1e-9);
  });

  it('refuses bad steering arguments with one line, before any work', () => {
    const run = (...args: string[]) => smitin(['render', '--prompt', 'rock', '--out', join(dir, 'x.wav'), ...args]);
    const cases: [string[], RegExp][] = [
      [['--steer', 'drums=2'], /strength of drums must be a number in \[-1, 1\], got: 2/],
      [['--steer', 'drums'], /expected FEATURE=STRENGTH pairs/],
      [['--steer', 'cowbell=1'], /no probes for "cowbell" in .*probes\.safetensors \(its knobs: drums, bass, piano, guitar, minor, dense\)/],
      // the shipped set's seventh probe reads whether the band plays at all: the steerer reads it, a performer cannot turn it
      [['--steer', 'sounding=-1'], /--steer: "sounding" in .*probes\.safetensors is a monitor probe, not a knob \(its knobs: drums, bass, piano, guitar, minor, dense\)/],
      [['--steer', 'drums=1', '--weighting', 'top5'], /weighting must be soft or topk:K/],
      [['--steer', 'drums=1', '--weighting', 'topk:99'], /topk:99: the model has only 32 heads/],
      [['--steer', 'drums=1', '--from-layer', '4'], /--from-layer must be below the model's 4 layers, got: 4/],
      [['--steer', 'drums=1', '--probes', join(dir, 'none.safetensors')], /none\.safetensors: cannot read the probe set \(ENOENT\)/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(dir, 'x.wav'))).toBe(false);
    }
  });

  it("refuses another model's probes, and a model without probes says how to make them", () => {
    const tiny = linkedCopy(TINY);
    const other = smitin(['render', '--model', tiny, '--prompt', 'rock', '--out', join(dir, 'y.wav'), '--steer', 'drums=1', '--probes', join(SHIPPED_MODEL, 'probes.safetensors')]);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/probes for a model with 4 layers x 8 heads x 24 dims \(tinyband\); this model .* has 2 x 4 x 8/);
    const none = smitin(['render', '--model', tiny, '--prompt', 'rock', '--out', join(dir, 'y.wav'), '--steer', 'drums=1']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--steer needs probes: .*probes\.safetensors does not exist \(train them: smitin probes train --model/);
  });
});
