import { get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Subject } from 'rxjs';
import WebSocket from 'ws';
import { IssueLog } from '../../src/control/issues.js';
import { openOscIntake, parsePacket, type OscIntake, type OscMessage } from '../../src/control/osc-intake.js';
import { OSC } from '../../src/control/osc-source.js';
import type { Telemetry } from '../../src/protocol.js';
import { openWebSurface, type WebSurface } from '../../src/web/web-surface.js';

const FEATURES = ['drums', 'bass'];

function telemetry(over: Partial<Telemetry> = {}): Telemetry {
  return {
    time: 1,
    playing: true,
    tempo: 120,
    prompt: 'funk happy',
    features: FEATURES.map((name) => ({ name, strength: name === 'drums' ? 0.5 : 0, monitor: 0.25, gain: 1 })),
    realtimeFactor: 2,
    stepMs: 3,
    ringMs: 100,
    underruns: 0,
    deviceLatencyMs: 10,
    controlLatencyMs: NaN,
    recording: false,
    ...over,
  };
}

let surface: WebSurface | null = null;
let intake: OscIntake | null = null;
const sockets: WebSocket[] = [];
afterEach(async () => {
  sockets.splice(0).forEach((s) => s.terminate());
  await surface?.close();
  intake?.close();
  surface = null;
});

async function open(token: string | null = null) {
  const issues = new IssueLog();
  intake = openOscIntake({ features: FEATURES, issues });
  const telemetry$ = new Subject<Telemetry>();
  surface = await openWebSurface({
    host: '127.0.0.1',
    port: 0,
    token,
    intake,
    issues,
    state: () => ({ features: FEATURES, knownWords: ['funk', 'happy'], presetNames: ['generic-8-knob'], learning: null, loopBars: 4 }),
    telemetry$,
    hz: 100,
  });
  return { issues, intake, telemetry$, base: `127.0.0.1:${surface.port}` };
}

/** A WebSocket client that keeps every OSC message it is sent, bundles flattened. */
async function client(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  sockets.push(ws);
  const got: OscMessage[] = [];
  ws.on('message', (data: Buffer) => got.push(...parsePacket(new Uint8Array(data))));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, got };
}

/** The HTTP status a WebSocket upgrade is refused with. */
function refusedWith(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    sockets.push(ws);
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => reject(new Error('the WebSocket was let in')));
    ws.once('error', () => undefined);
  });
}

async function until(check: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return check();
}

const pack = (address: string, ...args: (number | string)[]) => Buffer.from(new OSC.Message(address, ...args).pack());

describe('web surface', () => {
  it('serves the page and osc-js from memory, and nothing else', async () => {
    const { base } = await open();
    const page = await fetch(`http://${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('/app.js');
    for (const path of ['/app.js', '/style.css', '/osc.js']) expect((await fetch(`http://${base}${path}`)).status, path).toBe(200);
    for (const path of ['/package.json', '/src/web/page/app.js', '/%2e%2e/package.json', '/ws']) expect((await fetch(`http://${base}${path}`)).status, path).toBe(404);
    expect((await fetch(`http://${base}/`, { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('tells a client the whole state on connect, telemetry after it, and again on /smitin/state', async () => {
    const { telemetry$, base } = await open();
    const { ws, got } = await client(`ws://${base}/ws`);
    expect(await until(() => got.some((m) => m.address === '/smitin/learning'))).toBe(true);
    const find = (a: string) => got.find((m) => m.address === a);
    expect(find('/smitin/features')?.args).toEqual(FEATURES);
    expect(find('/smitin/known-words')?.args).toEqual(['funk happy']);
    expect(find('/smitin/preset-names')?.args).toEqual(['generic-8-knob']);
    expect(find('/smitin/range/strength')?.args).toEqual([-1, 1]);
    telemetry$.next(telemetry());
    expect(await until(() => got.some((m) => m.address === '/smitin/strength/drums'))).toBe(true);
    expect(find('/smitin/strength/drums')?.args[0]).toBeCloseTo(0.5);
    expect(find('/smitin/prompt-text')?.args).toEqual(['funk happy']);
    got.length = 0;
    ws.send(pack('/smitin/state'));
    // the state again, with the latest telemetry in the same bundle
    expect(await until(() => got.some((m) => m.address === '/smitin/features') && got.some((m) => m.address === '/smitin/strength/drums'))).toBe(true);
  });

  it("hands a page's OSC packets to the intake with the page as sender; a text frame is counted, not applied", async () => {
    const { issues, intake, base } = await open();
    const seen: OscMessage[] = [];
    intake.messages$.subscribe((m) => seen.push(m));
    const { ws } = await client(`ws://${base}/ws`);
    ws.send(pack('/smitin/feature/drums', 0.75));
    expect(await until(() => seen.length > 0)).toBe(true);
    expect(seen[0]).toMatchObject({ address: '/smitin/feature/drums', from: expect.stringMatching(/^ws:/) });
    expect(seen[0].args[0]).toBeCloseTo(0.75);
    ws.send('/smitin/feature/drums 1');
    ws.send(Buffer.from('not osc at all'));
    expect(await until(() => (issues.snapshot()['web/text-frame'] ?? 0) === 1 && (issues.snapshot()['osc/malformed'] ?? 0) === 1)).toBe(true);
    expect(seen).toHaveLength(1);
  });

  it("obeys OSC's flood rules: a page's storm of prompts keeps the latest, the excess is counted as osc/flood", async () => {
    const { issues, intake, base } = await open();
    const prompts: string[] = [];
    intake.messages$.subscribe((m) => m.address === '/smitin/prompt' && prompts.push(m.args[0] as string));
    const { ws } = await client(`ws://${base}/ws`);
    for (let i = 0; i < 500; i++) ws.send(pack('/smitin/prompt', `prompt ${i}`));
    expect(await until(() => prompts.at(-1) === 'prompt 499', 5000)).toBe(true);
    expect(issues.snapshot()['osc/flood']).toBeGreaterThan(0);
    // the sender's rate (50 a second, a burst of 50) and its queue of 32 bound what gets through
    expect(prompts.length).toBeLessThan(150);
  });

  it("refuses a page of another site and a name that is not this machine's", async () => {
    const { base } = await open();
    expect(await refusedWith(`ws://${base}/ws`, { Origin: 'http://evil.example' })).toBe(403);
    // DNS rebinding: the browser thinks it talks to evil.example
    const rebound = await new Promise<number>((resolve, reject) =>
      get({ host: '127.0.0.1', port: surface!.port, path: '/', headers: { Host: `evil.example:${surface!.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject),
    );
    expect(rebound).toBe(403);
    await client(`ws://${base}/ws`, { Origin: `http://${base}` });
  });

  it('with a token, refuses every client without it and lets the page in with it (cookie for its assets)', async () => {
    const { base } = await open('s3cret-token');
    expect(surface!.urls).toEqual([`http://${base}/?token=s3cret-token`]);
    expect((await fetch(`http://${base}/`)).status).toBe(401);
    expect((await fetch(`http://${base}/app.js`)).status).toBe(401);
    expect((await fetch(`http://${base}/?token=wrong`)).status).toBe(403);
    const page = await fetch(`http://${base}/?token=s3cret-token`);
    expect(page.status).toBe(200);
    const cookie = page.headers.get('set-cookie')!.split(';')[0];
    expect(cookie).toBe('smitin_token=s3cret-token');
    expect((await fetch(`http://${base}/app.js`, { headers: { cookie } })).status).toBe(200);
    expect(await refusedWith(`ws://${base}/ws`)).toBe(401);
    expect(await refusedWith(`ws://${base}/ws?token=nope`)).toBe(403);
    await client(`ws://${base}/ws?token=s3cret-token`);
    await client(`ws://${base}/ws`, { cookie });
  });

  it('says which port is taken and what to do', async () => {
    const { issues, intake, telemetry$ } = await open();
    const second = openWebSurface({ host: '127.0.0.1', port: surface!.port, token: null, intake, issues, state: () => ({ features: [], knownWords: null, presetNames: [], learning: null, loopBars: 4 }), telemetry$, hz: 10 });
    await expect(second).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${surface!.port} \\(EADDRINUSE\\).*--web-port`));
    await expect(openWebSurface({ host: '0.0.0.0', port: 0, token: null, intake, issues, state: () => ({ features: [], knownWords: null, presetNames: [], learning: null, loopBars: 4 }), telemetry$, hz: 10 })).rejects.toThrow(/token/);
  });
});
