import { realpathSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';

/**
 * Folders whose entries only look like files (kernel interfaces, devices): reading one may never
 * end (/dev/zero, /proc/kcore) and writing one is never what the operator meant. /dev/shm is an
 * ordinary memory file system and stays allowed.
 */
const SPECIAL_ROOTS = ['/proc', '/sys', '/dev'];
const ALLOWED_UNDER_SPECIAL = ['/dev/shm'];

function under(path: string, root: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/** The path with every symbolic link of its longest existing prefix resolved. */
export function realPathOfPrefix(path: string): string {
  let p = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return resolve(realpathSync(p), ...rest.reverse());
    } catch {
      const parent = dirname(p);
      if (parent === p) return resolve(path);
      rest.push(p.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
      p = parent;
    }
  }
}

/** The kernel or device folder `path` lies in (after links are followed), or null for an ordinary path. */
export function specialRootOf(path: string): string | null {
  if (process.platform === 'win32') return null;
  for (const candidate of [resolve(path), realPathOfPrefix(path)]) {
    if (ALLOWED_UNDER_SPECIAL.some((a) => under(candidate, a))) continue;
    const root = SPECIAL_ROOTS.find((r) => under(candidate, r));
    if (root) return root;
  }
  return null;
}
