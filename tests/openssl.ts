import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { toolSkip } from './helpers';

export const OPENSSL = '/usr/bin/openssl';
export const noOpenssl = toolSkip(existsSync(OPENSSL) ? false : `Debian's openssl is not installed (${OPENSSL}): apt-get install openssl`);

/** `openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in canonical -sigfile sig`, exactly as docs/records.md shows it. */
export function opensslVerify(pub: string, canonical: string, sig: string): { code: number; out: string } {
  const r = spawnSync(OPENSSL, ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', canonical, '-sigfile', sig], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
