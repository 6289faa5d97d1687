/**
 * The one way poswipe puts a whole file in place: written to a temporary file next to it, flushed
 * to the disk (fsync), then renamed over the target (`replace`) or hard-linked to it (never over an
 * existing file: EEXIST), and the folder flushed so the new name survives a power cut. A reader
 * sees the old file or the new one, never part of one; the temporary file never outlives the call.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** rename over an existing file (true) or refuse one with EEXIST (false: a key, a certificate) */
  replace: boolean;
  /** permission bits of a new file (default 0o666, less the umask) */
  mode?: number;
}

/** The temporary name used next to `path` (hidden, and named so a leftover is recognisable). */
export function partialPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Flushes a folder's entries; some file systems refuse it, and then the rename alone is still atomic. */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported here
  }
}

export function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = partialPath(path);
  try {
    const fd = openSync(tmp, 'wx', options.mode ?? 0o666);
    try {
      writeFileSync(fd, data); // every byte, or ENOSPC (writeSync may write part of it)
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (options.replace) renameSync(tmp, path);
    else linkSync(tmp, path);
    fsyncDir(dirname(path));
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // renamed, or never created
    }
  }
}
