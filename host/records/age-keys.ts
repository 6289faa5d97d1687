/**
 * age keys for backups: identity files (the age-keygen format, which `age -d -i` reads) and
 * recipients (age1… public keys).
 *
 *   identity file   "# created: <time>\n# public key: age1…\nAGE-SECRET-KEY-1…\n", mode 0600
 *   recipient file  one age1… per line (# comments and blank lines allowed), like `age -R`
 *
 * The bench's own pair lives in the config directory, created on first use:
 *   <config dir>/backup.key.txt   identity (private: restores need it)
 *   <config dir>/backup.pub.txt   its recipient
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { readInputFile } from '../files/read-bounded';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../errors';
import { writeNewKeyFile } from './key-file';
import { AGE_RECIPIENT } from './backup-age';
import { bech32Decode, bech32Encode } from './bech32';
import { ensureConfigDir, configDir } from './config';

const AGE_IDENTITY = /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/;

export const BENCH_IDENTITY = 'backup.key.txt';
export const BENCH_RECIPIENT = 'backup.pub.txt';

function meaningfulLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function readText(path: string, what: string): string {
  return readInputFile(path, what, 'key').toString('utf8');
}

/** The identities of an identity file; a PEM key (the version 1 backup key) is refused by name. */
export function readIdentityFile(path: string, what = '--key'): string[] {
  const text = readText(path, what);
  if (text.includes('-----BEGIN')) return [identityFromPem(text, path, what)];
  const lines = meaningfulLines(text);
  const bad = lines.find((l) => !AGE_IDENTITY.test(l));
  if (bad !== undefined || !lines.length)
    throw new InputError(
      `${what} ${path}: not an age identity file (expected AGE-SECRET-KEY-1… lines${bad !== undefined ? `, found "${bad.slice(0, 20)}…"` : ''})`,
    );
  return lines;
}

/**
 * `--recipient`: an age public key (age1…), or a file of them (one a line). Returns the
 * recipients and where they came from.
 */
export function parseRecipients(arg: string, what = '--recipient'): { recipients: string[]; source: string } {
  if (arg.startsWith('age1')) {
    if (!AGE_RECIPIENT.test(arg)) throw new InputError(`${what} ${arg}: not an age X25519 public key (age1 followed by 58 bech32 characters)`);
    return { recipients: [arg], source: arg };
  }
  const text = readText(arg, what);
  if (text.includes('-----BEGIN')) throw new InputError(`${what} ${arg}: a PEM key, not an age recipient: give an age public key (age1…) or a file of them`);
  const lines = meaningfulLines(text);
  const bad = lines.find((l) => !AGE_RECIPIENT.test(l));
  if (bad !== undefined || !lines.length)
    throw new InputError(`${what} ${arg}: not an age recipient file (expected age1… lines${bad !== undefined ? `, found "${bad.slice(0, 20)}…"` : ''})`);
  return { recipients: lines, source: resolve(arg) };
}

/** PKCS#8 DER of an X25519 private key is this fixed prefix and the 32-byte scalar (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The age1… recipient of an AGE-SECRET-KEY-1… identity (X25519 through node:crypto, synchronously). */
export function recipientOf(identity: string): string {
  const d = bech32Decode(identity);
  if (!d || d.hrp !== 'age-secret-key-' || d.bytes.length !== 32) throw new InputError('not an age X25519 identity');
  const priv = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, d.bytes]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(priv).export({ format: 'jwk' }) as { x?: string };
  return bech32Encode('age', Buffer.from(jwk.x ?? '', 'base64url'));
}

/**
 * An X25519 private key in PEM (the version 1 bench key backup.key.pem, or keys new --type x25519)
 * as an age identity: the same 32-byte scalar, so a kept copy of the old key opens new backups.
 */
export function identityFromPem(pem: string, path: string, what: string): string {
  let key;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new InputError(`${what} ${path}: a PEM file but not a private key (${(e as Error).message}): give an age identity file (AGE-SECRET-KEY-1…)`);
  }
  if (key.asymmetricKeyType !== 'x25519')
    throw new InputError(`${what} ${path}: a ${key.asymmetricKeyType} key: backups take an age identity (AGE-SECRET-KEY-1…) or an X25519 private key`);
  const d = (key.export({ format: 'jwk' }) as { d?: string }).d ?? '';
  return bech32Encode('age-secret-key-', Buffer.from(d, 'base64url')).toUpperCase();
}

/** A new age X25519 identity and its recipient. */
export function newAgeIdentity(): { identity: string; recipient: string } {
  const identity = bech32Encode('age-secret-key-', randomBytes(32)).toUpperCase();
  return { identity, recipient: recipientOf(identity) };
}

export function identityFileText(identity: string, recipient: string, created = new Date()): string {
  return `# created: ${created.toISOString().replace(/\.\d{3}Z$/, 'Z')}\n# public key: ${recipient}\n${identity}\n`;
}

/** `keys new --type age`: <prefix>.key.txt (identity, 0600) and <prefix>.pub.txt (recipient); never overwrites. */
export function writeNewAgeIdentity(prefix: string): { privatePath: string; publicPath: string; recipient: string } {
  const privatePath = resolve(`${prefix}.key.txt`);
  const publicPath = resolve(`${prefix}.pub.txt`);
  for (const p of [privatePath, publicPath])
    if (existsSync(p)) throw new InputError(`${p} already exists: refusing to overwrite a key (choose another --out or remove it)`);
  const k = newAgeIdentity();
  writeNewKeyFile(privatePath, identityFileText(k.identity, k.recipient), 0o600);
  writeNewKeyFile(publicPath, `${k.recipient}\n`, 0o644);
  return { privatePath, publicPath, recipient: k.recipient };
}

export interface BenchIdentity {
  identities: string[];
  recipient: string;
  identityPath: string;
  recipientPath: string;
  created: boolean;
}

/** The bench's age identity in the config directory, created on first use (two processes: one wins, both use it). */
export function benchAgeIdentity(): BenchIdentity {
  const dir = ensureConfigDir();
  const identityPath = join(dir, BENCH_IDENTITY);
  const recipientPath = join(dir, BENCH_RECIPIENT);
  let created = false;
  if (!existsSync(identityPath)) {
    // a bench of the version 1 format keeps its X25519 key: the same key, in age's form
    const legacy = join(dir, 'backup.key.pem');
    const k = existsSync(legacy)
      ? ((i) => ({ identity: i, recipient: recipientOf(i) }))(identityFromPem(readText(legacy, 'bench backup key'), legacy, 'bench backup key'))
      : newAgeIdentity();
    try {
      writeNewKeyFile(identityPath, identityFileText(k.identity, k.recipient), 0o600);
      created = true;
    } catch (e) {
      if (!existsSync(identityPath)) throw e;
    }
  }
  const identities = readIdentityFile(identityPath, 'bench backup identity');
  const recipient = recipientOf(identities[0]);
  if (!existsSync(recipientPath)) {
    try {
      writeNewKeyFile(recipientPath, `${recipient}\n`, 0o644);
    } catch (e) {
      if (!existsSync(recipientPath)) throw e;
    }
  }
  return { identities, recipient, identityPath, recipientPath, created };
}

/** The bench identity file's path when it exists (restore's default key), else null. */
export function benchIdentityPath(): string | null {
  const p = join(configDir(), BENCH_IDENTITY);
  return existsSync(p) ? p : null;
}
