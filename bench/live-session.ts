/** `smitin live` at its command-line defaults, started in-process on the real-time null sink: what the stage benches measure. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveCommand } from '../src/cli/commands/live.js';
import { planLive, sessionConfig, type LiveCliOptions } from '../src/cli/live-plan.js';
import { LiveSession, type LiveSessionConfig } from '../src/session/live-session.js';

/** `smitin live`'s configuration at its command-line defaults (commander fills them in before parsing): the benches measure what a user starts. */
export function benchConfig(options: Partial<LiveCliOptions> = {}): LiveSessionConfig {
  const defaults = liveCommand().opts() as LiveCliOptions;
  return sessionConfig(planLive({ ...defaults, oscPort: 0, webPort: 0, takes: mkdtempSync(join(tmpdir(), 'smitin-bench-takes-')), ...options }));
}

export async function startBenchSession(options: Partial<LiveCliOptions> = {}, say = (m: string) => process.stderr.write(`${m}\n`)): Promise<LiveSession> {
  const config = benchConfig(options);
  return LiveSession.start({ ...config, output: { ...config.output, nullSinkReason: 'the benchmark plays on the real-time null sink' } }, say);
}
