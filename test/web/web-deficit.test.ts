/**
 * The start-up check's deficit on the page (`smitin live --force` on a
 * machine that cannot keep up), in a real browser against the real web
 * surface. Telemetry comes from a Subject instead of an engine: a machine
 * that is too slow cannot be ordered, and the page only reads what the
 * server sends.
 */
import type { Browser, Page } from 'playwright-core';
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deficitLine } from '../../src/cli/status-view.js';
import { IssueLog } from '../../src/control/issues.js';
import { openOscIntake, type OscIntake } from '../../src/control/osc-intake.js';
import type { Telemetry } from '../../src/protocol.js';
import { openWebSurface, type WebSurface } from '../../src/web/web-surface.js';
import { chromiumMissing, launchChromium } from '../helpers/browser.js';

const missing = chromiumMissing();
if (missing && process.env.CI) throw new Error(missing);

const FEATURES = ['drums', 'bass'];
type Deficit = NonNullable<Telemetry['deficit']>;
const SLOW: Deficit = { multiple: 0.42, gapMs: 8000, latencyMs: 100, reason: 'slow' };
const RING: Deficit = { multiple: 3.1, gapMs: 149.6, latencyMs: 10, reason: 'ring' };

function telemetry(over: Partial<Telemetry> = {}): Telemetry {
  return {
    time: 1,
    playing: true,
    tempo: 120,
    prompt: 'funk',
    features: FEATURES.map((name) => ({ name, strength: 0, monitor: 0.25, gain: 1 })),
    realtimeFactor: 0.42,
    stepMs: 3,
    ringMs: 100,
    underruns: 7,
    deviceLatencyMs: 10,
    controlLatencyMs: NaN,
    recording: false,
    ...over,
  };
}

describe.skipIf(missing)('the page shows the check\'s deficit', () => {
  let browser: Browser;
  let surface: WebSurface;
  let intake: OscIntake;
  const telemetry$ = new Subject<Telemetry>();

  beforeAll(async () => {
    const issues = new IssueLog();
    intake = openOscIntake({ features: FEATURES, issues });
    surface = await openWebSurface({
      host: '127.0.0.1',
      port: 0,
      token: null,
      intake,
      issues,
      state: () => ({ features: FEATURES, knownWords: ['funk'], presetNames: [], learning: null, loopBars: 4 }),
      telemetry$,
      hz: 100,
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await surface?.close();
    intake?.close();
  });

  async function open(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(surface.urls[0]);
    await expect.poll(() => page.getByTestId('connection').getAttribute('data-state'), { timeout: 10_000 }).toBe('open');
    return { page, errors };
  }

  const box = (page: Page) => page.getByTestId('deficit');
  /** Sends a report and waits until the page has it (the underruns figure changes with every report). */
  async function report(page: Page, t: Telemetry): Promise<void> {
    telemetry$.next(t);
    await expect.poll(() => page.locator('#stat-underruns').textContent(), { timeout: 5_000 }).toBe(String(t.underruns));
  }

  it('shows the multiple, the gap, the ring and why, in the status view\'s words, and hides them when a report has none', async () => {
    const { page, errors } = await open();
    await report(page, telemetry({ underruns: 1 }));
    expect(await box(page).isHidden()).toBe(true);

    await report(page, telemetry({ underruns: 2, deficit: SLOW }));
    await expect.poll(() => box(page).isVisible(), { timeout: 5_000 }).toBe(true);
    expect(await box(page).getAttribute('data-multiple')).toBe('0.42');
    expect(await box(page).getAttribute('data-reason')).toBe('slow');
    expect(await page.locator('#deficit-line').textContent()).toBe(deficitLine(SLOW));
    expect(await page.locator('#deficit-detail').textContent()).toBe(
      'this machine runs the model at x0.42 real time and writes audio every 8000 ms into a 100 ms ring: expect dropouts (played with --force)',
    );

    await report(page, telemetry({ underruns: 3 }));
    await expect.poll(() => box(page).isHidden(), { timeout: 5_000 }).toBe(true);
    expect(await box(page).getAttribute('data-multiple')).toBeNull();

    // fast enough but the ring is shorter than the gap between writes: the status view names the ring
    await report(page, telemetry({ underruns: 4, deficit: RING }));
    await expect.poll(() => box(page).isVisible(), { timeout: 5_000 }).toBe(true);
    // float32 over OSC: 149.6 and 3.1 arrive a hair off, and must still read as the status view's figures
    expect(await page.locator('#deficit-line').textContent()).toBe(deficitLine(RING));
    expect(await box(page).getAttribute('data-multiple')).toBe('3.10');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a page that connects while the deficit stands is shown it at once (the state snapshot carries the last report)', async () => {
    telemetry$.next(telemetry({ underruns: 6, deficit: RING }));
    await new Promise((r) => setTimeout(r, 50)); // past the surface's 10 ms throttle: this report is its latest
    const { page, errors } = await open();
    await expect.poll(() => box(page).isVisible(), { timeout: 5_000 }).toBe(true);
    expect(await page.locator('#deficit-line').textContent()).toBe(deficitLine(RING));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a reason from outside is never read as HTML', async () => {
    const { page, errors } = await open();
    const reason = '<img src=x onerror="window.pwned=1"><b>loud</b>' as Deficit['reason'];
    await report(page, telemetry({ underruns: 5, deficit: { ...RING, reason } }));
    await expect.poll(() => box(page).getAttribute('data-reason'), { timeout: 5_000 }).toBe(reason);
    expect(await box(page).locator('img, b').count()).toBe(0);
    // the test's tsconfig has no DOM types: globalThis is the page's window there
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    expect(errors).toEqual([]);
    await page.close();
  });
});
