import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { renderTokens } from '../../src/model/codec/synth/index.js';
import { readDataset } from '../../src/model/tinyband/dataset.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { MODEL_DIR, NO_MODEL_REASON } from '../helpers/model.js';

describe.skipIf(!MODEL_DIR)(`smitin render --continue (${MODEL_DIR ?? NO_MODEL_REASON})`, () => {
  const dir = tempDir();
  const made = smitin(['dataset', '--pieces', '3', '--bars', '8', '--seed', '5', '--out', dir, '--quiet']);

  it('plays the prompt bars first, then continues them', () => {
    expect(made.status).toBe(0);
    const out = join(dir, 'c.wav');
    const r = smitin(['render', '--model', MODEL_DIR!, '--continue', dir, '--item', '2', '--prompt-bars', '2', '--prompt', 'rock', '--seconds', '3', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.promptFrames).toBe(32);
    const wav = decodeWav(readFileSync(out)).channels[0];
    expect(wav.length).toBe(Math.round((4 + 3) * 48_000)); // 2 bars at 120 BPM, then 3 s
    // the synthesizer is causal, so the prompt's audio is exactly the prompt rendered alone
    const piece = readDataset(dir, (p) => readFileSync(p)).pieces[2];
    const alone = renderTokens(piece.tokens.map((row) => row.slice(0, 32)), { tempo: 120 }).left;
    const head = 4 * 48_000 - 2400; // stop short of the prompt's last frame, whose ring the continuation joins
    let diff = 0;
    for (let i = 0; i < head; i++) diff = Math.max(diff, Math.abs(wav[i] - alone[i]));
    expect(diff).toBeLessThan(1e-6);
    let tail = 0;
    for (let i = 4 * 48_000; i < wav.length; i++) tail += wav[i] * wav[i];
    expect(Math.sqrt(tail / (wav.length - 4 * 48_000))).toBeGreaterThan(1e-3);
  });

  it('names a bad item and refuses prompts longer than the piece', () => {
    const out = join(dir, 'x.wav');
    const r = smitin(['render', '--model', MODEL_DIR!, '--continue', dir, '--item', '9', '--prompt', 'rock', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--item must be below 3/);
    const long = smitin(['render', '--model', MODEL_DIR!, '--continue', dir, '--prompt-bars', '12', '--prompt', 'rock', '--out', out]);
    expect(long.status).toBe(2);
    expect(long.stderr).toMatch(/--prompt-bars 12 is longer than piece 0 \(8 bars\)/);
  });
});
