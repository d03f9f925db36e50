/** `smitin live`'s web surface options, as a user meets them: a taken port or a bad address is exit 2 before any audio, --no-web leaves the page out. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { smitin } from '../helpers/cli.js';
import { MODEL_DIR, SHIPPED_MODEL } from '../helpers/model.js';

describe.skipIf(MODEL_DIR !== SHIPPED_MODEL)('smitin live --web-*', () => {
  it('a web port in use is exit 2 before any audio, naming the port and what to do', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = smitin(['live', '--osc-port', '0', '--web-port', String(port), '--duration', '1', '--json']);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`127.0.0.1:${port} (EADDRINUSE)`);
      expect(r.stderr).toContain('--web-port');
      expect(r.stderr).not.toMatch(/^audio:/m);
    } finally {
      taken.close();
    }
  }, 60_000);

  it('a port out of range is refused by the command line; --no-web plays without the page', () => {
    const bad = smitin(['live', '--web-port', '70000']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('web-port');
    const none = smitin(['live', '--osc-port', '0', '--no-web', '--duration', '1', '--json']);
    expect(none.status).toBe(0);
    expect(none.stderr).not.toContain('web: open');
    const web = smitin(['live', '--osc-port', '0', '--web-port', '0', '--duration', '1', '--json']);
    expect(web.stderr).toMatch(/web: open http:\/\/127\.0\.0\.1:\d+\/ \(this machine only/);
  }, 60_000);
});
