/**
 * Which files of a MusicGen export a choice of dtypes needs: the JSON and
 * tokenizer files, each graph's .onnx in its dtype and the external-data
 * files beside it (a graph over 2 GB keeps its weights in .onnx_data,
 * .onnx_data_1, ...). Nothing else of the repository is fetched.
 */
import { dtypesPresent, dtypeWords, GRAPH_FILES, GRAPH_NAMES, onnxFile, type Dtype, type GraphDtypes, type GraphName } from '../model/musicgen/dtype.js';

/** The folder loader reads these; a repository without them is not a MusicGen export. */
export const REQUIRED_FILES = ['config.json', 'generation_config.json', 'tokenizer.json'];
/** Taken when the repository has them: tokenizer companions, and a steerable model's probes and steering choices. */
export const OPTIONAL_FILES = ['tokenizer_config.json', 'special_tokens_map.json', 'spiece.model', 'probes.safetensors', 'steering.json'];

/** An external-data file's name: beside its graph, nothing that could reach out of onnx/ (the listing comes from a server). */
const EXTERNAL_DATA = /^onnx\/[A-Za-z0-9_.-]+\.onnx_data(_\d+)?$/;

export interface MissingGraph {
  graph: GraphName;
  /** The path the dtype needs (onnx/..._q4.onnx). */
  path: string;
  /** The --dtype words that asked for it (decoder=q4). */
  asked: string;
  /** The dtypes of this graph that are there. */
  present: Dtype[];
}

export interface ModelFiles {
  /** Paths to fetch, relative, with /. */
  needed: string[];
  /** Required JSON files that are not there. */
  missingFiles: string[];
  missingGraphs: MissingGraph[];
}

/**
 * `paths` (every file of a repository or folder) narrowed to what `dtypes`
 * needs. `needsCodec`: whether the EnCodec graph is needed (tinyband's codec
 * is a synthesizer, with no graph); when not known (before config.json is
 * read), it is needed when the export has one in any dtype.
 */
export function modelFiles(paths: readonly string[], dtypes: GraphDtypes, needsCodec?: boolean): ModelFiles {
  const have = new Set(paths);
  const needed = [...REQUIRED_FILES.filter((f) => have.has(f)), ...OPTIONAL_FILES.filter((f) => have.has(f))];
  const missingFiles = REQUIRED_FILES.filter((f) => !have.has(f));
  const missingGraphs: MissingGraph[] = [];
  for (const graph of GRAPH_NAMES) {
    const file = GRAPH_FILES[graph];
    const present = dtypesPresent(file, have);
    if (graph === 'encodec' && !(needsCodec ?? present.length > 0)) continue;
    const path = onnxFile(file, dtypes[graph]);
    if (!have.has(path)) {
      missingGraphs.push({ graph, path, asked: dtypeWords(dtypes, graph), present });
      continue;
    }
    needed.push(path, ...paths.filter((p) => p.startsWith(`${path}_data`) && EXTERNAL_DATA.test(p)).sort());
  }
  return { needed, missingFiles, missingGraphs };
}

/** One line on what is missing: "onnx/decoder_model_merged_q4.onnx (--dtype decoder=q4; decoder is there as fp32, fp16, q8)". */
export function describeMissing(files: ModelFiles): string {
  const graphs = files.missingGraphs.map((m) => `${m.path} (--dtype ${m.asked}; ${m.present.length ? `${m.graph} is there as ${m.present.join(', ')}` : `no ${m.graph} graph in any dtype`})`);
  return [...files.missingFiles, ...graphs].join(', ');
}
