/**
 * Taking a backup: read the board's `data` regions (never `keys`, never `protected`) through the
 * bootloader, each chunk read until two reads agree, encrypt, and write the file so that the
 * backup path holds either nothing or a complete, checked backup:
 *
 *   1. write a temporary file next to the target (mode 0600), fsync it
 *   2. read it back, parse, decrypt and compare every region's SHA-256 with what was read
 *   3. link it into place (never over an existing file), fsync the folder, remove the temporary
 *
 * A process killed at any point leaves no file at the backup path (at worst a
 * `.<name>.partial-<pid>-<random>` file next to it).
 */
import { readInputFile } from '../files/read-bounded';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Board, Region } from '../boards/types';
import { InputError, SafetyError } from '../errors';
import { probeWritableFile } from '../files/write-probe';
import type { BootloaderClient } from '../protocol/client';
import { hexPid, type Identity } from '../session/identify';
import { backupKeyFor, decrypt, encrypt, newBackupKey, type BackupSecret } from './backup-crypto';
import { encodeBackup, encodePrefix, FORMAT_NAME, FORMAT_VERSION, parseBackup, type BackupHeader, type BackupRegion } from './backup-format';

/** bytes per confirmed read: one Read Memory command (at most 256 bytes), read until two reads agree; small, so that a noisy line rarely spoils both */
export const READ_CHUNK = 256;

export interface BackupProgress {
  done: number;
  total: number;
  region: string;
}

export interface BackupResult {
  path: string;
  /** SHA-256 of the whole file */
  sha256: string;
  fileBytes: number;
  dataBytes: number;
  regions: BackupRegion[];
  /** "x25519 sha256:…" or "scrypt" */
  encryption: string;
  /** real seconds: reading the terminal, then writing and checking the file */
  readSeconds: number;
  writeSeconds: number;
  /** seconds of line time the reads took on the terminal's clock (the emulator's virtual clock) */
  lineSeconds: number;
}

export interface WriteHooks {
  /** called after the temporary file is complete and before it is checked (tests simulate crashes here) */
  afterTempWritten?: (tmpPath: string) => void;
}

/** The regions a backup holds: the board's `data` regions, in address order. Keys are never included. */
export function backupRegionsOf(board: Board): Region[] {
  return board.regions.filter((r) => r.kind === 'data').sort((a, b) => a.address - b.address);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Reads each region in chunks of READ_CHUNK bytes; Read Memory has no checksum, so each chunk is
 * read until two reads agree (readMemoryConfirmed). Throws DeviceError when the line is too noisy.
 */
export async function readRegions(client: BootloaderClient, regions: Region[], onProgress?: (p: BackupProgress) => void): Promise<Uint8Array[]> {
  const total = regions.reduce((s, r) => s + r.size, 0);
  let done = 0;
  const out: Uint8Array[] = [];
  for (const r of regions) {
    const bytes = new Uint8Array(r.size);
    for (let off = 0; off < r.size; off += READ_CHUNK) {
      const n = Math.min(READ_CHUNK, r.size - off);
      bytes.set(await client.readMemoryConfirmed(r.address + off, n), off);
      done += n;
      onProgress?.({ done, total, region: r.name });
    }
    out.push(bytes);
  }
  return out;
}

/** The complete backup file for `data` (one buffer per region, in `regions` order). */
export function buildBackupFile(
  meta: { board: string; pid: number; uid: string; created: Date; tool: string },
  regions: Region[],
  data: Uint8Array[],
  secret: BackupSecret,
): { bytes: Uint8Array; header: BackupHeader; key: Buffer } {
  const { key, iv, keyInfo } = newBackupKey(secret);
  const header: BackupHeader = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    board: meta.board,
    pid: hexPid(meta.pid),
    uid: meta.uid,
    created: meta.created.toISOString(),
    tool: meta.tool,
    regions: regions.map((r, i) => ({ name: r.name, address: r.address, size: r.size, sha256: sha256Hex(data[i]) })),
    plaintextBytes: data.reduce((s, d) => s + d.length, 0),
    encryption: { cipher: 'aes-256-gcm', iv: iv.toString('hex'), key: keyInfo },
  };
  const prefix = encodePrefix(header);
  const { ciphertext, tag } = encrypt(key, iv, prefix, Buffer.concat(data));
  return { bytes: encodeBackup(prefix, ciphertext, tag), header, key };
}

/** Checks that a backup file's bytes decrypt (with `key`) to regions whose SHA-256 match `expected`. */
export function checkBackupBytes(bytes: Uint8Array, key: Buffer, expected: BackupRegion[], file: string): void {
  const parsed = parseBackup(bytes, file);
  const plain = decrypt(key, Buffer.from(parsed.header.encryption.iv, 'hex'), parsed.aad, parsed.ciphertext, parsed.tag, file);
  let off = 0;
  parsed.header.regions.forEach((r, i) => {
    const got = sha256Hex(plain.subarray(off, off + r.size));
    off += r.size;
    if (r.sha256 !== expected[i]?.sha256 || got !== r.sha256) throw new SafetyError(`${file}: read back, region ${r.name} does not match what was read from the terminal`);
  });
  if (parsed.header.regions.length !== expected.length) throw new SafetyError(`${file}: read back, ${parsed.header.regions.length} region(s) instead of ${expected.length}`);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some file systems do not allow it; the rename itself is still atomic
  }
}

/** Refuses a backup path that exists already (no backup is ever overwritten). */
export function checkBackupTarget(path: string): void {
  if (existsSync(path)) throw new InputError(`backup ${path} already exists: a backup is never overwritten (choose another file)`);
  probeWritableFile(path, 'backup', { mayExist: false });
}

/** Writes, reads back and checks, then links into place (see the module comment). */
export function writeBackupAtomically(path: string, bytes: Uint8Array, key: Buffer, regions: BackupRegion[], hooks: WriteHooks = {}): void {
  const target = resolve(path);
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true });
  checkBackupTarget(target);
  const tmp = join(dir, `.${basename(target)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeFileSync(fd, bytes); // every byte, or ENOSPC (writeSync may write part of it)
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    hooks.afterTempWritten?.(tmp);
    checkBackupBytes(readFileSync(tmp), key, regions, target);
    try {
      linkSync(tmp, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new InputError(`backup ${target} already exists: a backup is never overwritten`);
      throw e;
    }
    fsyncDir(dir);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already gone
    }
  }
}

/**
 * The whole backup of one identified terminal: read, build, write atomically. Any failure throws;
 * the caller turns it into "backup failed, nothing was erased" (exit 4).
 */
export async function takeBackup(
  client: BootloaderClient,
  board: Board,
  identity: Identity,
  o: { path: string; secret: BackupSecret; tool: string; onProgress?: (p: BackupProgress) => void; hooks?: WriteHooks; now?: () => Date },
): Promise<BackupResult> {
  if (identity.readProtected || identity.uid === null) throw new SafetyError(`the terminal (${board.id}) is read-protected: its data cannot be read for a backup`);
  const regions = backupRegionsOf(board);
  const t0 = Date.now();
  const line0 = client.transport.terminalTime();
  const data = await readRegions(client, regions, o.onProgress);
  const lineSeconds = client.transport.terminalTime() - line0;
  const t1 = Date.now();
  const built = buildBackupFile({ board: board.id, pid: identity.pid, uid: identity.uid, created: (o.now ?? (() => new Date()))(), tool: o.tool }, regions, data, o.secret);
  writeBackupAtomically(o.path, built.bytes, built.key, built.header.regions, o.hooks);
  const t2 = Date.now();
  return {
    path: resolve(o.path),
    sha256: sha256Hex(built.bytes),
    fileBytes: built.bytes.length,
    dataBytes: built.header.plaintextBytes,
    regions: built.header.regions,
    encryption: describeEncryption(built.header),
    readSeconds: (t1 - t0) / 1000,
    writeSeconds: (t2 - t1) / 1000,
    lineSeconds: +lineSeconds.toFixed(3),
  };
}

export function describeEncryption(h: BackupHeader): string {
  return h.encryption.key.kind === 'x25519' ? `x25519 ${h.encryption.key.recipient}` : 'scrypt passphrase';
}

/** Reads and decrypts a backup file: the header and one buffer per region (hashes checked). */
export function openBackup(path: string, keys: Parameters<typeof backupKeyFor>[1]): { header: BackupHeader; data: Buffer[]; sha256: string } {
  const bytes = readInputFile(path, 'backup', 'backup');
  const parsed = parseBackup(bytes, path);
  const key = backupKeyFor(parsed.header.encryption.key, keys, path);
  const plain = decrypt(key, Buffer.from(parsed.header.encryption.iv, 'hex'), parsed.aad, parsed.ciphertext, parsed.tag, path);
  const data: Buffer[] = [];
  let off = 0;
  for (const r of parsed.header.regions) {
    const d = plain.subarray(off, off + r.size);
    off += r.size;
    if (sha256Hex(d) !== r.sha256) throw new InputError(`${path}: region ${r.name}: its SHA-256 does not match the header (corrupted backup)`);
    data.push(d);
  }
  return { header: parsed.header, data, sha256: sha256Hex(bytes) };
}
