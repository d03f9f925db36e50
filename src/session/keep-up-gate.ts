/**
 * The keep-up check at the start of a live session, before the audio
 * device opens: the engine's worker has loaded the model and timed it
 * (engine/keep-up-timing.ts, quick); here the figures are judged against
 * the session's ring. A model that cannot keep up is refused (UsageError,
 * exit 2) with the figures and the settings that would help, or, with
 * --force, plays: the deficit is said and goes into telemetry.
 */
import { adviceContext, describeRun, keepUpReport, type KeepUpReport } from '../engine/keep-up-context.js';
import { reportLines, verdictLine } from '../engine/keep-up.js';
import type { LiveEngine } from '../engine/live-engine.js';
import { formatDtypes, type ModelSpec } from '../model/musicgen/index.js';
import { UsageError } from '../util/errors.js';
import { quoted } from '../util/printable.js';

export interface KeepUpGateConfig {
  modelDir: string;
  latencyMs: number;
  tempo: number;
  force: boolean;
}

/** The report of the engine's check (null when it ran none); throws when the model cannot keep up and force is off. */
export function keepUpGate(engine: LiveEngine, spec: ModelSpec, config: KeepUpGateConfig, say: (message: string) => void): KeepUpReport | null {
  const figures = engine.keepUp;
  if (!figures || !engine.loaded) return null;
  const ran = { ep: engine.loaded.ep, threads: engine.loaded.threads };
  const report = keepUpReport(figures, config.latencyMs, adviceContext(spec, ran, config.tempo));
  const took = `checked in ${(figures.ms / 1000).toFixed(1)} s`;
  if (report.verdict.keepsUp) {
    say(`check: ${verdictLine(report.verdict)}; ${took}`);
    return report;
  }
  const model = quoted(config.modelDir, 80);
  for (const line of reportLines(model, describeRun(formatDtypes(spec.dtype), ran), report)) say(`check: ${line}`);
  if (!config.force) {
    throw new UsageError(`this machine cannot play ${model} live at these settings (${took}; smitin check measures more): ${verdictLine(report.verdict)}; --force plays anyway`);
  }
  say('check: --force: playing anyway; expect underruns (the status view, the web page and OSC /smitin/deficit show the deficit)');
  return report;
}
