/**
 * A JACK dummy server as a real-time sound card for tests: jackd's dummy
 * driver runs the JACK graph on the wall clock, jack_rec records its input
 * ports to a WAV, and an ALSA PCM `jackout` (ALSA's jack plugin, defined in
 * a temporary $HOME/.asoundrc) plays into jack_rec's inputs, so PortAudio
 * sees an ordinary output device that plays at the real-time pace.
 *
 * Each session gets its own server name (jackd -n, JACK_DEFAULT_SERVER for
 * the clients), so test files running in parallel never share a server.
 * Everything started here is stopped by the pid it was started with: in
 * stop(), and with SIGKILL if the test process exits first.
 *
 * PortAudio and libjack read HOME and JACK_DEFAULT_SERVER from the process
 * environment when a stream is opened: run the player with `session.env`
 * (a child process), or assign it to process.env in a test file of its own
 * (vitest's default pool runs each file in its own process).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const JACK_RATE = 48_000;
/** JACK period, frames (5.3 ms at 48 kHz). */
export const JACK_PERIOD = 256;
/** The PCM name the sessions define; PortAudio lists it as an output device. */
export const JACK_PCM = 'jackout';

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

function alsaJackPlugin(): boolean {
  const dirs = ['/usr/lib/x86_64-linux-gnu/alsa-lib', '/usr/lib/aarch64-linux-gnu/alsa-lib', '/usr/lib/alsa-lib', '/usr/lib64/alsa-lib'];
  return dirs.some((d) => existsSync(join(d, 'libasound_module_pcm_jack.so')));
}

/** Why JACK tests cannot run here (null when they can). */
export function jackUnavailableReason(): string | null {
  const missing = ['jackd', 'jack_rec', 'jack_wait', 'jack_lsp'].filter((c) => !onPath(c));
  if (missing.length > 0) return `${missing.join(', ')} not on PATH (apt-get install jackd2; .ci/run installs it)`;
  if (!alsaJackPlugin()) return 'the ALSA jack plugin is missing (apt-get install libasound2-plugins; .ci/run installs it)';
  return null;
}

/**
 * Whether this process may use SCHED_FIFO (root, or an rtprio limit): then jackd runs realtime, and so do its clients' process threads.
 * SMITIN_TEST_JACK_REALTIME=0 runs the graph without it, as on a CI machine that has no rtprio (xruns under load: how the tests' tolerance is tried).
 */
export function realtimeAllowed(): boolean {
  if (process.env.SMITIN_TEST_JACK_REALTIME === '0') return false;
  return spawnSync('chrt', ['-f', '1', 'true']).status === 0;
}

const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) if (child.exitCode === null && child.pid) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
  started.delete(child);
}

/** Frames in a 32-bit WAV of `channels` being written (the header counts as nothing). */
function fileFrames(file: string, channels: number): number {
  try {
    return Math.max(0, statSync(file).size - 44) / (4 * channels);
  } catch {
    return 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * jack_rec's ring between its process thread and its disk thread, frames.
 * The disk thread writes one frame per call and runs at normal priority: on
 * a loaded machine it can fall seconds behind, and jack_rec's default
 * (16384 frames, 0.34 s) then overruns, which drops single samples and
 * shifts the channel interleaving of everything after: the recorder, not
 * the player, would corrupt the recording.
 */
export const RECORDER_BUFFER_FRAMES = 16 * JACK_RATE;

export interface JackRecording {
  /** The WAV jack_rec writes (32-bit integer PCM, 2 channels). */
  file: string;
  /** performance.now() when jack_rec's ports existed: it records from about then, one frame per frame of the server's (wall) clock. */
  startedAt: number;
  /** Resolves when jack_rec has finished its duration and closed the file. */
  done: Promise<void>;
  /**
   * Ends the recording early, once the file holds everything up to the
   * performance.now() time `covering` (or after `timeoutMs`). jack_rec
   * exits on SIGTERM without finalising the WAV header: read the file with
   * readJackRecording.
   */
  stop(covering?: number, timeoutMs?: number): Promise<void>;
}

/**
 * Reads a jack_rec WAV (integer PCM or float), also one whose header was
 * never finalised (jack_rec stopped by a signal writes data size 0): the
 * data then runs to the end of the file, in whole frames.
 */
export function readJackRecording(file: string): { sampleRate: number; channels: Float32Array[] } {
  const b = readFileSync(file);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file}: not a WAV file`);
  let at = 12;
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | null = null;
  while (at + 8 <= b.length) {
    const id = b.toString('ascii', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      fmt = { format: b.readUInt16LE(body), channels: b.readUInt16LE(body + 2), sampleRate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt) throw new Error(`${file}: data before fmt`);
      const frameBytes = (fmt.channels * fmt.bits) / 8;
      const available = b.length - body;
      const bytes = size > 0 && size <= available ? size : available;
      const frames = Math.floor(bytes / frameBytes);
      const channels = Array.from({ length: fmt.channels }, () => new Float32Array(frames));
      const { format, bits } = fmt;
      const read =
        format === 3 && bits === 32
          ? (o: number) => b.readFloatLE(o)
          : format === 1 && bits === 32
            ? (o: number) => b.readInt32LE(o) / 2 ** 31
            : format === 1 && bits === 16
              ? (o: number) => b.readInt16LE(o) / 2 ** 15
              : null;
      if (!read) throw new Error(`${file}: unsupported sample format ${format}/${bits} bits`);
      for (let f = 0; f < frames; f++) for (let c = 0; c < fmt.channels; c++) channels[c][f] = read(body + f * frameBytes + (c * bits) / 8);
      return { sampleRate: fmt.sampleRate, channels };
    }
    at = body + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

/** Lines of a jackd log that report an xrun (a client late for its cycle, or the graph's own). */
export function jackXruns(log: string): string[] {
  return log.split('\n').filter((l) => /xrun|was not finished|process error/i.test(l));
}

/** The clients a jackd log names as late for a cycle ("JackEngine::XRun: client = NAME was not finished"), once per report. */
export function jackLateClients(log: string): string[] {
  return [...log.matchAll(/client = (\S+) was not finished/g)].map((m) => m[1]);
}

/** The tests' own ALSA device: PortAudio's `jackout` plays into jack_rec's inputs (as many as `ports`). */
export function jackPcm(ports = 2): string {
  const list = Array.from({ length: ports }, (_, i) => `${i} jackrec:input${i + 1}`).join('  ');
  return `pcm.${JACK_PCM} { type plug  slave { pcm { type jack  playback_ports { ${list} } } } }\n`;
}

export class JackSession {
  /** Environment for processes that use this server and PCM: HOME (the .asoundrc) and JACK_DEFAULT_SERVER. */
  readonly env: Record<string, string>;
  private readonly children: ChildProcess[] = [];
  private recordings = 0;

  private constructor(
    readonly server: string,
    readonly dir: string,
    private readonly jackd: ChildProcess,
  ) {
    this.env = { HOME: join(dir, 'home'), JACK_DEFAULT_SERVER: server };
    this.children.push(jackd);
  }

  /** Starts `jackd --no-realtime -d dummy` under a unique name and waits until it answers. */
  /** `ports`: the dummy driver's playback and capture ports (default 2 each), and the inputs `jackout` plays into. */
  static async start(opts: { rate?: number; period?: number; realtime?: boolean; ports?: number } = {}): Promise<JackSession> {
    const ports = opts.ports ?? 2;
    const reason = jackUnavailableReason();
    if (reason) throw new Error(`JACK unavailable: ${reason}`);
    const dir = mkdtempSync(join(tmpdir(), 'smitin-jack-'));
    const realtime = opts.realtime ?? realtimeAllowed();
    const server = `smitin-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const log = openSync(join(dir, 'jackd.log'), 'w');
    const jackd = spawn(
      'jackd',
      ['-n', server, realtime ? '--realtime' : '--no-realtime', '-d', 'dummy', '-r', String(opts.rate ?? JACK_RATE), '-p', String(opts.period ?? JACK_PERIOD), '-P', String(ports), '-C', String(ports)],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    started.add(jackd);
    const session = new JackSession(server, dir, jackd);
    const home = session.env.HOME;
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, '.asoundrc'), jackPcm(ports));
    const wait = spawnSync('jack_wait', ['-s', server, '-w', '-t', '10'], { encoding: 'utf8', env: { ...process.env, ...session.env } });
    if (wait.status !== 0 || jackd.exitCode !== null) {
      await session.stop();
      throw new Error(`jackd did not start: ${wait.stdout}${wait.stderr}\n${readFileSync(join(dir, 'jackd.log'), 'utf8')}`);
    }
    return session;
  }

  /** Ports the server has now. */
  ports(): string[] {
    const r = spawnSync('jack_lsp', ['-s', this.server], { encoding: 'utf8', env: { ...process.env, ...this.env } });
    return r.stdout.split('\n').filter(Boolean);
  }

  /**
   * Starts jack_rec for `seconds` (of the server's clock) on `channels`
   * inputs (jackrec:input1..n, connected to the dummy capture ports, which
   * are silent) and waits until its ports exist, so `jackout` can connect.
   * A player's start-up time is unknown on a loaded machine: give a long
   * duration and end it with `stop()` once the player is done.
   */
  async record(seconds: number, file = join(this.dir, `jack_rec-${this.recordings + 1}.wav`), channels = 2): Promise<JackRecording> {
    const logPath = join(this.dir, `jack_rec-${++this.recordings}.log`);
    const log = openSync(logPath, 'w');
    const captures = Array.from({ length: channels }, (_, i) => `system:capture_${i + 1}`);
    const rec = spawn('jack_rec', ['-f', file, '-d', String(seconds), '-b', '32', '-B', String(RECORDER_BUFFER_FRAMES), ...captures], {
      stdio: ['ignore', log, log],
      env: { ...process.env, ...this.env },
    });
    closeSync(log);
    started.add(rec);
    this.children.push(rec);
    let stopping = false;
    let startedAt = 0;
    const stop = async (covering = performance.now(), timeoutMs = 15_000): Promise<void> => {
      // the disk thread lags the server's clock; wait until the file holds the moment asked for (8 bytes a frame)
      const until = performance.now() + timeoutMs;
      const wanted = ((covering - startedAt) / 1000) * JACK_RATE;
      while (performance.now() < until && rec.exitCode === null && fileFrames(file, channels) < wanted) await sleep(50);
      stopping = true;
      await stopChild(rec);
    };
    const done = exited(rec).then((code) => {
      started.delete(rec);
      if (code !== 0 && !stopping) throw new Error(`jack_rec exited with ${code}: ${readFileSync(logPath, 'utf8')}`);
    });
    done.catch(() => undefined);
    for (let i = 0; i < 100; i++) {
      const ports = this.ports();
      if (ports.includes('jackrec:input1') && ports.includes(`jackrec:input${channels}`)) {
        startedAt = performance.now();
        return { file, startedAt, done, stop };
      }
      if (rec.exitCode !== null) break;
      await sleep(50);
    }
    await stopChild(rec);
    throw new Error(`jack_rec did not register its ports: ${readFileSync(logPath, 'utf8')}`);
  }

  /** Stops what this session started (recorders first, then jackd), by pid; removes the temp dir unless `keep`. */
  async stop(keep = false): Promise<void> {
    for (const child of this.children.slice().reverse()) await stopChild(child);
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The jackd log, for failure messages. */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'jackd.log'), 'utf8');
    } catch {
      return '';
    }
  }
}
