/**
 * The merged MusicGen decoder with its KV cache. The graph holds both
 * branches behind an ONNX If on use_cache_branch: the first run (false) gets
 * zero-length past dummies and computes everything from the inputs; every
 * later run (true) gets the previous run's present.*.decoder as past and
 * the first run's present.*.encoder (the cross-attention keys and values of
 * the text, computed once and reused).
 *
 * Rows: input_ids is [rows * K, T] with row = b * K + k, where b runs over
 * the conditioning rows (the conditional half, then the unconditional half
 * with guidance) and k over codebooks; logits come back the same way.
 *
 * Steering: a decoder prepared by `smitin prepare` (inputs iti.{l}, outputs
 * heads.{l}) is steerable; SMITIN reaches it through SteerableDecoder
 * (../steerable-decoder.ts), whose contract this class implements. Each layer's shift is one [rows, H*Dh] buffer
 * that callers write in place; it is fed only while shifting is on, so a
 * step without intervention costs no copy and no zeroing. heads(l) holds
 * the last run's head outputs at its last position, before the shift.
 *
 * Outputs: onnxruntime-node copies every output it returns out of
 * onnxruntime into a new buffer (in 1.30 also a pre-allocated one, and only
 * WebGPU buffers can stay on a device), so a run returns only what is read
 * afterwards: the text's keys and values on the first run only, and no
 * cache at all from peek().
 *
 * Threading model: forward() blocks the calling thread for the whole run
 * (see onnx/session.ts); one forward at a time.
 */
import { ModelFileError, ort, type OnnxSession } from '../onnx/session.js';
import type { SteerableDecoder } from '../steerable-decoder.js';
import type { Conditioning } from './conditioning.js';
import {
  checkLogitsWidth,
  DEC_ENCODER_MASK,
  DEC_ENCODER_STATES,
  DEC_INPUT_IDS,
  DEC_LOGITS,
  DEC_USE_CACHE,
  headsName,
  itiName,
  KV_KINDS,
  KV_PARTS,
  pastName,
  presentName,
  type DecoderDims,
} from './contract.js';

/** A run's purpose, which decides the outputs it returns. */
export type DecoderRunKind = 'prime' | 'step' | 'peek';

/**
 * The outputs a run returns: the logits; SMITIN's head outputs when the
 * graph has them; the decoder's keys and values when the run moves the
 * cache on; the text's keys and values only when it starts the cache
 * (later runs pass them through unchanged).
 */
export function decoderOutputs(layers: number, steerable: boolean, kind: DecoderRunKind): string[] {
  const names = [DEC_LOGITS];
  for (let l = 0; l < layers; l++) {
    if (steerable) names.push(headsName(l));
    if (kind === 'peek') continue;
    for (const part of kind === 'prime' ? KV_PARTS : (['decoder'] as const)) {
      for (const kv of KV_KINDS) names.push(presentName(l, part, kv));
    }
  }
  return names;
}

export class DecoderSession implements SteerableDecoder {
  /** Decoder input rows: conditioning rows x codebooks. */
  readonly rows: number;
  private readonly feeds: Record<string, ort.Tensor> = {};
  private readonly dummies: Record<string, ort.Tensor> = {};
  private readonly useCache = new ort.Tensor('bool', new Uint8Array([1]), [1]);
  private readonly noCache = new ort.Tensor('bool', new Uint8Array([0]), [1]);
  private cached = 0;
  private widthChecked = false;
  /** Per layer: the shift buffer [conditioning rows x H*Dh] (empty when the graph is not steerable). */
  readonly shifts: Float32Array[] = [];
  private readonly shiftFeeds: ort.Tensor[] = [];
  private readonly zeroFeeds: ort.Tensor[] = [];
  private readonly lastHeads: Float32Array[] = [];
  private shifting = false;
  private readonly outputs: Record<DecoderRunKind, string[]>;

  constructor(
    private readonly session: OnnxSession,
    readonly dims: DecoderDims,
    readonly conditioning: Conditioning,
  ) {
    this.rows = conditioning.rows * dims.codebooks;
    this.feeds[DEC_ENCODER_STATES] = conditioning.states;
    this.feeds[DEC_ENCODER_MASK] = conditioning.mask;
    for (let i = 0; i < dims.layers; i++) {
      for (const part of ['decoder', 'encoder'] as const) {
        for (const kind of KV_KINDS) {
          const name = pastName(i, part, kind);
          const type = (session.input(name)?.type ?? 'float32') as 'float32';
          const data = type === ('float16' as string) ? new Uint16Array(0) : new Float32Array(0);
          this.dummies[name] = new ort.Tensor(type, data as Float32Array, [conditioning.rows, dims.heads, 0, dims.headDim]);
        }
      }
    }
    if (session.input(itiName(0))) {
      const width = dims.heads * dims.headDim;
      for (let l = 0; l < dims.layers; l++) {
        const spec = session.input(itiName(l));
        if (!spec || !session.output(headsName(l))) {
          throw new ModelFileError(`${session.path}: is partly prepared for steering: it has ${itiName(0)} but not ${itiName(l)} / ${headsName(l)} (run smitin prepare again)`);
        }
        if (spec.type !== 'float32') {
          throw new ModelFileError(`${session.path}: steering needs float32 ${itiName(l)}, the graph has ${spec.type} (prepare the fp32 decoder)`);
        }
        const shift = new Float32Array(conditioning.rows * width);
        this.shifts.push(shift);
        this.shiftFeeds.push(new ort.Tensor('float32', shift, [conditioning.rows, width]));
        this.zeroFeeds.push(new ort.Tensor('float32', new Float32Array(conditioning.rows * width), [conditioning.rows, width]));
        this.lastHeads.push(new Float32Array(conditioning.rows * width));
      }
      this.setShifting(false);
    }
    const outputs = (kind: DecoderRunKind) => decoderOutputs(dims.layers, this.steerable, kind);
    this.outputs = { prime: outputs('prime'), step: outputs('step'), peek: outputs('peek') };
    this.reset();
  }

  /** True when the graph has SMITIN's iti.{l} inputs and heads.{l} outputs. */
  get steerable(): boolean {
    return this.shifts.length > 0;
  }

  /** Feed the shift buffers (true) or zeros (false) from the next forward on. */
  setShifting(on: boolean): void {
    if (!this.steerable) {
      if (on) throw new Error(`${this.session.path}: is not prepared for steering (no ${itiName(0)} input): run smitin prepare`);
      return;
    }
    this.shifting = on;
    const feeds = on ? this.shiftFeeds : this.zeroFeeds;
    for (let l = 0; l < feeds.length; l++) this.feeds[itiName(l)] = feeds[l];
  }

  get isShifting(): boolean {
    return this.shifting;
  }

  /** Layer l's head outputs [conditioning rows x H*Dh] at the last position of the last run, before the shift. */
  heads(layer: number): Float32Array {
    const h = this.lastHeads[layer];
    if (!h) throw new RangeError(`heads(${layer}): the decoder is ${this.steerable ? `steerable with ${this.lastHeads.length} layers` : 'not steerable'}`);
    return h;
  }

  /** Positions held in the cache: the next forward's inputs start at this position. */
  get length(): number {
    return this.cached;
  }

  /** Forgets the cache: the next forward starts at position 0 (and recomputes the text's keys and values). */
  reset(): void {
    Object.assign(this.feeds, this.dummies);
    this.feeds[DEC_USE_CACHE] = this.noCache;
    this.cached = 0;
  }

  /**
   * Runs `length` new positions: `ids` holds [rows, length] token ids (row
   * = b * K + k). Returns logits [rows, length, vocab] and keeps the cache.
   */
  async forward(ids: BigInt64Array, length: number): Promise<ort.Tensor> {
    return this.run(ids, length, true);
  }

  /**
   * Runs `length` new positions like forward() but keeps the cache as it
   * was (the monitor's clean pass: what the model computes here without a
   * shift). Returns the logits; heads() reads this run's head outputs.
   */
  async peek(ids: BigInt64Array, length: number): Promise<ort.Tensor> {
    return this.run(ids, length, false);
  }

  private async run(ids: BigInt64Array, length: number, commit: boolean): Promise<ort.Tensor> {
    if (ids.length !== this.rows * length) {
      throw new RangeError(`decoder input ids must hold ${this.rows} rows x ${length} positions = ${this.rows * length}, got: ${ids.length}`);
    }
    this.feeds[DEC_INPUT_IDS] = new ort.Tensor('int64', ids, [this.rows, length]);
    const first = this.cached === 0;
    const out = await this.session.run(this.feeds, this.outputs[!commit ? 'peek' : first ? 'prime' : 'step']);
    const logits = out[DEC_LOGITS];
    if (!this.widthChecked) {
      checkLogitsWidth(this.session.path, logits.dims[2], this.dims.vocab);
      if (logits.dims[0] !== this.rows || logits.dims[1] !== length) {
        throw new ModelFileError(`${this.session.path}: logits are [${logits.dims.join(', ')}], expected [${this.rows}, ${length}, ${this.dims.vocab}]`);
      }
      this.widthChecked = true;
    }
    for (let l = 0; l < this.lastHeads.length; l++) this.lastHeads[l].set(out[headsName(l)].data as Float32Array);
    if (!commit) return logits;
    for (let i = 0; i < this.dims.layers; i++) {
      for (const kind of KV_KINDS) {
        this.feeds[pastName(i, 'decoder', kind)] = out[presentName(i, 'decoder', kind)];
        // the text's keys and values do not change after the first run: keep those
        if (first) this.feeds[pastName(i, 'encoder', kind)] = out[presentName(i, 'encoder', kind)];
      }
    }
    this.feeds[DEC_USE_CACHE] = this.useCache;
    this.cached += length;
    return logits;
  }
}
