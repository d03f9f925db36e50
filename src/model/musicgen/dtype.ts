/**
 * Which weight precision each graph of a MusicGen export loads, as
 * transformers.js names its variants (onnx/<graph><suffix>.onnx). One value
 * for every graph (`q8`), or per graph (`decoder=q8,encodec=fp32`, with a
 * bare value as the default of the graphs not named: `q8,encodec=fp32`).
 * transformers.js recommends a q8 decoder and an fp32 EnCodec for MusicGen:
 * quantising the codec costs audible quality for little speed.
 *
 * One parser (parseDtypes) serves the model loader, `smitin pull` and every
 * command's --dtype, so they accept and refuse the same values.
 */

export const DTYPES = ['fp32', 'fp16', 'q8', 'q4'] as const;
export type Dtype = (typeof DTYPES)[number];

/** File-name suffix of each dtype, as transformers.js and its exports name them. */
export const DTYPE_SUFFIX: Record<Dtype, string> = { fp32: '', fp16: '_fp16', q8: '_quantized', q4: '_q4' };

/** The graphs a dtype can be chosen for, by the name --dtype uses, and each one's file name before the suffix. */
export const GRAPH_FILES = { text_encoder: 'text_encoder', decoder: 'decoder_model_merged', encodec: 'encodec_decode' } as const;
export type GraphName = keyof typeof GRAPH_FILES;
export const GRAPH_NAMES = Object.keys(GRAPH_FILES) as GraphName[];

/** The dtype of each graph. `encodec` also picks the EnCodec encoder's file where one is used. */
export type GraphDtypes = Readonly<Record<GraphName, Dtype>>;

/** What a caller may pass for dtypes: one for all graphs, or each graph's. */
export type DtypeChoice = Dtype | GraphDtypes;

export function isDtype(value: string): value is Dtype {
  return (DTYPES as readonly string[]).includes(value);
}

function uniform(dtype: Dtype): GraphDtypes {
  return { text_encoder: dtype, decoder: dtype, encodec: dtype };
}

/** `choice` as each graph's dtype. */
export function graphDtypes(choice: DtypeChoice = 'fp32'): GraphDtypes {
  return typeof choice === 'string' ? uniform(choice) : choice;
}

/**
 * The shortest --dtype value that gives `choice`: `q8` when every graph has
 * it, else the most common dtype and the exceptions (`q8,encodec=fp32`), the
 * fp32 default left out (`decoder=q8`).
 */
export function formatDtypes(choice: DtypeChoice): string {
  const d = graphDtypes(choice);
  const count = (x: Dtype) => GRAPH_NAMES.filter((g) => d[g] === x).length;
  const base = DTYPES.reduce((best, x) => (count(x) > count(best) ? x : best), 'fp32' as Dtype);
  const exceptions = GRAPH_NAMES.filter((g) => d[g] !== base).map((g) => `${g}=${d[g]}`);
  return [...(base === 'fp32' && exceptions.length ? [] : [base]), ...exceptions].join(',');
}

/** The --dtype words that select `graph` at `dtype`: `q8` when the whole choice is that, else `decoder=q8`. */
export function dtypeWords(choice: DtypeChoice, graph: GraphName): string {
  const d = graphDtypes(choice);
  return formatDtypes(d) === d[graph] ? d[graph] : `${graph}=${d[graph]}`;
}

/**
 * A --dtype value as each graph's dtype. Throws a RangeError that names the
 * part, the graph and the allowed values; the CLI shows it as its one line.
 */
export function parseDtypes(raw: string): GraphDtypes {
  const allowed = `${DTYPES.join(', ')}`;
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new RangeError(`expected a dtype (${allowed}) or graph=dtype pairs (graphs: ${GRAPH_NAMES.join(', ')}), got: "${raw}"`);
  let fallback: Dtype | undefined;
  const named: Partial<Record<GraphName, Dtype>> = {};
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (!isDtype(part)) throw new RangeError(`unknown dtype "${part}": expected one of ${allowed} (or graph=dtype)`);
      if (fallback !== undefined) throw new RangeError(`two dtypes for all graphs ("${fallback}" and "${part}"): name the graphs, e.g. decoder=q8,encodec=fp32`);
      fallback = part;
      continue;
    }
    const graph = part.slice(0, eq).trim();
    const dtype = part.slice(eq + 1).trim();
    if (!(GRAPH_NAMES as string[]).includes(graph)) throw new RangeError(`unknown graph "${graph}" in "${part}": expected one of ${GRAPH_NAMES.join(', ')}`);
    if (!isDtype(dtype)) throw new RangeError(`unknown dtype "${dtype}" for ${graph}: expected one of ${allowed}`);
    if (named[graph as GraphName] !== undefined) throw new RangeError(`${graph} is given twice in "${raw}"`);
    named[graph as GraphName] = dtype;
  }
  const base = fallback ?? 'fp32';
  return { text_encoder: named.text_encoder ?? base, decoder: named.decoder ?? base, encodec: named.encodec ?? base };
}

/** onnx/<file><suffix>.onnx, relative to the model folder (always with /, as a hub listing spells paths). */
export function onnxFile(file: string, dtype: Dtype): string {
  return `onnx/${file}${DTYPE_SUFFIX[dtype]}.onnx`;
}

/** The dtypes in which `file` (a graph's name before the suffix) is among `paths` (relative, with /). */
export function dtypesPresent(file: string, paths: Iterable<string>): Dtype[] {
  const have = new Set(paths);
  return DTYPES.filter((d) => have.has(onnxFile(file, d)));
}
