/**
 * The plaintext of a backup (docs/backup-format.md): what `age -d` gives back.
 *
 *   offset 0        8 bytes   magic 89 50 57 42 43 0D 0A 1A ("\x89PWBC\r\n\x1a")
 *   offset 8        4 bytes   manifest length M, unsigned little-endian (1 .. 1 MiB)
 *   offset 12       M bytes   manifest: UTF-8 JSON (board, product and unique ID, date, tool, and
 *                             each region's name, address, size, offset and SHA-256)
 *   offset 12+M     N bytes   the regions' bytes, concatenated in manifest order; region i starts
 *                             at 12 + M + regions[i].offset (N = the sum of the sizes)
 *
 * All of it is inside the age encryption: no digest of the terminal's data is readable without
 * the key. Pure: bytes in, bytes out. Every problem is an InputError (exit 2) naming it.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors';
import { hex32 } from '../format/hex';

export const CONTAINER_MAGIC = Uint8Array.of(0x89, 0x50, 0x57, 0x42, 0x43, 0x0d, 0x0a, 0x1a);
/** the magic of the version 1 file (AES-256-GCM, header in the clear): refused with a clear message */
export const LEGACY_MAGIC = Uint8Array.of(0x89, 0x50, 0x57, 0x42, 0x4b, 0x0d, 0x0a, 0x1a);
export const FORMAT_NAME = 'poswipe-backup';
export const FORMAT_VERSION = 2;
const FIXED = CONTAINER_MAGIC.length + 4;
const MAX_MANIFEST = 1 << 20;
const MAX_REGIONS = 256;
export const MAX_DATA = 64 * 1024 * 1024;

export interface BackupRegion {
  name: string;
  address: number;
  size: number;
  /** hex SHA-256 of the region's bytes as read from the terminal */
  sha256: string;
}

/** The manifest, parsed (addresses as numbers; offsets implied by the order). */
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
  dataBytes: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The container for `data` (one buffer per region, in `regions` order). */
export function encodeContainer(
  meta: Omit<BackupHeader, 'format' | 'version' | 'regions' | 'dataBytes'>,
  regions: { name: string; address: number; size: number }[],
  data: Uint8Array[],
): { bytes: Uint8Array; header: BackupHeader } {
  if (regions.length !== data.length) throw new TypeError(`encodeContainer: ${regions.length} region(s), ${data.length} buffer(s)`);
  let offset = 0;
  const listed = regions.map((r, i) => {
    if (data[i].length !== r.size) throw new TypeError(`encodeContainer: region ${r.name} is ${r.size} bytes, its buffer ${data[i].length}`);
    const e = { name: r.name, address: hex32(r.address), size: r.size, offset, sha256: sha256Hex(data[i]) };
    offset += r.size;
    return e;
  });
  const manifest = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    board: meta.board,
    pid: meta.pid,
    uid: meta.uid,
    created: meta.created,
    tool: meta.tool,
    regions: listed,
    dataBytes: offset,
  };
  const json = Buffer.from(JSON.stringify(manifest, null, 1) + '\n', 'utf8');
  const head = Buffer.alloc(FIXED);
  head.set(CONTAINER_MAGIC, 0);
  head.writeUInt32LE(json.length, CONTAINER_MAGIC.length);
  const header: BackupHeader = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    board: meta.board,
    pid: meta.pid,
    uid: meta.uid,
    created: meta.created,
    tool: meta.tool,
    regions: listed.map((r) => ({ name: r.name, address: parseInt(r.address, 16), size: r.size, sha256: r.sha256 })),
    dataBytes: offset,
  };
  return { bytes: Buffer.concat([head, json, ...data]), header };
}

const HEX = /^[0-9a-f]*$/;

function need(cond: unknown, file: string, what: string): asserts cond {
  if (!cond) throw new InputError(`${file}: malformed backup manifest: ${what}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const MANIFEST_FIELDS = ['format', 'version', 'board', 'pid', 'uid', 'created', 'tool', 'regions', 'dataBytes'];
const REGION_FIELDS = ['name', 'address', 'size', 'offset', 'sha256'];

function onlyFields(o: Record<string, unknown>, known: string[], file: string, where: string): void {
  const extra = Object.keys(o).filter((k) => !known.includes(k));
  need(extra.length === 0, file, `${where}unknown field(s) ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
}

function parseManifest(raw: unknown, file: string): BackupHeader {
  need(isObj(raw), file, 'not a JSON object');
  need(raw.format === FORMAT_NAME, file, `format must be "${FORMAT_NAME}"`);
  if (raw.version !== FORMAT_VERSION)
    throw new InputError(`${file}: backup format version ${JSON.stringify(raw.version)}: this poswipe reads version ${FORMAT_VERSION}`);
  onlyFields(raw, MANIFEST_FIELDS, file, '');
  for (const k of ['board', 'pid', 'uid', 'created', 'tool'] as const)
    need(typeof raw[k] === 'string' && (raw[k] as string).length > 0, file, `${k} must be a non-empty string`);
  need(/^0x[0-9a-f]{4}$/.test(raw.pid as string), file, 'pid must look like "0x0413"');
  need(HEX.test(raw.uid as string), file, 'uid must be lowercase hex');
  need(!Number.isNaN(Date.parse(raw.created as string)), file, 'created must be an ISO 8601 date');
  need(Array.isArray(raw.regions) && raw.regions.length <= MAX_REGIONS, file, `regions must be an array of at most ${MAX_REGIONS}`);
  const regions: BackupRegion[] = [];
  let total = 0;
  (raw.regions as unknown[]).forEach((r, i) => {
    const w = `regions[${i}].`;
    need(isObj(r), file, `${w.slice(0, -1)} must be an object`);
    onlyFields(r, REGION_FIELDS, file, w);
    need(typeof r.name === 'string' && r.name.length > 0, file, `${w}name must be a non-empty string`);
    need(typeof r.address === 'string' && /^0x[0-9a-f]{1,8}$/.test(r.address), file, `${w}address must be a hex string like "0x0800c000"`);
    need(Number.isInteger(r.size) && (r.size as number) > 0 && (r.size as number) <= MAX_DATA, file, `${w}size must be a positive integer`);
    need(r.offset === total, file, `${w}offset must be ${total} (the regions are stored one after the other)`);
    need(typeof r.sha256 === 'string' && /^[0-9a-f]{64}$/.test(r.sha256), file, `${w}sha256 must be 32 bytes of lowercase hex`);
    const address = parseInt(r.address as string, 16);
    const prev = regions[regions.length - 1];
    need(!prev || address >= prev.address + prev.size, file, `${w}address overlaps or precedes the region before it`);
    regions.push({ name: r.name as string, address, size: r.size as number, sha256: r.sha256 as string });
    total += r.size as number;
    need(total <= MAX_DATA, file, `regions add up to more than ${MAX_DATA} bytes`);
  });
  need(raw.dataBytes === total, file, `dataBytes ${JSON.stringify(raw.dataBytes)} is not the sum of the region sizes (${total})`);
  return {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    board: raw.board as string,
    pid: raw.pid as string,
    uid: raw.uid as string,
    created: raw.created as string,
    tool: raw.tool as string,
    regions,
    dataBytes: total,
  };
}

/** Parses a decrypted container and checks every length and every region's SHA-256. */
export function parseContainer(bytes: Uint8Array, file = 'backup'): { header: BackupHeader; data: Buffer[] } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < CONTAINER_MAGIC.length || !b.subarray(0, CONTAINER_MAGIC.length).equals(Buffer.from(CONTAINER_MAGIC))) {
    throw new InputError(`${file}: decrypted, but not a poswipe backup container (it does not start with 89 50 57 42 43 0D 0A 1A)`);
  }
  if (b.length < FIXED) throw new InputError(`${file}: truncated backup container: ${b.length} bytes, the manifest length ends at byte ${FIXED}`);
  const m = b.readUInt32LE(CONTAINER_MAGIC.length);
  if (m === 0 || m > MAX_MANIFEST) throw new InputError(`${file}: malformed backup container: manifest length ${m} (expected 1 to ${MAX_MANIFEST})`);
  if (b.length < FIXED + m) throw new InputError(`${file}: truncated backup container: the manifest needs ${m} bytes, only ${b.length - FIXED} present`);
  let raw: unknown;
  try {
    raw = JSON.parse(b.subarray(FIXED, FIXED + m).toString('utf8'));
  } catch (e) {
    throw new InputError(`${file}: malformed backup manifest: not valid JSON (${(e as Error).message})`);
  }
  const header = parseManifest(raw, file);
  const expected = FIXED + m + header.dataBytes;
  if (b.length < expected)
    throw new InputError(
      `${file}: truncated backup container: the manifest announces ${header.dataBytes} bytes of data, ${expected - b.length} byte(s) missing`,
    );
  if (b.length > expected) throw new InputError(`${file}: malformed backup container: ${b.length - expected} unexpected byte(s) after the last region`);
  const data: Buffer[] = [];
  let off = FIXED + m;
  for (const r of header.regions) {
    const d = b.subarray(off, off + r.size);
    off += r.size;
    if (sha256Hex(d) !== r.sha256) throw new InputError(`${file}: region ${r.name}: its SHA-256 does not match the manifest (corrupted backup)`);
    data.push(d);
  }
  return { header, data };
}
