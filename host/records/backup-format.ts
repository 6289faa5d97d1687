/**
 * The backup file (docs/backup-format.md):
 *
 *   offset 0        8 bytes   magic 89 50 57 42 4B 0D 0A 1A ("\x89PWBK\r\n\x1a")
 *   offset 8        4 bytes   header length H, unsigned little-endian
 *   offset 12       H bytes   header: UTF-8 JSON (board, product and unique ID, date, regions with
 *                             address, size and SHA-256, encryption parameters)
 *   offset 12+H     N bytes   AES-256-GCM ciphertext of the regions' bytes, in header order
 *                             (N = the sum of the regions' sizes)
 *   offset 12+H+N   16 bytes  GCM tag; the additional authenticated data is bytes 0 .. 12+H
 *
 * Pure: bytes in, bytes out. Every problem in a file is an InputError (exit 2) naming it.
 */
import { InputError } from '../errors';

export const MAGIC = Uint8Array.of(0x89, 0x50, 0x57, 0x42, 0x4b, 0x0d, 0x0a, 0x1a);
export const FORMAT_NAME = 'poswipe-backup';
export const FORMAT_VERSION = 1;
export const TAG_BYTES = 16;
export const IV_BYTES = 12;
const FIXED = MAGIC.length + 4;
const MAX_HEADER = 1 << 20;
const MAX_REGIONS = 256;
const MAX_PLAINTEXT = 64 * 1024 * 1024;

export interface BackupRegion {
  name: string;
  address: number;
  size: number;
  /** hex SHA-256 of the region's bytes as read from the terminal */
  sha256: string;
}

export type KeyInfo =
  | { kind: 'scrypt'; salt: string; N: number; r: number; p: number }
  | { kind: 'x25519'; recipient: string; ephemeral: string; kdf: 'hkdf-sha256' };

export interface BackupHeader {
  format: typeof FORMAT_NAME;
  version: typeof FORMAT_VERSION;
  board: string;
  /** "0x0413" */
  pid: string;
  /** hex of the unique ID */
  uid: string;
  /** ISO 8601, UTC */
  created: string;
  tool: string;
  regions: BackupRegion[];
  plaintextBytes: number;
  encryption: { cipher: 'aes-256-gcm'; iv: string; key: KeyInfo };
}

export interface ParsedBackup {
  header: BackupHeader;
  /** bytes 0 .. 12+H: the GCM additional data */
  aad: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** The header as it is written (addresses as hex strings, like board files). */
function headerToJson(h: BackupHeader): unknown {
  return { ...h, regions: h.regions.map((r) => ({ name: r.name, address: hex32(r.address), size: r.size, sha256: r.sha256 })) };
}

/** The fixed part and the header: also the additional authenticated data of the cipher. */
export function encodePrefix(header: BackupHeader): Uint8Array {
  const json = Buffer.from(JSON.stringify(headerToJson(header), null, 1) + '\n', 'utf8');
  const out = Buffer.alloc(FIXED + json.length);
  out.set(MAGIC, 0);
  out.writeUInt32LE(json.length, MAGIC.length);
  json.copy(out, FIXED);
  return out;
}

export function encodeBackup(prefix: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array {
  return Buffer.concat([prefix, ciphertext, tag]);
}

const HEX = /^[0-9a-f]*$/;

function need(cond: unknown, file: string, what: string): asserts cond {
  if (!cond) throw new InputError(`${file}: malformed backup header: ${what}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hexField(o: Record<string, unknown>, k: string, bytes: number | null, file: string, where: string): string {
  const v = o[k];
  need(typeof v === 'string' && HEX.test(v) && (bytes === null ? v.length % 2 === 0 && v.length > 0 : v.length === bytes * 2), file, `${where}${k} must be ${bytes === null ? 'lowercase hex' : `${bytes} bytes of lowercase hex`}`);
  return v as string;
}

function parseKeyInfo(v: unknown, file: string): KeyInfo {
  need(isObj(v), file, 'encryption.key must be an object');
  if (v.kind === 'scrypt') {
    const { N, r, p } = v;
    // bounded near what the writer uses (N 2^15, r 8, p 1): a header must not make a reader spend
    // gigabytes and minutes of scrypt before the GCM tag can say the file is forged
    need(Number.isInteger(N) && (N as number) >= 1024 && (N as number) <= 1 << 16 && ((N as number) & ((N as number) - 1)) === 0, file, 'encryption.key.N must be a power of two from 1024 to 65536');
    need(Number.isInteger(r) && (r as number) >= 1 && (r as number) <= 8, file, 'encryption.key.r must be 1..8');
    need(Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 2, file, 'encryption.key.p must be 1..2');
    return { kind: 'scrypt', salt: hexField(v, 'salt', 16, file, 'encryption.key.'), N: N as number, r: r as number, p: p as number };
  }
  if (v.kind === 'x25519') {
    need(typeof v.recipient === 'string' && /^sha256:[0-9a-f]{64}$/.test(v.recipient), file, 'encryption.key.recipient must be "sha256:<64 hex>"');
    need(v.kdf === 'hkdf-sha256', file, 'encryption.key.kdf must be "hkdf-sha256"');
    return { kind: 'x25519', recipient: v.recipient as string, ephemeral: hexField(v, 'ephemeral', 32, file, 'encryption.key.'), kdf: 'hkdf-sha256' };
  }
  throw new InputError(`${file}: malformed backup header: encryption.key.kind ${JSON.stringify(v.kind)} is not scrypt or x25519`);
}

function parseHeader(raw: unknown, file: string): BackupHeader {
  need(isObj(raw), file, 'not a JSON object');
  need(raw.format === FORMAT_NAME, file, `format must be "${FORMAT_NAME}"`);
  if (raw.version !== FORMAT_VERSION) throw new InputError(`${file}: backup format version ${JSON.stringify(raw.version)}: this poswipe reads version ${FORMAT_VERSION}`);
  for (const k of ['board', 'pid', 'uid', 'created', 'tool'] as const) need(typeof raw[k] === 'string' && (raw[k] as string).length > 0, file, `${k} must be a non-empty string`);
  need(/^0x[0-9a-f]{4}$/.test(raw.pid as string), file, 'pid must look like "0x0413"');
  need(HEX.test(raw.uid as string), file, 'uid must be lowercase hex');
  need(!Number.isNaN(Date.parse(raw.created as string)), file, 'created must be an ISO 8601 date');
  need(Array.isArray(raw.regions) && raw.regions.length <= MAX_REGIONS, file, `regions must be an array of at most ${MAX_REGIONS}`);
  const regions: BackupRegion[] = [];
  let total = 0;
  (raw.regions as unknown[]).forEach((r, i) => {
    const w = `regions[${i}].`;
    need(isObj(r), file, `${w.slice(0, -1)} must be an object`);
    need(typeof r.name === 'string' && r.name.length > 0, file, `${w}name must be a non-empty string`);
    need(typeof r.address === 'string' && /^0x[0-9a-f]{1,8}$/.test(r.address), file, `${w}address must be a hex string like "0x0800c000"`);
    need(Number.isInteger(r.size) && (r.size as number) > 0 && (r.size as number) <= MAX_PLAINTEXT, file, `${w}size must be a positive integer`);
    const address = parseInt(r.address as string, 16);
    const prev = regions[regions.length - 1];
    need(!prev || address >= prev.address + prev.size, file, `${w}address overlaps or precedes the region before it`);
    regions.push({ name: r.name as string, address, size: r.size as number, sha256: hexField(r, 'sha256', 32, file, w) });
    total += r.size as number;
  });
  need(total <= MAX_PLAINTEXT, file, `regions add up to ${total} bytes, more than ${MAX_PLAINTEXT}`);
  need(raw.plaintextBytes === total, file, `plaintextBytes ${JSON.stringify(raw.plaintextBytes)} is not the sum of the region sizes (${total})`);
  const enc = raw.encryption;
  need(isObj(enc), file, 'encryption must be an object');
  need(enc.cipher === 'aes-256-gcm', file, 'encryption.cipher must be "aes-256-gcm"');
  return {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    board: raw.board as string,
    pid: raw.pid as string,
    uid: raw.uid as string,
    created: raw.created as string,
    tool: raw.tool as string,
    regions,
    plaintextBytes: total,
    encryption: { cipher: 'aes-256-gcm', iv: hexField(enc, 'iv', IV_BYTES, file, 'encryption.'), key: parseKeyInfo(enc.key, file) },
  };
}

/** Splits a backup file into header, additional data, ciphertext and tag; checks every length. */
export function parseBackup(bytes: Uint8Array, file = 'backup'): ParsedBackup {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < MAGIC.length || !b.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) {
    if (b.length < MAGIC.length && Buffer.from(MAGIC).subarray(0, b.length).equals(b)) throw new InputError(`${file}: truncated backup: ${b.length} byte(s), not even the 8-byte magic`);
    throw new InputError(`${file}: not a poswipe backup (the file does not start with the magic bytes 89 50 57 42 4B 0D 0A 1A)`);
  }
  if (b.length < FIXED) throw new InputError(`${file}: truncated backup: ${b.length} bytes, the header length field ends at byte ${FIXED}`);
  const h = b.readUInt32LE(MAGIC.length);
  if (h === 0 || h > MAX_HEADER) throw new InputError(`${file}: malformed backup: header length ${h} (expected 1 to ${MAX_HEADER})`);
  if (b.length < FIXED + h) throw new InputError(`${file}: truncated backup: the header needs ${h} bytes, only ${b.length - FIXED} present`);
  let raw: unknown;
  try {
    raw = JSON.parse(b.subarray(FIXED, FIXED + h).toString('utf8'));
  } catch (e) {
    throw new InputError(`${file}: malformed backup header: not valid JSON (${(e as Error).message})`);
  }
  const header = parseHeader(raw, file);
  const expected = FIXED + h + header.plaintextBytes + TAG_BYTES;
  if (b.length < expected) {
    throw new InputError(`${file}: truncated backup: ${b.length} bytes, the header announces ${header.plaintextBytes} bytes of data and a ${TAG_BYTES}-byte tag (${expected} in all): ${expected - b.length} byte(s) missing`);
  }
  if (b.length > expected) throw new InputError(`${file}: malformed backup: ${b.length - expected} unexpected byte(s) after the tag`);
  return {
    header,
    aad: b.subarray(0, FIXED + h),
    ciphertext: b.subarray(FIXED + h, FIXED + h + header.plaintextBytes),
    tag: b.subarray(expected - TAG_BYTES),
  };
}
