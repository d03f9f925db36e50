/** `smitin live` as a user runs it, in a child process, with the UDP helpers the tests around it need. */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { OSC, parsePacket } from '../../src/control/osc-source.js';
import { BIN, tempDir } from './cli.js';

export { freeUdpPort as freePort } from '../../bench/free-port.js';

export interface OscListener {
  port: number;
  got: { address: string; args: unknown[] }[];
  close: () => void;
}

/** A UDP listener on loopback that keeps every OSC message it receives (telemetry). */
export async function listen(): Promise<OscListener> {
  const socket = dgram.createSocket('udp4');
  const got: { address: string; args: unknown[] }[] = [];
  socket.on('message', (data) => {
    try {
      got.push(...parsePacket(data));
    } catch {
      // not OSC: not ours to judge here
    }
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { port: socket.address().port, got, close: () => socket.close() };
}

/**
 * `smitin live --osc-port ...args` in a child process; stdout and stderr are
 * collected. It runs in a fresh folder (`cwd`), so its default takes folder
 * (./takes, created at start) lands there and not in the repository.
 */
export function runLive(args: string[], env: NodeJS.ProcessEnv = {}, cwd = tempDir('smitin-live-')) {
  const child = spawn(process.execPath, [BIN, 'live', '--web-port', '0', '--osc-port', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // without --json, notes go above the status view on stdout; with it, to stderr: `printed` is both
  return { child, exited, cwd, out: () => stdout, err: () => stderr, printed: () => stdout + stderr };
}

/** The last JSON line of `smitin live --json`'s stdout (PortAudio's binding may print its own lines from C). */
export function summaryOf(stdout: string): Record<string, any> {
  const line = stdout.split('\n').filter((l) => l.startsWith('{')).at(-1);
  if (!line) throw new Error(`no JSON summary in: ${stdout.slice(-500)}`);
  return JSON.parse(line);
}

export async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** One OSC message as a UDP payload. */
export function oscPacket(address: string, ...args: (number | string)[]): Buffer {
  return Buffer.from(new OSC.Message(address, ...args).pack());
}
