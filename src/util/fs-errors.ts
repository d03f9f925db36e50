/**
 * File-system errors in words a performer can act on: "the disk is full
 * (ENOSPC)" rather than "ENOSPC: no space left on device, write". The code
 * stays in the text so a bug report still carries it.
 */

const WORDS: Record<string, string> = {
  ENOSPC: 'the disk is full (ENOSPC)',
  EDQUOT: 'the disk quota is used up (EDQUOT)',
  EFBIG: 'the file is larger than this system allows (EFBIG)',
  EIO: 'the disk reported an input/output error (EIO; was it unplugged?)',
  ENOENT: 'the folder does not exist (ENOENT)',
  ENOTDIR: 'a part of the path is not a folder (ENOTDIR)',
  EISDIR: 'it is a folder (EISDIR)',
  EEXIST: 'it already exists (EEXIST)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'operation not permitted (EPERM)',
  EROFS: 'the file system is read-only (EROFS)',
  ENAMETOOLONG: 'the name is too long (ENAMETOOLONG)',
  EMFILE: 'too many open files (EMFILE)',
  ENFILE: 'too many open files on this system (ENFILE)',
};

/** The error's errno code (ENOSPC, ...), or undefined when it has none. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** What went wrong, in words, for a message that already names the file. */
export function describeFsError(err: unknown): string {
  const code = errnoCode(err);
  if (code && WORDS[code]) return WORDS[code];
  if (err instanceof Error) return err.message;
  return String(err);
}
