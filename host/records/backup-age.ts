/**
 * Backup encryption in the age format (age-encryption.org/v1, npm `age-encryption`): the backup
 * file is an age file whose plaintext is the container of backup-container.ts. Debian's
 * `age -d -i <identity> <backup>` (or `age -d` with the passphrase) decrypts it.
 *
 *   to recipients   one or more age X25519 public keys (age1…): the bench's own identity file, a
 *                   --recipient, or the settings file's backupRecipient
 *   to a passphrase age's scrypt recipient, work factor 2^SCRYPT_LOG_N
 *
 * The reader looks at the age header first (its stanza lines are plain text) to say which secret
 * the file needs, and refuses a version 1 poswipe backup (the AES-256-GCM format) by its magic.
 */
import { InputError } from '../errors';
import { LEGACY_MAGIC } from './backup-container';

// age-encryption is an ES module; Node 20.19+ loads it with require(). Loaded on first use.
type Age = typeof import('age-encryption');
let ageModule: Age | null = null;
function age(): Age {
  return (ageModule ??= require('age-encryption') as Age);
}

/** What a backup is encrypted to. */
export type BackupSecret = { kind: 'passphrase'; passphrase: string; source: string } | { kind: 'recipients'; recipients: string[]; source: string };

/** What a backup can be decrypted with (each asked for only when the file needs it). */
export interface DecryptionKeys {
  passphrase?: () => string;
  /** age identities (AGE-SECRET-KEY-1…) and where they came from */
  identities?: () => { identities: string[]; source: string };
}

/** scrypt work factor of a new passphrase backup: 2^15, the cost of the version 1 format (age's own default is 2^18) */
export const SCRYPT_LOG_N = 15;
/** the highest work factor the reader runs: a file must not make a reader spend minutes and gigabytes before its MAC can say it is forged */
export const MAX_READ_LOG_N = 18;

const AGE_INTRO = 'age-encryption.org/v1\n';
const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const MAX_HEADER = 64 * 1024;
export const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

/** The stanzas of an age file's header: their type and arguments (bodies are not needed). */
export interface AgeHeader {
  stanzas: { type: string; args: string[] }[];
}

function startsWith(b: Uint8Array, prefix: Uint8Array | string): boolean {
  const p = typeof prefix === 'string' ? Buffer.from(prefix, 'latin1') : prefix;
  return b.length >= p.length && Buffer.from(b.buffer, b.byteOffset, p.length).equals(Buffer.from(p));
}

/** An armored file decoded to binary; a binary file as it is. */
function binary(bytes: Uint8Array, file: string): Uint8Array {
  if (!startsWith(bytes, ARMOR_BEGIN)) return bytes;
  try {
    return age().armor.decode(Buffer.from(bytes).toString('latin1'));
  } catch (e) {
    throw new InputError(`${file}: malformed armored age file: ${(e as Error).message}`);
  }
}

/** Reads the stanza lines of an age header; says clearly what a file that is not one is. */
export function readAgeHeader(bytes: Uint8Array, file: string): AgeHeader {
  if (startsWith(bytes, LEGACY_MAGIC)) {
    throw new InputError(
      `${file}: a poswipe backup in the old format (version 1, AES-256-GCM): this poswipe reads only age backups (version 2); restore it with poswipe 0.1.x`,
    );
  }
  const b = binary(bytes, file);
  if (!startsWith(b, AGE_INTRO)) {
    if (b.length < AGE_INTRO.length && startsWith(Buffer.from(AGE_INTRO), b))
      throw new InputError(`${file}: truncated backup: ${b.length} byte(s), not even the age header line`);
    throw new InputError(`${file}: not a poswipe backup (not an age file: it does not start with "age-encryption.org/v1")`);
  }
  const text = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, MAX_HEADER)).toString('latin1');
  const lines = text.split('\n');
  const stanzas: AgeHeader['stanzas'] = [];
  for (let i = 1; i < lines.length - 1; i++) {
    const line = lines[i];
    if (line.startsWith('--- ')) {
      if (!stanzas.length) throw new InputError(`${file}: malformed age header: no recipient stanza`);
      return { stanzas };
    }
    if (line.startsWith('-> ')) {
      const [type, ...args] = line.slice(3).split(' ');
      stanzas.push({ type, args });
    }
  }
  throw new InputError(
    `${file}: truncated backup: the age header does not end (no "---" line${b.length >= MAX_HEADER ? ` in its first ${MAX_HEADER} bytes` : ''})`,
  );
}

/** "scrypt passphrase (2^15)" or "age X25519 (1 recipient)": what the certificate and the report say. */
export function describeAgeHeader(h: AgeHeader): string {
  const scrypt = h.stanzas.find((s) => s.type === 'scrypt');
  if (scrypt) return `age scrypt passphrase (2^${scrypt.args[1] ?? '?'})`;
  const x = h.stanzas.filter((s) => s.type === 'X25519').length;
  return `age X25519 (${x} recipient${x === 1 ? '' : 's'})`;
}

/**
 * Encrypts a container. With recipients, the file key is also returned (captured by a recipient
 * that adds no stanza), so that the writer can check the file it wrote without the private key.
 */
export async function encryptBackup(plaintext: Uint8Array, secret: BackupSecret): Promise<{ bytes: Uint8Array; fileKey: Uint8Array | null }> {
  const e = new (age().Encrypter)();
  let fileKey: Uint8Array | null = null;
  if (secret.kind === 'passphrase') {
    e.setPassphrase(secret.passphrase.normalize('NFC'));
    e.setScryptWorkFactor(SCRYPT_LOG_N);
  } else {
    if (!secret.recipients.length) throw new InputError(`${secret.source}: no age recipient`);
    for (const r of secret.recipients) e.addRecipient(r);
    e.addRecipient({
      wrapFileKey: (k: Uint8Array) => {
        fileKey = Uint8Array.from(k);
        return [];
      },
    });
  }
  return { bytes: await e.encrypt(plaintext), fileKey };
}

const WRONG_PASS = 'wrong passphrase or corrupted backup';

function ageFailure(e: unknown, file: string, kind: 'passphrase' | 'identity', source: string): InputError {
  const msg = (e as Error).message ?? String(e);
  if (/no identity matched/i.test(msg)) {
    return new InputError(
      kind === 'passphrase'
        ? `${file}: ${WRONG_PASS} (the age scrypt stanza does not open with this passphrase)`
        : `${file}: the age identity ${source} does not open this backup: it is encrypted to another age key (give the recipient's identity file with --key)`,
    );
  }
  if (/header|stanza|version|non-ASCII/i.test(msg)) return new InputError(`${file}: corrupted backup: the age header does not authenticate (age: ${msg})`);
  // past the header the file key was right: the payload (ChaCha20-Poly1305 chunks, the last one marked) was cut or changed
  return new InputError(`${file}: truncated backup or corrupted data: the age payload does not authenticate (age: ${msg})`);
}

/** Decrypts a backup file (binary or armored age) to its container; every failure is one InputError. */
export async function decryptBackup(bytes: Uint8Array, keys: DecryptionKeys, file: string): Promise<Uint8Array> {
  const header = readAgeHeader(bytes, file);
  const b = binary(bytes, file);
  const scrypt = header.stanzas.find((s) => s.type === 'scrypt');
  const d = new (age().Decrypter)();
  if (scrypt) {
    if (header.stanzas.length !== 1) throw new InputError(`${file}: malformed age header: a scrypt stanza must be the only one`);
    const logN = Number(scrypt.args[1]);
    if (!/^[1-9][0-9]?$/.test(scrypt.args[1] ?? '') || logN > MAX_READ_LOG_N)
      throw new InputError(
        `${file}: the age scrypt work factor ${JSON.stringify(scrypt.args[1])} is not 1 to ${MAX_READ_LOG_N}: refused before running scrypt`,
      );
    if (!keys.passphrase) throw new InputError(`${file} is encrypted with a passphrase: give --passphrase-file <file> or set POSWIPE_BACKUP_PASSPHRASE`);
    d.addPassphrase(keys.passphrase().normalize('NFC'));
    try {
      return await d.decrypt(b);
    } catch (e) {
      throw ageFailure(e, file, 'passphrase', '');
    }
  }
  if (!header.stanzas.some((s) => s.type === 'X25519'))
    throw new InputError(
      `${file}: the age file has no X25519 or scrypt stanza (types: ${header.stanzas.map((s) => s.type).join(', ')}): poswipe cannot open it`,
    );
  if (!keys.identities) throw new InputError(`${file} is encrypted to an age X25519 key: give its identity file with --key <identity>`);
  const { identities, source } = keys.identities();
  for (const i of identities) d.addIdentity(i);
  try {
    return await d.decrypt(b);
  } catch (e) {
    throw ageFailure(e, file, 'identity', source);
  }
}

/** Decrypts with a known file key (the writer's check of its own file). */
export async function decryptWithFileKey(bytes: Uint8Array, fileKey: Uint8Array, file: string): Promise<Uint8Array> {
  const d = new (age().Decrypter)();
  d.addIdentity({ unwrapFileKey: () => fileKey });
  try {
    return await d.decrypt(bytes);
  } catch (e) {
    throw new InputError(`${file}: read back, the age file does not decrypt with its own file key: ${(e as Error).message}`);
  }
}
