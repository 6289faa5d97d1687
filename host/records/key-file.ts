/**
 * Writing a key file (signing keys in keys.ts, age identities and recipients in age-keys.ts).
 */
import { InputError } from '../errors';
import { writeFileAtomic } from '../files/atomic-write';

/**
 * Writes `text` to `path` through a temporary file in the same folder, then links it into place:
 * never a half-written key, and never over an existing file (two processes creating the bench key
 * at once: one wins, the other gets EEXIST, an InputError here).
 */
export function writeNewKeyFile(path: string, text: string, mode: number): void {
  try {
    writeFileAtomic(path, text, { replace: false, mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new InputError(`${path} already exists: refusing to overwrite a key (remove it first)`);
    throw e;
  }
}
