/**
 * Reading a file the operator named, with a size limit fitted to its kind: a device, a pipe or an
 * endless file (/dev/zero, /proc/...) cannot hang the tool or fill its memory, and a file past
 * its kind's limit is refused before it is read (docs/cli.md, "Input files").
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from '../errors';
import { specialRootOf } from './special-paths';

const MiB = 1024 * 1024;

/** The largest file of each kind poswipe reads (each far above any real one). */
export const FILE_LIMITS = {
  /** a board JSON file (the shipped ones are under 8 KiB) */
  board: 1 * MiB,
  /** a certificate or failure report JSON (about 8 KiB) */
  certificate: 4 * MiB,
  /** a signed erase image (the engine module and its manifest, well under 1 MiB) */
  image: 32 * MiB,
  /** a backup file (the data regions of a part; the largest STM32 flash is 2 MiB) */
  backup: 64 * MiB,
  /** a PEM key file */
  key: 64 * 1024,
  /** a passphrase file (its first line is the passphrase) */
  passphrase: 64 * 1024,
  /** poswipe.json, the operator settings */
  settings: 1 * MiB,
} as const;

export type FileKind = keyof typeof FILE_LIMITS;

/** Why a file could not be read, in words (no stack, no errno number). */
export class FileReadError extends Error {
  constructor(
    readonly reason: string,
    readonly missing = false,
  ) {
    super(reason);
  }
}

function sizeText(n: number): string {
  return n >= MiB ? `${(n / MiB).toFixed(n % MiB ? 1 : 0)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} KiB` : `${n} bytes`;
}

/**
 * The bytes of a regular file of at most `limit` bytes; anything else throws FileReadError.
 * The file is opened without blocking (a FIFO with no writer does not wait), checked to be a
 * regular file, and read with a cap of limit + 1 bytes (a file that grows is still bounded).
 */
export function readBounded(path: string, limit: number): Buffer {
  const special = specialRootOf(path);
  if (special) throw new FileReadError(`not a regular file (it is under ${special}, which holds devices and kernel interfaces)`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new FileReadError('no such file', true);
    throw new FileReadError(err.message);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new FileReadError('EISDIR: illegal operation on a directory (a folder, not a file)');
    if (!st.isFile()) throw new FileReadError('not a regular file (a device, pipe or socket)');
    if (st.size > limit) throw new FileReadError(`too large: ${sizeText(st.size)}, and a file of this kind is at most ${sizeText(limit)}`);
    const buf = Buffer.alloc(Math.min(limit + 1, Math.max(st.size, 0) + 1));
    let n = 0;
    for (;;) {
      if (n === buf.length) break;
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > limit) throw new FileReadError(`too large: more than ${sizeText(limit)}, and a file of this kind is at most ${sizeText(limit)}`);
    if (n > st.size) throw new FileReadError('it grew while it was read');
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof FileReadError) throw e;
    throw new FileReadError((e as Error).message);
  } finally {
    closeSync(fd);
  }
}

/**
 * A file the operator named (`what` names it as the message should: "--trust", "backup"):
 * its bytes, or InputError (exit 2) "<what> <path>: no such file" / "cannot read: <why>".
 */
export function readInputFile(path: string, what: string, kind: FileKind, limit: number = FILE_LIMITS[kind]): Buffer {
  try {
    return readBounded(path, limit);
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    throw new InputError(`${what} ${path}: ${e.missing ? 'no such file' : `cannot read: ${e.reason}`}`);
  }
}
