/**
 * Backup encryption: AES-256-GCM under a key that comes either from a passphrase (scrypt) or from
 * an X25519 exchange with a recipient's public key (ephemeral key, HKDF-SHA256). node:crypto only.
 */
import { readInputFile } from '../files/read-bounded';
import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, scryptSync, type KeyObject } from 'node:crypto';
import { InputError } from '../errors';
import { IV_BYTES, TAG_BYTES, type KeyInfo } from './backup-format';
import { keyId } from './keys';

/** What a backup is encrypted with. */
export type BackupSecret = { kind: 'passphrase'; passphrase: string; source: string } | { kind: 'recipient'; publicKey: KeyObject; source: string };

/** What a backup can be decrypted with (each asked for only when the file needs it). */
export interface DecryptionKeys {
  passphrase?: () => string;
  x25519?: () => { privateKey: KeyObject; source: string };
}

export const SCRYPT = { N: 1 << 15, r: 8, p: 1 } as const;
const HKDF_INFO = 'poswipe-backup v1 aes-256-gcm';
const WRONG = 'wrong passphrase or corrupted backup';

export function rawX25519(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' }) as { x?: string };
  return Buffer.from(jwk.x ?? '', 'base64url');
}

function x25519FromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}

function scryptKey(passphrase: string, salt: Buffer, k: { N: number; r: number; p: number }): Buffer {
  return scryptSync(passphrase.normalize('NFC'), salt, 32, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r + 1024 * 1024 });
}

function hkdfKey(shared: Buffer, ephemeral: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), HKDF_INFO, 32));
}

/** A fresh key for one backup and the header fields that let the reader derive it again. */
export function newBackupKey(secret: BackupSecret): { key: Buffer; iv: Buffer; keyInfo: KeyInfo } {
  const iv = randomBytes(IV_BYTES);
  if (secret.kind === 'passphrase') {
    const salt = randomBytes(16);
    return { key: scryptKey(secret.passphrase, salt, SCRYPT), iv, keyInfo: { kind: 'scrypt', salt: salt.toString('hex'), ...SCRYPT } };
  }
  const eph = generateKeyPairSync('x25519');
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: secret.publicKey });
  const ephRaw = rawX25519(eph.publicKey);
  const key = hkdfKey(shared, ephRaw, rawX25519(secret.publicKey));
  return { key, iv, keyInfo: { kind: 'x25519', recipient: keyId(secret.publicKey), ephemeral: ephRaw.toString('hex'), kdf: 'hkdf-sha256' } };
}

/** Derives the key of an existing backup from its header; says clearly which secret is missing. */
export function backupKeyFor(info: KeyInfo, keys: DecryptionKeys, file: string): Buffer {
  if (info.kind === 'scrypt') {
    if (!keys.passphrase) throw new InputError(`${file} is encrypted with a passphrase: give --passphrase-file <file> or set POSWIPE_BACKUP_PASSPHRASE`);
    return scryptKey(keys.passphrase(), Buffer.from(info.salt, 'hex'), info);
  }
  if (!keys.x25519) throw new InputError(`${file} is encrypted to the X25519 key ${info.recipient}: give --key <private.pem>`);
  const { privateKey, source } = keys.x25519();
  const mine = keyId(privateKey);
  if (mine !== info.recipient) throw new InputError(`${file} is encrypted to the X25519 key ${info.recipient}, but ${source} is ${mine}: give the recipient's private key with --key`);
  const ephRaw = Buffer.from(info.ephemeral, 'hex');
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: x25519FromRaw(ephRaw) });
  } catch (e) {
    throw new InputError(`${file}: ${WRONG} (the ephemeral key is not usable: ${(e as Error).message})`);
  }
  return hkdfKey(shared, ephRaw, rawX25519(privateKey));
}

export function encrypt(key: Buffer, iv: Buffer, aad: Uint8Array, plaintext: Uint8Array): { ciphertext: Buffer; tag: Buffer } {
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  c.setAAD(aad);
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
  return { ciphertext, tag: c.getAuthTag() };
}

/** Decrypts and authenticates; any mismatch (key, header, data, tag) is one InputError. */
export function decrypt(key: Buffer, iv: Buffer, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, file: string): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  d.setAAD(aad);
  d.setAuthTag(tag);
  try {
    return Buffer.concat([d.update(ciphertext), d.final()]);
  } catch {
    throw new InputError(`${file}: ${WRONG} (the AES-256-GCM tag does not match)`);
  }
}

/** The passphrase from --passphrase-file (first line) or POSWIPE_BACKUP_PASSPHRASE, or null. */
export function passphraseFrom(file: string | undefined, env: NodeJS.ProcessEnv = process.env): { passphrase: string; source: string } | null {
  if (file !== undefined) {
    const text = readInputFile(file, '--passphrase-file', 'passphrase').toString('utf8').split(/\r?\n/)[0];
    if (!text) throw new InputError(`--passphrase-file ${file}: the first line is empty`);
    return { passphrase: text, source: file };
  }
  const v = env.POSWIPE_BACKUP_PASSPHRASE;
  if (v !== undefined && v !== '') return { passphrase: v, source: 'POSWIPE_BACKUP_PASSPHRASE' };
  return null;
}
