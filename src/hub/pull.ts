/**
 * A MusicGen export from the Hugging Face Hub into the shared cache: only the
 * files a choice of dtypes needs, resumable, verified, and usable offline.
 *
 * From @huggingface/hub: the commit a revision names (modelInfo), the file
 * listing with sizes and checksums (listFiles), the cache folder and the
 * repository folder's name. Written here: choosing the files, the resumable
 * and verified transfer (fetch-blob.ts), the snapshot links and refs, and
 * resolving from the cache alone.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HubApiError, listFiles, modelInfo, type ListFileEntry } from '@huggingface/hub';
import { formatDtypes, type GraphDtypes } from '../model/musicgen/dtype.js';
import { UsageError } from '../util/errors.js';
import { quoted } from '../util/printable.js';
import { COMMIT, RepoCache } from './cache-layout.js';
import { checksumMismatch, fetchBlob, HubHttpError, type ExpectedFile } from './fetch-blob.js';
import { formatHubId, type HubId } from './hub-id.js';
import { describeMissing, modelFiles, type ModelFiles } from './model-files.js';
import { hubSettings, type HubSettings } from './settings.js';

export interface PullProgress {
  /** The file being fetched (a path in the repository). */
  file: string;
  /** Bytes of the needed files that are in the cache so far. */
  done: number;
  total: number;
}

export interface PullOptions {
  dtypes: GraphDtypes;
  /** Called as bytes arrive (and once per file). */
  onProgress?: (p: PullProgress) => void;
  /** One line each: a resume, a refused file, a blob re-fetched. */
  onNote?: (note: string) => void;
  /** Re-hash the blobs already in the cache against the listing (default true: `smitin pull` checks what it keeps). */
  verifyCached?: boolean;
}

export interface PulledFile {
  path: string;
  size: number;
  /** False: the blob was already in the cache. */
  fetched: boolean;
  resumedFrom: number;
}

export interface PullResult {
  id: string;
  commit: string;
  /** snapshots/{commit}: the model folder. */
  folder: string;
  dtype: string;
  files: PulledFile[];
  /** Bytes of all the needed files. */
  bytes: number;
  /** Bytes that came over the network in this call. */
  transferred: number;
  /** Files refused for a bad checksum (and fetched again). */
  refused: number;
  /** Why the hub was not asked (HF_HUB_OFFLINE, or unreachable); null when it was. */
  offline: string | null;
}

/** The command that fetches what is missing, for messages. */
export function pullCommand(id: HubId, dtypes: GraphDtypes): string {
  const dtype = formatDtypes(dtypes);
  return `smitin pull ${formatHubId(id)}${dtype === 'fp32' ? '' : ` --dtype ${dtype}`}`;
}

function authHeaders(settings: HubSettings): Record<string, string> {
  return settings.token ? { Authorization: `Bearer ${settings.token}` } : {};
}

/** The library's calls, with our token (it refuses tokens without an hf_ prefix; the hub itself decides here). */
function authedFetch(settings: HubSettings): typeof fetch {
  const auth = authHeaders(settings);
  return (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...auth } });
}

/** A failure to reach the hub at all (no network, DNS, refused), as fetch reports it. */
function isUnreachable(err: unknown): err is Error {
  return err instanceof TypeError && /fetch failed/.test(err.message);
}

function unreachableReason(err: Error): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return `${quoted(hubSettings().endpoint)} cannot be reached (${cause?.code ?? cause?.message ?? err.message})`;
}

function apiError(err: unknown, id: HubId, settings: HubSettings): unknown {
  if (!(err instanceof HubApiError) && !(err instanceof HubHttpError)) return err;
  const status = err instanceof HubApiError ? err.statusCode : err.status;
  if (status === 401 || status === 403) {
    const token = settings.token ? 'the token in HF_TOKEN (or the saved login) was refused' : 'set HF_TOKEN to a token that may read it';
    return new UsageError(`${quoted(formatHubId(id))}: the hub refused access (HTTP ${status}): a gated or private model; ${token}`);
  }
  if (status === 404) return new UsageError(`${quoted(formatHubId(id))}: no such model or revision on ${quoted(settings.endpoint)} (HTTP 404)`);
  return new Error(`${quoted(formatHubId(id))}: the hub answered HTTP ${status}: ${quoted(err.message, 200)}`);
}

/** Every path under `dir` (relative, with /), split into those whose file is there and links whose blob is gone. */
function walk(dir: string, prefix = ''): { present: string[]; broken: string[] } {
  const out = { present: [] as string[], broken: [] as string[] };
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = walk(full, `${rel}/`);
      out.present.push(...sub.present);
      out.broken.push(...sub.broken);
    } else (existsSync(full) ? out.present : out.broken).push(rel);
  }
  return out;
}

/** Whether config.json in `folder` names a synthesizer codec (tinyband), so no EnCodec graph is needed. */
function hasSynthCodec(folder: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as { tinyband?: unknown }).tinyband !== undefined;
  } catch {
    return false;
  }
}

export interface CachedModel {
  id: HubId;
  commit: string | null;
  folder: string | null;
  files: ModelFiles;
  /** One line naming what is not in the cache; null when the folder has everything. */
  missing: string | null;
}

/** What the cache holds of `id` for `dtypes`, without the network. */
export function cachedModel(id: HubId, dtypes: GraphDtypes): CachedModel {
  const cache = new RepoCache(hubSettings().cacheDir, id.repo);
  const commit = cache.commitOf(id.revision);
  const folder = commit ? cache.snapshot(commit) : null;
  const { present, broken } = folder ? walk(folder) : { present: [], broken: [] };
  const files = modelFiles(present, dtypes, folder && existsSync(join(folder, 'config.json')) ? !hasSynthCodec(folder) : undefined);
  const brokenNeeded = broken.filter((b) => files.needed.some((n) => b === n || b.startsWith(`${n}_data`)));
  const parts = [describeMissing(files), ...brokenNeeded].filter(Boolean);
  const missing = !folder ? `${quoted(formatHubId(id))} is not in the cache (${cache.root})` : parts.length ? parts.join(', ') : null;
  return { id, commit, folder, files, missing };
}

/** The cached folder of `id` for `dtypes`, or a UsageError that says why the hub was not asked, what is missing and what to run. */
function fromCache(id: HubId, dtypes: GraphDtypes, why: string): PullResult {
  const cached = cachedModel(id, dtypes);
  if (cached.missing || !cached.folder || !cached.commit) {
    throw new UsageError(`${why}, and the cache lacks what --dtype ${formatDtypes(dtypes)} needs: ${cached.missing}; run ${pullCommand(id, dtypes)} where the hub can be reached`);
  }
  const files = cached.files.needed.map((path) => ({ path, size: lstatSync(join(cached.folder!, path)).size, fetched: false, resumedFrom: 0 }));
  return { id: formatHubId(id), commit: cached.commit, folder: cached.folder, dtype: formatDtypes(dtypes), files, bytes: 0, transferred: 0, refused: 0, offline: why };
}

/** The listing's checksums name files in blobs/: only hex ids are taken. */
const SHA256 = /^[0-9a-f]{64}$/;

function expectedOf(entry: ListFileEntry): ExpectedFile & { etag: string } {
  if (entry.lfs && SHA256.test(entry.lfs.oid)) return { path: entry.path, size: entry.lfs.size, sha256: entry.lfs.oid, etag: entry.lfs.oid };
  if (!entry.lfs && entry.oid && COMMIT.test(entry.oid)) return { path: entry.path, size: entry.size, gitSha1: entry.oid, etag: entry.oid };
  throw new Error(`${quoted(entry.path)}: the hub's listing gives no usable checksum (${quoted(JSON.stringify(entry.lfs ?? entry.oid ?? null))})`);
}

/**
 * Fetches what `options.dtypes` needs of `id` into the cache and returns the
 * snapshot folder. Offline (HF_HUB_OFFLINE=1, or the hub unreachable) it
 * returns the cached folder when that has everything, and otherwise a
 * UsageError that names what is missing.
 */
export async function pullModel(id: HubId, options: PullOptions): Promise<PullResult> {
  const settings = hubSettings();
  const { dtypes } = options;
  if (settings.offline) return fromCache(id, dtypes, 'HF_HUB_OFFLINE is set');
  const call = { hubUrl: settings.endpoint, fetch: authedFetch(settings) };
  let commit: string;
  let entries: ListFileEntry[];
  try {
    const info = await modelInfo({ ...call, name: id.repo, revision: id.revision, additionalFields: ['sha'] });
    if (typeof info.sha !== 'string' || !COMMIT.test(info.sha)) throw new Error(`${quoted(formatHubId(id))}: the hub did not say which commit ${quoted(id.revision)} is`);
    commit = info.sha;
    entries = [];
    for await (const e of listFiles({ ...call, repo: id.repo, revision: commit, recursive: true })) if (e.type === 'file') entries.push(e);
  } catch (err) {
    if (isUnreachable(err)) return fromCache(id, dtypes, unreachableReason(err));
    throw apiError(err, id, settings);
  }
  const files = modelFiles(entries.map((e) => e.path), dtypes);
  const missing = describeMissing(files);
  if (missing) throw new UsageError(`${quoted(formatHubId(id))} has no ${missing}`);

  const cache = new RepoCache(settings.cacheDir, id.repo);
  mkdirSync(join(cache.root, 'blobs'), { recursive: true });
  const byPath = new Map(entries.map((e) => [e.path, expectedOf(e)]));
  const wanted = files.needed.map((p) => byPath.get(p)!);
  const total = wanted.reduce((n, f) => n + f.size, 0);
  let done = 0;
  const pulled: PulledFile[] = [];
  let transferred = 0;
  let refused = 0;
  for (const file of wanted) {
    const blob = cache.blob(file.etag);
    const progress = (delta: number) => {
      done += delta;
      options.onProgress?.({ file: file.path, done, total });
    };
    if (existsSync(blob) && options.verifyCached !== false) {
      const bad = await checksumMismatch(blob, file);
      if (bad) {
        options.onNote?.(`the cached ${file.path} does not match the hub's checksum (${bad}): fetching it again`);
        rmSync(blob);
        refused++;
      }
    }
    let fetched = { resumedFrom: 0, transferred: 0, refused: 0 };
    if (existsSync(blob)) progress(file.size);
    else {
      const url = `${settings.endpoint}/${id.repo}/resolve/${commit}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
      try {
        fetched = await fetchBlob({ url, headers: authHeaders(settings), blob, expected: file, onBytes: progress, onNote: options.onNote });
      } catch (err) {
        if (isUnreachable(err)) throw new Error(`${unreachableReason(err)} while fetching ${file.path}; run ${pullCommand(id, dtypes)} again to resume`);
        throw apiError(err, id, settings);
      }
    }
    cache.link(commit, file.path, file.etag);
    pulled.push({ path: file.path, size: file.size, fetched: fetched.transferred > 0, resumedFrom: fetched.resumedFrom });
    transferred += fetched.transferred;
    refused += fetched.refused;
  }
  cache.writeRef(id.revision, commit);
  return { id: formatHubId(id), commit, folder: cache.snapshot(commit), dtype: formatDtypes(dtypes), files: pulled, bytes: total, transferred, refused, offline: null };
}
