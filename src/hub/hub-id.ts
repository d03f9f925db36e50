/**
 * A model on the Hugging Face Hub as the command line names it:
 * `owner/name` or `owner/name@revision` (a branch, a tag or a commit).
 */
import { UsageError } from '../util/errors.js';
import { quoted } from '../util/printable.js';

export interface HubId {
  /** owner/name */
  repo: string;
  /** A branch, tag or commit; "main" when none is given. */
  revision: string;
}

export const DEFAULT_REVISION = 'main';

// the hub's own rule for repo names: letters, digits, - _ . ; no leading or trailing - or ., no "--" or ".."
const PART = /^(?![-.])(?!.*(--|\.\.))[A-Za-z0-9_.-]{1,96}(?<![-.])$/;
const REVISION = /^[A-Za-z0-9_./-]{1,256}$/;

/** `raw` as a hub id, or null when it is not written as one (a path, a name without an owner). */
export function parseHubId(raw: string): HubId | null {
  const at = raw.indexOf('@');
  const repo = at < 0 ? raw : raw.slice(0, at);
  const revision = at < 0 ? DEFAULT_REVISION : raw.slice(at + 1);
  const parts = repo.split('/');
  if (parts.length !== 2 || !parts.every((p) => PART.test(p))) return null;
  if (!REVISION.test(revision) || revision.split('/').includes('..')) return null;
  return { repo, revision };
}

/** `raw` as a hub id; a UsageError that shows the form otherwise. */
export function requireHubId(raw: string): HubId {
  const id = parseHubId(raw);
  if (!id) throw new UsageError(`expected a hub model id, owner/name or owner/name@revision (e.g. Xenova/musicgen-small), got: ${quoted(raw)}`);
  return id;
}

export function formatHubId(id: HubId): string {
  return id.revision === DEFAULT_REVISION ? id.repo : `${id.repo}@${id.revision}`;
}
