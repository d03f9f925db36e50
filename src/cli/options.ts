/** Parsers for command-line values; each error names the option, the range and the value. */
import { InvalidArgumentError } from 'commander';
import { INSTRUMENTS, isInstrument, type Instrument } from '../model/tinyband/layout.js';
import { isStyleName, STYLE_NAMES, type StyleName } from '../model/tinyband/styles.js';
import { parseDtypes, type GraphDtypes } from '../model/musicgen/dtype.js';

/** A decimal number as people write it: Number() alone also takes "0x64", "0b1", " 1e2 " and "Infinity". */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** `raw` as a number when it is written in decimal, else NaN. */
export function parseDecimal(raw: string): number {
  return DECIMAL.test(raw) ? Number(raw) : NaN;
}

export function numberIn(what: string, lo: number, hi: number, { integer = false } = {}) {
  return (raw: string): number => {
    const value = parseDecimal(raw);
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`${what} must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], got: ${raw}`);
    }
    if (value < lo || value > hi) throw new InvalidArgumentError(`${what} must be within [${lo}, ${hi}], got: ${raw}`);
    return value;
  };
}

/** One of a few numbers (`what` names the option in the error). */
export function numberOf<T extends number>(what: string, allowed: readonly T[]) {
  return (raw: string): T => {
    const value = parseDecimal(raw);
    if (!(allowed as readonly number[]).includes(value)) throw new InvalidArgumentError(`${what} must be one of ${allowed.join(', ')}, got: ${raw}`);
    return value as T;
  };
}

export function instrumentList(raw: string): Instrument[] {
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError(`expected a comma-separated list of ${INSTRUMENTS.join(', ')}, got: "${raw}"`);
  for (const name of names) {
    if (!isInstrument(name)) throw new InvalidArgumentError(`unknown instrument "${name}": expected one of ${INSTRUMENTS.join(', ')}`);
  }
  return [...new Set(names as Instrument[])];
}

export function styleName(raw: string): StyleName {
  if (!isStyleName(raw)) throw new InvalidArgumentError(`unknown style "${raw}": expected one of ${STYLE_NAMES.join(', ')}`);
  return raw;
}

/** --dtype: one dtype for every graph, or graph=dtype pairs (model/musicgen/dtype.ts). */
export function dtypeOption(raw: string): GraphDtypes {
  try {
    return parseDtypes(raw);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** --dtype's help: what a value may be. */
export const DTYPE_HELP = 'weights per graph: fp32 (*.onnx), fp16 (*_fp16.onnx), q8 (*_quantized.onnx), q4 (*_q4.onnx), for all graphs or per graph, e.g. decoder=q8,encodec=fp32 (graphs: text_encoder, decoder, encodec)';
