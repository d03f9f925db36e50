/**
 * The one ONNX boundary: every model file is opened and run through here, so
 * that every failure says which file, which tensor and what was expected.
 *
 * Threading model: onnxruntime-node runs a model synchronously on the JS
 * thread that calls run() (the promise only defers the start by one
 * setImmediate). A run therefore blocks its thread for the whole step; the
 * live engine keeps sessions in a generation worker so that MIDI, OSC, UI and
 * audio I/O on the main thread stay responsive. A session is not re-entrant:
 * one run at a time.
 */
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { UsageError } from '../../util/errors.js';

export { ort };

// Every failure is rethrown with its file and tensors; onnxruntime's own log lines would only repeat
// it on stderr (breaking the CLI's one-line errors). SMITIN_DEBUG brings them back.
const ORT_LOG_LEVEL = process.env.SMITIN_DEBUG ? 2 : 4;
if (!process.env.SMITIN_DEBUG) ort.env.logLevel = 'fatal';

/** Execution providers the runtime knows how to ask for, by onnxruntime's names. */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'coreml', 'dml'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export function isExecutionProvider(name: string): name is ExecutionProvider {
  return (EXECUTION_PROVIDERS as readonly string[]).includes(name);
}

/** An ONNX file that cannot be used as given (missing, unreadable, not a model, wrong contract): the user's to fix. */
export class ModelFileError extends UsageError {
  override name = 'ModelFileError';
}

export interface SessionOptions {
  /** Default cpu. */
  ep?: ExecutionProvider;
  /** Threads inside one operator (onnxruntime's intra-op pool); default: onnxruntime's choice (the core count). */
  threads?: number;
}

/** What the graph declares for one input or output. Dimensions are numbers, or names for symbolic ones. */
export interface TensorSpec {
  name: string;
  /** False for a sequence or map: then type and shape say nothing. */
  isTensor: boolean;
  type: ort.Tensor.Type;
  shape: readonly (number | string)[];
}

const MAX_THREADS = 256;

/** The providers this build of onnxruntime-node can start here (cpu always). */
export function availableProviders(): string[] {
  try {
    return ort.listSupportedBackends().map((b) => b.name);
  } catch {
    return ['cpu'];
  }
}

function checkProvider(ep: string): void {
  if (!isExecutionProvider(ep)) {
    throw new UsageError(`--ep must be one of ${EXECUTION_PROVIDERS.join(', ')}, got: ${ep}`);
  }
  if (ep === 'cpu') return;
  const here = availableProviders();
  if (!here.includes(ep)) {
    throw new UsageError(
      `execution provider ${ep} is not available in onnxruntime-node on ${process.platform}-${process.arch} (available here: ${here.join(', ')})`,
    );
  }
}

/** onnxruntime's messages can span lines; the CLI reports errors in one. */
function oneLine(err: unknown): string {
  return String((err as Error)?.message ?? err).replace(/\s*\n\s*/g, ' ').trim();
}

export function describeTensor(name: string, t: ort.Tensor): string {
  return `${name} ${t.type} [${t.dims.join(', ')}]`;
}

function describeSpec(s: TensorSpec): string {
  return `${s.type} [${s.shape.join(', ')}]`;
}

export class OnnxSession {
  private constructor(
    readonly path: string,
    private readonly session: ort.InferenceSession,
    readonly inputs: readonly TensorSpec[],
    readonly outputs: readonly TensorSpec[],
    readonly ep: ExecutionProvider,
  ) {}

  /** Opens `path`; a missing file, a file that is not ONNX or a truncated one is a ModelFileError naming the file. */
  static async create(path: string, options: SessionOptions = {}): Promise<OnnxSession> {
    const ep = options.ep ?? 'cpu';
    checkProvider(ep);
    if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1 || options.threads > MAX_THREADS)) {
      throw new UsageError(`threads must be an integer in [1, ${MAX_THREADS}], got: ${options.threads}`);
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        executionProviders: [ep],
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        // one step is a chain of small ops: a second inter-op pool only adds wake-ups
        interOpNumThreads: 1,
        ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
        logSeverityLevel: ORT_LOG_LEVEL,
      });
    } catch (err) {
      const msg = oneLine(err);
      if (ep !== 'cpu' && /provider|cuda|coreml|dml|\.so|\.dll|dylib/i.test(msg)) {
        // onnxruntime-node ships the CUDA provider as a separate download (its install script, which we skip by default)
        const hint = ep === 'cuda' ? ' (install its files: node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install=cuda12)' : '';
        throw new ModelFileError(`${path}: execution provider ${ep} could not start: ${msg}${hint}`);
      }
      throw new ModelFileError(`${path}: onnxruntime cannot load it (${/doesn't exist|not exist|no such file|ENOENT/i.test(msg) ? 'missing file' : 'not a valid or complete ONNX file'}): ${msg}`);
    }
    const specs = (meta: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] =>
      meta.map((m) =>
        m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false, type: 'string' as const, shape: [] },
      );
    return new OnnxSession(path, session, specs(session.inputMetadata), specs(session.outputMetadata), ep);
  }

  get file(): string {
    return basename(this.path);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  input(name: string): TensorSpec | undefined {
    return this.inputs.find((s) => s.name === name);
  }

  output(name: string): TensorSpec | undefined {
    return this.outputs.find((s) => s.name === name);
  }

  /**
   * Checks that every declared input is fed, with the declared type, rank and
   * fixed dimensions, and that nothing else is fed. Builds no strings unless
   * something is wrong: it runs on every step.
   */
  checkFeeds(feeds: Readonly<Record<string, ort.Tensor>>): void {
    let fed = 0;
    for (const spec of this.inputs) {
      const t = feeds[spec.name];
      if (t === undefined) throw new Error(`${this.path}: input ${spec.name} (${describeSpec(spec)}) is not fed`);
      fed++;
      if (!spec.isTensor) continue;
      let ok = t.type === spec.type && t.dims.length === spec.shape.length;
      for (let i = 0; ok && i < spec.shape.length; i++) {
        const d = spec.shape[i];
        if (typeof d === 'number' && d !== t.dims[i]) ok = false;
      }
      if (!ok) throw new Error(`${this.path}: input ${spec.name} must be ${describeSpec(spec)}, got: ${describeTensor(spec.name, t)}`);
    }
    if (fed !== Object.keys(feeds).length) {
      const extra = Object.keys(feeds).filter((n) => !this.input(n));
      throw new Error(`${this.path}: fed inputs the graph does not have: ${extra.join(', ')} (it has: ${this.inputNames.join(', ')})`);
    }
  }

  /**
   * Runs the graph; a failure is rethrown with the file and every fed tensor's name, type and shape.
   * `outputs` names the outputs to return (default: all). onnxruntime-node copies every returned
   * output out of onnxruntime into a new buffer, so leaving out the ones nobody reads saves that copy.
   */
  async run(feeds: Readonly<Record<string, ort.Tensor>>, outputs?: readonly string[]): Promise<Record<string, ort.Tensor>> {
    this.checkFeeds(feeds);
    try {
      const f = feeds as ort.InferenceSession.FeedsType;
      return (await (outputs ? this.session.run(f, outputs) : this.session.run(f))) as Record<string, ort.Tensor>;
    } catch (err) {
      const fed = Object.entries(feeds).map(([n, t]) => describeTensor(n, t));
      const fetched = outputs ? `; fetched: ${outputs.join(', ')}` : '';
      throw new Error(`${this.path}: run failed: ${oneLine(err)}; fed: ${fed.join('; ')}${fetched}`);
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
