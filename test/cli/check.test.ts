/**
 * `smitin check` and the check `smitin live` runs before it plays, measured
 * for real on the shipped tinyband and the musicgen-tiny fixture. Bounds
 * hold on a loaded 2-core machine: tinyband's 16th note lasts 125 ms at 120
 * BPM against a step of a few ms; the fixture's EnCodec decoder writes audio
 * every 25 frames, which takes far longer than a 10 ms ring on any machine
 * we run (25 steps plus a decode), so live truly cannot hold it there.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENCODEC_STREAM } from '../../src/model/codec/encodec/stream.js';
import { smitin, tempDir } from '../helpers/cli.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/musicgen-tiny', import.meta.url));
const ready = MODEL_DIR === SHIPPED_MODEL;
const LIVE = ['--osc-port', '0', '--no-web', '--json'];

describe.skipIf(!ready)('smitin check', () => {
  it('tinyband: yes, steered, measured from silence and at the full window, exit 0', () => {
    const r = smitin(['check', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c).toMatchObject({ keepsUp: true, reason: 'ok', dtype: 'fp32', latencyMs: 100 });
    expect(c.multiple).toBeGreaterThan(1);
    expect(c.figures).toMatchObject({ frameAudioMs: 125, window: 256, steered: true, codec: { framesPerWrite: 1 } });
    // the full window is its end, where a step costs the most
    expect(c.figures.full.past).toBeGreaterThan(c.figures.window * 0.75);
    expect(c.figures.short.past).toBeLessThan(c.figures.window / 4);
    expect(c.figures.reprimeMs).toBeGreaterThan(0);
    expect(c.advice).toEqual([]);
    expect(c.withQ8).toBeUndefined();
    const text = smitin(['check', '--tempo', '90']);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/\(fp32, cpu, 1 thread\): decoder step with guidance and SMITIN: [\d.]+ ms from silence, [\d.]+ ms at \d+ of 256 frames of context; .* a frame is 167 ms of audio\n/);
    expect(text.stdout).toMatch(/can this machine play it live\? yes, x[\d.]+ real time/);
  }, 120_000);

  it('the fixture at a 10 ms ring: no, for the ring (its audio comes every chunk of frames), exit 1, with the ring that would do', () => {
    const r = smitin(['check', '--model', FIXTURE, '--latency', '10', '--json']);
    expect(r.status, r.stderr).toBe(1);
    const c = JSON.parse(r.stdout);
    expect(c).toMatchObject({ keepsUp: false, reason: 'ring', latencyMs: 10, figures: { frameAudioMs: 20, steered: false } });
    expect(c.figures.codec.framesPerWrite).toBe(DEFAULT_ENCODEC_STREAM.chunk);
    expect(c.gapMs).toBeGreaterThan(10);
    const ring = Number(/^--latency (\d+):/.exec(c.advice[0])?.[1]);
    expect(ring).toBeGreaterThan(c.gapMs);
    // int8 files make steps faster, not chunks shorter: a ring that is too short is not a reason to measure them
    expect(c.withQ8).toBeUndefined();
  }, 120_000);

  it('bad input is refused in one line (exit 2)', () => {
    const r = smitin(['check', '--latency', '5']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/latency must be within \[10, 2000\], got: 5$/);
    const missing = smitin(['check', '--model', join(tempDir(), 'nope')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe.skipIf(!ready)('smitin live checks before it plays', () => {
  it('refuses a model it cannot hold with exit 2, the figures and the advice, before any audio (nothing recorded)', () => {
    const take = join(tempDir(), 'take.wav');
    const r = smitin(['live', '--model', FIXTURE, '--latency', '10', '--record', take, '--duration', '2', ...LIVE]);
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^error: this machine cannot play ".*musicgen-tiny" live at these settings \(checked in [\d.]+ s; smitin check measures more\): no at --latency 10: .* --force plays anyway$/);
    expect(r.stderr).toMatch(/check: .*decoder step with guidance \(no probes: unsteered\): [\d.]+ ms from silence/);
    expect(r.stderr).toMatch(/check: {3}- --latency \d+: the ring must cover/);
    expect(r.stderr).not.toMatch(/audio: /);
    expect(existsSync(take)).toBe(false);
    expect(r.stdout).toBe('');
  }, 60_000);

  it('--force plays anyway: the figures carry the check and its deficit, and the underruns it predicted happen', () => {
    const r = smitin(['live', '--model', FIXTURE, '--latency', '10', '--force', '--duration', '3', ...LIVE]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/check: --force: playing anyway; expect underruns/);
    const figures = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(figures.check).toMatchObject({ keepsUp: false, reason: 'ring', latencyMs: 10 });
    expect(figures.underruns).toBeGreaterThan(0);
  }, 60_000);

  it('tinyband at the defaults: the check says yes in a line and the session plays without underruns', () => {
    const r = smitin(['live', '--duration', '2', ...LIVE]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^check: yes, x[\d.]+ real time .*; checked in [\d.]+ s$/m);
    const figures = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(figures.check).toMatchObject({ keepsUp: true, figures: { steered: true } });
    expect(figures.underruns).toBe(0);
  }, 60_000);
});
