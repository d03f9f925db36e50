/**
 * A --model value that names a hub model (owner/name[@revision], and no
 * local folder of that name) as the cached snapshot folder: taken from the
 * cache when it has every file the dtypes need (no network, so a gig does
 * not wait on the hub), pulled on first use, or refused offline with the
 * command that fetches it.
 */
import { existsSync } from 'node:fs';
import type { GraphDtypes } from '../model/musicgen/dtype.js';
import { UsageError } from '../util/errors.js';
import { quoted } from '../util/printable.js';
import { parseHubId } from './hub-id.js';
import { cachedModel, pullModel, type PullOptions } from './pull.js';

/** The folder `model` stands for; null when it is a local path or not a hub id (the loader then says what is wrong with it). */
export async function resolveHubModel(model: string, dtypes: GraphDtypes, options: Omit<PullOptions, 'dtypes'> = {}): Promise<string | null> {
  if (existsSync(model)) return null;
  const id = parseHubId(model);
  if (!id) return null;
  const cached = cachedModel(id, dtypes);
  if (!cached.missing && cached.folder) return cached.folder;
  try {
    return (await pullModel(id, { verifyCached: false, ...options, dtypes })).folder;
  } catch (err) {
    // the user may have meant a folder and mistyped it: say both readings
    if (err instanceof UsageError) throw new UsageError(`--model ${quoted(model)}: no such folder here; as a hub id: ${err.message}`);
    throw err;
  }
}
