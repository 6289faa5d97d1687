/**
 * The package root, found once: the nearest folder above this file with poswipe's package.json
 * (compiled, this file lives in build/host/files/; as source in host/files/). Everything that reads the
 * checkout (boards/, build/, the station's static files, the agent) starts from here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

let cachedRoot: string | undefined;

export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  for (let dir = __dirname; ;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'poswipe') return (cachedRoot = dir);
      } catch {
        // not ours; keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return (cachedRoot = path.resolve(__dirname, '..', '..', '..'));
}
