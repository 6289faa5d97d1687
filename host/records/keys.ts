/**
 * Key files: the Ed25519 pair that signs certificates and the X25519 pair that backups are
 * encrypted to. Private keys are PKCS#8 PEM written with mode 0600, public keys SPKI PEM.
 *
 * The bench's own pairs live in the config directory (config.ts) and are created on first use:
 *   <config dir>/signing.key.pem, signing.pub.pem    Ed25519, signs certificates
 *   <config dir>/backup.key.pem,  backup.pub.pem     X25519, default backup recipient
 */
import { readInputFile } from '../files/read-bounded';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { keyId } from '../key-id';
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../errors';
import { writeNewKeyFile } from './key-file';
import { ensureConfigDir } from './config';

export type KeyKind = 'ed25519' | 'x25519';

export interface KeyPairPaths {
  privatePath: string;
  publicPath: string;
}

/** "sha256:<hex>" of the public key's SPKI DER: how every record names a key (host/key-id.ts). */
export { keyId } from '../key-id';

/** Creates `<prefix>.key.pem` (private, 0600) and `<prefix>.pub.pem`; refuses to overwrite either. */
export function writeNewKeyPair(prefix: string, kind: KeyKind = 'ed25519'): KeyPairPaths & { keyId: string } {
  // "" or "dir/" would write hidden files named .key.pem and .pub.pem
  if (prefix.trim() === '' || /[\\/]$/.test(prefix) || basename(prefix).startsWith('.') || (existsSync(prefix) && statSync(prefix).isDirectory())) {
    throw new InputError(
      `--out "${prefix}": not a file name prefix; give one such as ${join(prefix.trim() && existsSync(prefix) ? prefix : '.', 'bench')} (writes bench.key.pem and bench.pub.pem)`,
    );
  }
  const privatePath = resolve(`${prefix}.key.pem`);
  const publicPath = resolve(`${prefix}.pub.pem`);
  for (const p of [privatePath, publicPath])
    if (existsSync(p)) throw new InputError(`${p} already exists: refusing to overwrite a key (choose another --out or remove it)`);
  const pair = kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('x25519');
  const privPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const pubPem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  writeNewKeyFile(privatePath, privPem, 0o600);
  writeNewKeyFile(publicPath, pubPem, 0o644);
  return { privatePath, publicPath, keyId: keyId(pair.publicKey) };
}

function readPem(path: string, what: string): string {
  return readInputFile(path, what, 'key').toString('utf8');
}

/** Loads a private key file and checks its kind (exit 2 when it is not one). */
export function loadPrivateKey(path: string, kind: KeyKind, what = 'key'): KeyObject {
  const pem = readPem(path, what);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new InputError(`${what} ${path}: not a private key in PEM: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== kind) throw new InputError(`${what} ${path}: a ${key.asymmetricKeyType} key, expected ${kind}`);
  return key;
}

/** Loads a public key file (a private key file is accepted too: its public half is used). */
export function loadPublicKey(path: string, kind: KeyKind, what = 'public key'): KeyObject {
  const pem = readPem(path, what);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new InputError(`${what} ${path}: not a public key in PEM: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== kind) throw new InputError(`${what} ${path}: a ${key.asymmetricKeyType} key, expected ${kind}`);
  return key;
}

export interface BenchKey {
  privateKey: KeyObject;
  privatePath: string;
  publicPath: string;
  /** true when this call created the pair */
  created: boolean;
}

/** The bench's own key pair of `kind` in the config directory, created on first use. */
export function benchKey(name: 'signing' | 'backup'): BenchKey {
  const kind: KeyKind = name === 'signing' ? 'ed25519' : 'x25519';
  const dir = ensureConfigDir();
  const prefix = join(dir, name);
  const privatePath = `${prefix}.key.pem`;
  const publicPath = `${prefix}.pub.pem`;
  let created = false;
  if (!existsSync(privatePath)) {
    const pair = kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('x25519');
    try {
      writeNewKeyFile(privatePath, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
      created = true;
    } catch (e) {
      if (!existsSync(privatePath)) throw e; // another process created it first: use theirs
    }
  }
  const privateKey = loadPrivateKey(privatePath, kind, `bench ${name} key`);
  if (!existsSync(publicPath)) {
    try {
      writeNewKeyFile(publicPath, createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string, 0o644);
    } catch (e) {
      if (!existsSync(publicPath)) throw e;
    }
  }
  return { privateKey, privatePath, publicPath, created };
}
