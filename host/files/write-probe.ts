/**
 * Probing, before the terminal is touched, that every path a run will write can be written: the
 * certificate folder, the backup file, the emulator's log and image, the audit database. A path
 * under /proc, /sys or /dev, a folder where a file is meant (or a file where a folder is), a
 * read-only file system, a missing permission are all bad input (exit 2) found here, not after
 * the erase (docs/cli.md, "Checked before the port is opened").
 */
import { accessSync, closeSync, constants, openSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../errors';
import { specialRootOf } from './special-paths';

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}: ${err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}` : String(err.message ?? e);
}

/** The folder itself when it exists, else its nearest existing ancestor (which must be a folder). */
function nearestExisting(dir: string, what: string, shown: string): string {
  let p = resolve(dir);
  for (;;) {
    const st = statOrNull(p);
    if (st) {
      if (!st.isDirectory()) throw new InputError(`${what} ${shown}: ${p} is a file, not a folder`);
      return p;
    }
    const parent = dirname(p);
    if (parent === p) return p;
    p = parent;
  }
}

/** Creates and removes an empty file in `dir`: the one test that catches read-only mounts, permissions and quotas alike. */
function probeCreate(dir: string, what: string, shown: string): void {
  const probe = join(dir, `.poswipe-write-probe-${process.pid}`);
  try {
    const fd = openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, Buffer.from([0]));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new InputError(`${what} ${shown}: cannot write in ${dir}: ${reason(e)}`);
  } finally {
    try {
      unlinkSync(probe);
    } catch {
      // never created
    }
  }
}

function refuseSpecial(path: string, what: string): void {
  const special = specialRootOf(path);
  if (special) throw new InputError(`${what} ${path}: under ${special}, which holds devices and kernel interfaces, not files: name an ordinary path`);
}

/**
 * A folder the run will create files in (created later, when needed). Nothing is created here
 * but a probe file, removed at once.
 */
export function probeWritableFolder(dir: string, what: string): void {
  refuseSpecial(dir, what);
  const st = statOrNull(dir);
  if (st && !st.isDirectory()) throw new InputError(`${what} ${dir}: is a file, not a folder`);
  probeCreate(nearestExisting(dir, what, dir), what, dir);
}

export interface FileProbe {
  /** the file may exist already (it is appended to, or replaced); false: it must not exist */
  mayExist: boolean;
}

/**
 * A file the run will write (through a temporary file in the same folder, or by appending).
 * An existing one must be a regular, writable file.
 */
export function probeWritableFile(path: string, what: string, o: FileProbe): void {
  refuseSpecial(path, what);
  if (path === '') throw new InputError(`${what}: the file name is empty`);
  const st = statOrNull(path);
  if (st) {
    if (st.isDirectory()) throw new InputError(`${what} ${path}: is a folder, not a file`);
    if (!st.isFile()) throw new InputError(`${what} ${path}: not a regular file (a device, pipe or socket)`);
    if (!o.mayExist) throw new InputError(`${what} ${path}: already exists (poswipe never writes over it)`);
    try {
      accessSync(path, constants.W_OK);
    } catch (e) {
      throw new InputError(`${what} ${path}: cannot write: ${reason(e)}`);
    }
  }
  probeCreate(nearestExisting(dirname(resolve(path)), what, path), what, path);
}
