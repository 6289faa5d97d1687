/**
 * Writing a key file (signing keys in keys.ts, age identities and recipients in age-keys.ts).
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../errors';

/**
 * Writes `text` to `path` through a temporary file in the same folder, then links it into place:
 * never a half-written key, and never over an existing file (two processes creating the bench key
 * at once: one wins, the other gets EEXIST, an InputError here).
 */
export function writeNewKeyFile(path: string, text: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.partial-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeFileSync(fd, text); // every byte, or ENOSPC (writeSync may write part of it)
    fsyncSync(fd);
    closeSync(fd);
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new InputError(`${path} already exists: refusing to overwrite a key (remove it first)`);
    throw e;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}
