/**
 * What the keep-up advice may point at (the folder's int8 files, this
 * machine's cores and onnxruntime's providers here), and the report that
 * judges measured figures against a ring: the part of the keep-up check
 * that reads the machine, apart from the pure verdict (keep-up.ts).
 */
import { availableParallelism } from 'node:os';
import { codecTraits } from '../model/codec/traits.js';
import type { DtypeChoice } from '../model/musicgen/dtype.js';
import { readModelFolder } from '../model/families.js';
import type { ModelSpec } from '../model/musicgen/folder.js';
import { isExecutionProvider, ort } from '../model/onnx/session.js';
import { judgeKeepUp, keepUpAdvice, type AdviceContext, type KeepUpFigures, type KeepUpVerdict } from './keep-up.js';

export interface KeepUpReport {
  figures: KeepUpFigures;
  verdict: KeepUpVerdict;
  advice: string[];
}

/**
 * Providers this onnxruntime-node can start as installed: the bundled ones we
 * know how to ask for. CUDA and TensorRT are listed unbundled: they need
 * files the package's install script downloads (README, Install notes).
 */
function readyProviders(): string[] {
  try {
    return ort.listSupportedBackends().filter((b) => b.bundled && isExecutionProvider(b.name)).map((b) => b.name);
  } catch {
    return ['cpu'];
  }
}

/** Whether the folder has every file `dtype` loads (the contract's own check, without opening a session). */
function hasDtype(dir: string, dtype: DtypeChoice): boolean {
  try {
    readModelFolder(dir, dtype);
    return true;
  } catch {
    return false;
  }
}

/** What the advice may point at: the folder's other files, this machine's cores and providers. */
export function adviceContext(spec: ModelSpec, ran: { ep: string; threads: number | null }, tempo: number): AdviceContext {
  return {
    decoderDtype: spec.dtype.decoder,
    hasQ8: hasDtype(spec.dir, { ...spec.dtype, decoder: 'q8' }),
    ep: ran.ep,
    providers: readyProviders(),
    threads: ran.threads,
    cores: availableParallelism(),
    tempo: codecTraits(spec.codec).followsTempo ? tempo : null,
  };
}

/** "fp32, cpu, 1 thread": how the model ran. */
export function describeRun(dtype: string, ran: { ep: string; threads: number | null }): string {
  return `${dtype}, ${ran.ep}, ${ran.threads ?? "onnxruntime's"} thread${ran.threads === 1 ? '' : 's'}`;
}

export function keepUpReport(figures: KeepUpFigures, latencyMs: number, context: AdviceContext): KeepUpReport {
  const verdict = judgeKeepUp(figures, latencyMs);
  return { figures, verdict, advice: keepUpAdvice(figures, verdict, context) };
}
