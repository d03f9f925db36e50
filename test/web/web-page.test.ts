/**
 * The web surface in a real browser (Debian's chromium through
 * playwright-core) against `smitin live` on the shipped tinyband, as a
 * performer uses it: a fader moves the strength the engine plays and the
 * drums come and go in the recorded audio; meters move; the prompt box
 * re-conditions the model; two pages agree; a reload keeps the state; an
 * engine restart reconnects; a surface opened to the LAN refuses a client
 * without its token. Screenshots at desktop and phone size are written to
 * $SMITIN_SCREENSHOTS (or a temporary folder) on every run.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { chromiumMissing, launchChromium } from '../helpers/browser.js';
import { tempDir } from '../helpers/cli.js';
import { runLive, until } from '../helpers/live.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';
import { medianHighShare } from '../synth/helpers.js';

const missing = chromiumMissing();
if (missing && process.env.CI) throw new Error(missing);
const ready = MODEL_DIR === SHIPPED_MODEL && !missing;

type Live = ReturnType<typeof runLive>;

/** `smitin live` with its web surface; resolves once the page's URL is printed. */
async function startLive(args: string[], cwd?: string): Promise<{ live: Live; url: string }> {
  const live = runLive(['0', '--json', ...args], {}, cwd);
  const printed = await until(() => /web: open (\S+)/.test(live.err()) || live.child.exitCode !== null, 30_000);
  const url = /web: open (\S+)/.exec(live.err())?.[1];
  if (!printed || !url) throw new Error(`no web surface: ${live.err().slice(-800)}`);
  return { live, url };
}

async function stopLive(live: Live): Promise<void> {
  live.child.kill('SIGTERM');
  await Promise.race([live.exited, new Promise((r) => setTimeout(r, 10_000))]);
  live.child.kill('SIGKILL');
}

const fader = (page: Page, feature: string) => page.locator(`[role="slider"][data-feature="${feature}"]`);
const valueOf = async (page: Page, feature: string) => Number(await fader(page, feature).getAttribute('aria-valuenow'));

async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

/** A take recorded from the page: the record button, then stop by holding it. Returns the take's left channel. */
async function recordTake(page: Page, takes: string, seconds: number): Promise<Float32Array> {
  const before = new Set(readdirSync(takes));
  await page.getByTestId('record').click();
  expect(await eventually(async () => /\S+\.wav/.test((await page.getByTestId('take').textContent()) ?? ''), 5_000)).toBe(true);
  await page.waitForTimeout(seconds * 1000);
  const box = (await page.getByTestId('record').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.waitForTimeout(700);
  await page.mouse.up();
  let file = '';
  expect(await until(() => (file = readdirSync(takes).find((f) => !before.has(f) && f.endsWith('.wav')) ?? '') !== '', 5_000)).toBe(true);
  // the take is finalised when the recording stops: its header then says its length
  await until(() => {
    try {
      return decodeWav(readFileSync(join(takes, file))).channels[0].length > 0;
    } catch {
      return false;
    }
  }, 5_000);
  return decodeWav(readFileSync(join(takes, file))).channels[0];
}

describe.skipIf(!ready)('the web surface in a browser', () => {
  let browser: Browser;
  const cwd = tempDir('smitin-web-');
  const takes = join(cwd, 'takes');
  let live: Live;
  let url: string;
  let port: number;

  beforeAll(async () => {
    browser = await launchChromium();
    ({ live, url } = await startLive(['--prompt', 'ballad calm', '--takes', takes, '--web-port', '0', '--loop-bars', '1'], cwd));
    port = Number(new URL(url).port);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    if (live) await stopLive(live);
  });

  it('a fader moves the strength the engine plays, and the drums come and go in the recorded audio', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await expect.poll(() => page.getByTestId('connection').getAttribute('data-state'), { timeout: 10_000 }).toBe('open');
    const drums = fader(page, 'drums');
    await drums.focus();
    await page.keyboard.press('Home');
    // the engine's own strength comes back in telemetry: the knob reached the worker
    await expect.poll(() => valueOf(page, 'drums'), { timeout: 5_000 }).toBe(-1);
    await page.waitForTimeout(4000);
    const without = await recordTake(page, takes, 6);
    await drums.focus();
    await page.keyboard.press('End');
    await expect.poll(() => valueOf(page, 'drums'), { timeout: 5_000 }).toBe(1);
    await page.waitForTimeout(4000);
    const withDrums = await recordTake(page, takes, 6);
    // hats, snares and cymbals: the typical share of energy above 5 kHz
    const [on, off] = [medianHighShare(withDrums), medianHighShare(without)];
    expect(on, `high-band share with drums ${on.toFixed(4)}, without ${off.toFixed(4)}`).toBeGreaterThan(3 * off);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('meters and the bar/beat counter move while music plays, and the prompt box re-conditions the model at the next bar', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    const level = page.getByTestId('level');
    await expect.poll(() => level.getAttribute('data-value'), { timeout: 10_000 }).not.toBeNull();
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      seen.add(`${await level.getAttribute('data-value')} ${await page.locator('[data-meter="monitor"][data-feature="bass"]').getAttribute('data-value')}`);
      await page.waitForTimeout(150);
    }
    expect(seen.size).toBeGreaterThan(3);
    // the bar/beat counter runs: 4 beats in 2 s at 120 BPM
    const beatsOf = (text: string | null) => {
      const [bar, beat] = (text ?? '').split('.').map(Number);
      return (bar - 1) * 4 + beat - 1;
    };
    const before = beatsOf(await page.getByTestId('position').textContent());
    await page.waitForTimeout(2000);
    const after = beatsOf(await page.getByTestId('position').textContent());
    expect(after - before).toBeGreaterThanOrEqual(3);
    expect(after - before).toBeLessThanOrEqual(5);
    await page.getByTestId('prompt-input').fill('rock sad energetic zzzunknown');
    await expect.poll(() => page.getByTestId('prompt-unknown').textContent()).toContain('zzzunknown');
    await page.getByTestId('prompt-input').fill('rock sad energetic');
    await expect.poll(() => page.getByTestId('prompt-unknown').textContent()).not.toContain('zzzunknown');
    await page.getByTestId('prompt-send').click();
    // a bar at 120 BPM is 2 s: the engine plays the new prompt from the next one
    await expect.poll(() => page.getByTestId('prompt-current').textContent(), { timeout: 4_000 }).toMatch(/rock sad energetic/);
    await page.close();
  }, 60_000);

  it('the loop button repeats the last bar exactly in the take, and pressed again lets the music go on', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    const loop = page.getByTestId('loop');
    await expect.poll(() => loop.textContent()).toContain('1 bar');
    await loop.click();
    // from the next bar line (2 s at 120 BPM) the engine says it loops
    await expect.poll(() => loop.getAttribute('data-looping'), { timeout: 5_000 }).toBe('1');
    const looped = await recordTake(page, takes, 5);
    await page.keyboard.press('l');
    await expect.poll(() => loop.getAttribute('data-looping'), { timeout: 5_000 }).toBe('0');
    const free = await recordTake(page, takes, 5);
    await page.close();
    // a bar is 96,000 samples at 48 kHz and 120 BPM: looped, each bar of the take is the one before it. Three windows of
    // half a second, each compared with the audio one bar later; the lag may move by up to 0.1 s, so that a dropout on a
    // loaded machine (the output fades out and back in) shifts the take without failing the test, and the median window counts
    const bar = 96_000;
    const window = 24_000;
    const change = (x: Float32Array, from: number) => {
      let best = Infinity;
      for (let lag = bar - 4_800; lag <= bar + 4_800; lag++) {
        let d = 0;
        let e = 0;
        for (let i = from; i < from + window; i += 2) {
          d += (x[i + lag] - x[i]) ** 2;
          e += x[i] ** 2;
        }
        best = Math.min(best, Math.sqrt(d / e));
      }
      return best;
    };
    const windows = (x: Float32Array) => [24_000, 48_000, 72_000].map((from) => change(x, from));
    const median = (w: number[]) => [...w].sort((p, q) => p - q)[1];
    expect(looped.length).toBeGreaterThan(72_000 + window + bar + 4_800);
    const [l, f] = [windows(looped), windows(free)];
    expect(median(l), `looped windows ${l.map((v) => v.toFixed(3))}`).toBeLessThan(0.05);
    expect(median(f), `free windows ${f.map((v) => v.toFixed(3))}`).toBeGreaterThan(0.1);
  }, 60_000);

  it('two pages agree, a reload keeps the state, and the screenshots are written', async () => {
    const a = await browser.newPage();
    const b = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await a.goto(url);
    await b.goto(url);
    await expect.poll(() => b.getByTestId('connection').getAttribute('data-state'), { timeout: 10_000 }).toBe('open');
    await fader(a, 'bass').focus();
    await a.keyboard.press('PageUp');
    await a.keyboard.press('PageUp');
    await expect.poll(() => valueOf(b, 'bass'), { timeout: 5_000 }).toBe(0.5);
    await b.reload();
    await expect.poll(() => valueOf(b, 'bass'), { timeout: 5_000 }).toBe(0.5);
    const shots = process.env.SMITIN_SCREENSHOTS ?? join(cwd, 'screenshots');
    mkdirSync(shots, { recursive: true });
    await a.setViewportSize({ width: 1280, height: 800 });
    await a.waitForTimeout(500);
    await a.screenshot({ path: join(shots, 'web-desktop.png') });
    await b.screenshot({ path: join(shots, 'web-phone.png'), fullPage: true });
    expect(readdirSync(shots)).toEqual(expect.arrayContaining(['web-desktop.png', 'web-phone.png']));
    await a.close();
    await b.close();
  }, 60_000);

  it('a page whose engine restarts says so and reconnects by itself', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await expect.poll(() => page.getByTestId('connection').getAttribute('data-state'), { timeout: 10_000 }).toBe('open');
    await stopLive(live);
    await expect.poll(() => page.getByTestId('connection').getAttribute('data-state'), { timeout: 5_000 }).toBe('closed');
    await expect.poll(() => page.getByTestId('connection').textContent()).toMatch(/reconnecting/i);
    ({ live } = await startLive(['--prompt', 'ballad calm', '--takes', takes, '--web-port', String(port)], cwd));
    await expect.poll(() => page.getByTestId('connection').getAttribute('data-state'), { timeout: 15_000 }).toBe('open');
    // the new engine's state, not the old page's: its prompt
    await expect.poll(() => page.getByTestId('prompt-current').textContent(), { timeout: 5_000 }).toMatch(/ballad calm/);
    await page.close();
  }, 90_000);

  it('a surface opened to the LAN refuses a client without its token', async () => {
    const lan = await startLive(['--web-host', '0.0.0.0', '--web-port', '0', '--osc-port', '0', '--takes', join(cwd, 'lan-takes')], cwd).catch((e) => e as Error);
    if (lan instanceof Error) throw lan;
    try {
      const withToken = new URL(lan.url);
      const bare = `http://127.0.0.1:${withToken.port}/`;
      expect((await fetch(bare)).status).toBe(401);
      const page = await browser.newPage();
      await page.goto(bare);
      expect(await page.locator('body').textContent()).toContain('no token');
      await page.goto(`http://127.0.0.1:${withToken.port}/${withToken.search}`);
      await expect.poll(() => page.getByTestId('connection').getAttribute('data-state'), { timeout: 10_000 }).toBe('open');
      await page.close();
    } finally {
      await stopLive(lan.live);
    }
  }, 60_000);
});
