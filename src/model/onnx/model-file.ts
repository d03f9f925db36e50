/**
 * What an ONNX file declares (graph inputs, outputs, metadata), read without
 * loading it: the protobuf is walked field by field with positioned reads,
 * jumping over node and weight bodies, so a 2 GB decoder costs a few hundred
 * small reads, not a parse of its weights. Every length is checked against
 * the file's size on the way, which is what catches a truncated download or
 * an interrupted export before onnxruntime says "Protobuf parsing failed"
 * deep inside a worker. Weights kept in external data files are checked for
 * presence and size the same way.
 *
 * This is a check, not a validator: a file that passes can still fail in
 * onnxruntime (a corrupt weight, an operator it lacks), and that error names
 * the file too (OnnxSession.create).
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';
import { ModelFileError, type OnnxSession, type TensorSpec } from './session.js';

const { onnx } = onnxProto;

/** A graph's declared inputs and outputs, answering what the contract checks ask of an OnnxSession. */
export interface OnnxSignature {
  path: string;
  /** File size in bytes. */
  bytes: number;
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
  inputNames: readonly string[];
  outputNames: readonly string[];
  input(name: string): TensorSpec | undefined;
  output(name: string): TensorSpec | undefined;
  /** The model's metadata_props. */
  metadata: ReadonlyMap<string, string>;
}

/**
 * The signature typed as the session the contract checks (checkDecoder, ...)
 * take: they read only path, input(), output(), inputNames and outputNames,
 * which the signature has with the same meaning.
 */
export function asSession(sig: OnnxSignature): OnnxSession {
  return sig as unknown as OnnxSession;
}

// ModelProto, GraphProto and TensorProto field numbers (onnx.proto)
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const MODEL_METADATA = 14;
const GRAPH_INITIALIZER = 5;
const MODEL_FIELDS: Record<number, string> = { [MODEL_GRAPH]: 'its graph', [MODEL_OPSET_IMPORT]: 'its opset_import', [MODEL_METADATA]: 'its metadata' };
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
/** A TensorProto with its data elsewhere is a few hundred bytes; larger ones hold their data and are jumped over. */
const SMALL_TENSOR = 4096;
/** Read-ahead per positioned read: enough for runs of small fields, cheap when the next field is a jump away. */
const CHUNK = 16 * 1024;

const ELEM_TYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

const ADVICE = 're-download or re-export the model';

class Truncated extends Error {}
class Corrupt extends Error {}

/** Positioned reads of one open file through a small window. */
class FileWindow {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  /** Bytes [pos, pos + n); fewer when the file ends first. */
  bytes(pos: number, n: number): Buffer {
    const end = Math.min(pos + n, this.size);
    if (pos >= this.start && end <= this.start + this.buf.length) return this.buf.subarray(pos - this.start, end - this.start);
    const len = Math.min(Math.max(n, CHUNK), this.size - pos);
    const buf = Buffer.allocUnsafe(Math.max(0, len));
    let got = 0;
    while (got < len) {
      const r = readSync(this.fd, buf, got, len - got, pos + got);
      if (r === 0) break;
      got += r;
    }
    this.buf = buf.subarray(0, got);
    this.start = pos;
    return this.buf.subarray(0, Math.min(n, got));
  }
}

interface Field {
  field: number;
  wire: number;
  /** Where the value starts (after the tag, and after the length of a length-delimited field). */
  at: number;
  /** Length of a length-delimited value. */
  len: number;
  /** Where the next field starts. */
  next: number;
}

/** A varint at `pos`, before `end`: [value, position after it]. */
function varint(w: FileWindow, pos: number, end: number): [number, number] {
  const b = w.bytes(pos, Math.min(10, end - pos));
  let value = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    value += (b[i] & 0x7f) * scale;
    if (!(b[i] & 0x80)) return [value, pos + i + 1];
    scale *= 128;
  }
  if (b.length < 10 && pos + b.length >= w.size) throw new Truncated(`a field header at byte ${pos} is cut off`);
  throw new Corrupt(`a field header at byte ${pos} does not end`);
}

/** The fields of the message in [start, end); a field running past `end` is truncation at the file's end, corruption inside. */
function* fields(w: FileWindow, start: number, end: number, names: Record<number, string> = {}): Generator<Field> {
  let pos = start;
  while (pos < end) {
    const [tag, after] = varint(w, pos, end);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new Corrupt(`field number 0 at byte ${pos}`);
    let at = after;
    let len = 0;
    let next: number;
    switch (wire) {
      case 0:
        next = varint(w, after, end)[1];
        break;
      case 1:
        next = after + 8;
        break;
      case 2:
        [len, at] = varint(w, after, end);
        next = at + len;
        break;
      case 5:
        next = after + 4;
        break;
      default:
        throw new Corrupt(`wire type ${wire} of field ${field} at byte ${pos}`);
    }
    if (next > end) {
      if (end === w.size) throw new Truncated(`${names[field] ?? `field ${field}`} (from byte ${pos}) runs to byte ${next}`);
      throw new Corrupt(`field ${field} at byte ${pos} runs past the end of the message that holds it (byte ${end})`);
    }
    yield { field, wire, at, len, next };
    pos = next;
  }
}

function num(v: number | { toString(): string } | null | undefined): number {
  return v === null || v === undefined ? 0 : typeof v === 'number' ? v : Number(v.toString());
}

function tensorSpec(v: onnxProto.onnx.ValueInfoProto): TensorSpec {
  const t = v.type?.tensorType;
  if (!v.type || !t) return { name: v.name, isTensor: false, type: 'string', shape: [] };
  const shape = (t.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : num(d.dimValue)));
  const type = (ELEM_TYPES[t.elemType ?? 0] ?? `type ${t.elemType}`) as TensorSpec['type'];
  return { name: v.name, isTensor: true, type, shape };
}

/** What a file that is not a model looks like, when it says so in its first bytes. */
function lookalike(w: FileWindow): string {
  const head = w.bytes(0, 64).toString('latin1');
  if (head.startsWith('version https://git-lfs')) return ': it is a Git LFS pointer, not the model (run git lfs pull in the model repository)';
  if (/^\s*</.test(head)) return ': it is HTML or XML text (a web page saved in place of the model?)';
  if (/^\s*[{[]/.test(head)) return ': it is JSON text';
  if (/^[\x20-\x7e\t\r\n]{16}/.test(head)) return `: it is text, starting ${JSON.stringify(head.slice(0, 24))}`;
  return '';
}

interface External {
  location: string;
  end: number;
  tensor: string;
}

/** Reads `path`'s graph inputs, outputs and metadata; a missing, truncated or corrupt file is a ModelFileError naming it. */
export function readOnnxSignature(path: string): OnnxSignature {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ModelFileError(`${path}: ${e.code === 'ENOENT' ? 'missing' : `cannot be read (${e.code ?? e.message})`}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ModelFileError(`${path}: is ${st.isDirectory() ? 'a directory' : 'not a regular file'}, not an ONNX model`);
    if (st.size === 0) throw new ModelFileError(`${path}: is empty (0 bytes): ${ADVICE}`);
    const w = new FileWindow(fd, st.size);
    try {
      return scan(w, path);
    } catch (err) {
      if (err instanceof Truncated) {
        throw new ModelFileError(`${path}: truncated: the file ends at byte ${st.size} but ${err.message} (an interrupted download or export?): ${ADVICE}`);
      }
      if (err instanceof Corrupt) throw new ModelFileError(`${path}: not a valid ONNX model (corrupt protobuf: ${err.message})${lookalike(w)}: ${ADVICE}`);
      throw err;
    }
  } finally {
    closeSync(fd);
  }
}

function decodeAt<T>(w: FileWindow, f: Field, decode: (b: Uint8Array) => T, what: string): T {
  try {
    return decode(w.bytes(f.at, f.len));
  } catch (err) {
    throw new Corrupt(`${what} at byte ${f.at}: ${(err as Error).message}`);
  }
}

function scan(w: FileWindow, path: string): OnnxSignature {
  let graph: Field | null = null;
  let opsets = 0;
  let count = 0;
  const metadata = new Map<string, string>();
  for (const f of fields(w, 0, w.size, MODEL_FIELDS)) {
    count++;
    if (f.wire !== 2) continue;
    if (f.field === MODEL_GRAPH) graph = f;
    else if (f.field === MODEL_OPSET_IMPORT) opsets++;
    else if (f.field === MODEL_METADATA) {
      const e = decodeAt(w, f, (b) => onnx.StringStringEntryProto.decode(b), 'a metadata entry');
      metadata.set(e.key, e.value);
    }
  }
  if (!graph) {
    // header fields (ir_version, producer) and then the end: the graph that follows them was cut off
    if (count > 0 && !lookalike(w)) throw new Truncated(`it ends before its graph`);
    throw new Corrupt(`no graph (ModelProto field ${MODEL_GRAPH})`);
  }
  // an export writes opset_import after the graph: a file cut just after the graph has none
  if (opsets === 0) throw new Truncated(`it has no opset_import, which follows the graph`);

  const inputs: TensorSpec[] = [];
  const outputs: TensorSpec[] = [];
  const external: External[] = [];
  for (const f of fields(w, graph.at, graph.next)) {
    if (f.wire !== 2) continue;
    if (f.field === GRAPH_INPUT || f.field === GRAPH_OUTPUT) {
      const v = decodeAt(w, f, (b) => onnx.ValueInfoProto.decode(b), `graph ${f.field === GRAPH_INPUT ? 'input' : 'output'}`);
      (f.field === GRAPH_INPUT ? inputs : outputs).push(tensorSpec(v));
    } else if (f.field === GRAPH_INITIALIZER && f.len <= SMALL_TENSOR) {
      const t = decodeAt(w, f, (b) => onnx.TensorProto.decode(b), 'an initializer');
      if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
      const entry = (key: string) => t.externalData.find((e) => e.key === key)?.value;
      const location = entry('location');
      if (!location) throw new Corrupt(`initializer ${t.name} keeps its data externally but names no location`);
      const offset = Number(entry('offset') ?? 0);
      const length = Number(entry('length') ?? NaN);
      // without a length the data runs to the end of its file: only its presence can be checked
      external.push({ location, end: Number.isFinite(length) ? offset + length : offset, tensor: t.name });
    }
  }
  checkExternal(path, external);
  const specOf = (list: TensorSpec[]) => (name: string) => list.find((s) => s.name === name);
  return {
    path,
    bytes: w.size,
    inputs,
    outputs,
    inputNames: inputs.map((s) => s.name),
    outputNames: outputs.map((s) => s.name),
    input: specOf(inputs),
    output: specOf(outputs),
    metadata,
  };
}

/** Each external data file exists and holds the bytes its tensors point to. */
function checkExternal(path: string, external: readonly External[]): void {
  const need = new Map<string, External>();
  for (const e of external) if ((need.get(e.location)?.end ?? -1) < e.end) need.set(e.location, e);
  for (const [location, e] of need) {
    const file = join(dirname(path), location);
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) throw new ModelFileError(`${file}: missing (${path} keeps the weights of ${e.tensor} and others there): ${ADVICE}`);
    if (!st.isFile()) throw new ModelFileError(`${file}: is not a regular file (${path} keeps weights there)`);
    if (st.size < e.end) {
      throw new ModelFileError(`${file}: truncated: it is ${st.size} bytes but ${path} reads ${e.tensor} up to byte ${e.end} (an interrupted download or export?): ${ADVICE}`);
    }
  }
}
