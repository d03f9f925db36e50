/**
 * The Hugging Face cache layout, exactly as huggingface_hub (Python) writes
 * it, so either tool reuses the other's downloads:
 *   {cache}/models--{owner}--{name}/blobs/{etag}        the bytes (etag: the LFS sha256, or the git blob sha1)
 *   {cache}/models--{owner}--{name}/blobs/{etag}.incomplete   a download under way (resumed from its length)
 *   {cache}/models--{owner}--{name}/refs/{revision}     the commit a branch or tag pointed at
 *   {cache}/models--{owner}--{name}/snapshots/{commit}/{path}   relative symlinks to the blobs
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { getRepoFolderName } from '@huggingface/hub';

export const COMMIT = /^[0-9a-f]{40}$/;

/**
 * The hub name of a cached snapshot folder (".../models--Xenova--musicgen-small/snapshots/<commit>"
 * -> "Xenova/musicgen-small@<12 hex>"), for messages that name a model; null for any other folder.
 */
export function hubNameOf(folder: string): string | null {
  const commit = basename(folder);
  const repoFolder = basename(dirname(dirname(folder)));
  const m = /^models--([^-]+(?:-[^-]+)*)--([^-]+(?:-[^-]+)*)$/.exec(repoFolder);
  if (!COMMIT.test(commit) || basename(dirname(folder)) !== 'snapshots' || !m) return null;
  return `${m[1]}/${m[2]}@${commit.slice(0, 12)}`;
}

export class RepoCache {
  readonly root: string;

  constructor(cacheDir: string, readonly repo: string) {
    this.root = join(cacheDir, getRepoFolderName({ type: 'model', name: repo }));
  }

  blob(etag: string): string {
    return join(this.root, 'blobs', etag);
  }

  snapshot(commit: string): string {
    return join(this.root, 'snapshots', commit);
  }

  /** The commit `revision` names: itself when it is one, else what refs/{revision} recorded; null when unknown here. */
  commitOf(revision: string): string | null {
    if (COMMIT.test(revision)) return revision;
    const ref = join(this.root, 'refs', revision);
    if (!existsSync(ref)) return null;
    const commit = readFileSync(ref, 'utf8').trim();
    return COMMIT.test(commit) ? commit : null;
  }

  writeRef(revision: string, commit: string): void {
    if (revision === commit) return;
    const ref = join(this.root, 'refs', revision);
    mkdirSync(dirname(ref), { recursive: true });
    writeFileSync(ref, commit);
  }

  /** snapshots/{commit}/{path} -> blobs/{etag}, relative as Python links it; a copy where links are not allowed. */
  link(commit: string, path: string, etag: string): string {
    const at = join(this.snapshot(commit), path);
    mkdirSync(dirname(at), { recursive: true });
    if (lstatOrNull(at)) rmSync(at, { force: true });
    try {
      symlinkSync(relative(dirname(at), this.blob(etag)), at);
    } catch {
      copyFileSync(this.blob(etag), at);
    }
    return at;
  }
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
