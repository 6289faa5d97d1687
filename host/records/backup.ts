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
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fsyncDir, partialPath } from '../files/atomic-write';
import type { Board, Region } from '../boards/types';
import { InputError, SafetyError } from '../errors';
import { probeWritableFile } from '../files/write-probe';
import type { BootloaderClient } from '../protocol/client';
import { type Identity } from '../session/identify';
import { decryptBackup, decryptWithFileKey, describeAgeHeader, encryptBackup, readAgeHeader, type BackupSecret, type DecryptionKeys } from './backup-age';
import { encodeContainer, parseContainer, sha256Hex, type BackupHeader, type BackupRegion } from './backup-container';
import { hexPid } from '../format/hex';

export { sha256Hex };

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
  /** "age X25519 (1 recipient)" or "age scrypt passphrase (2^15)" */
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

/** The complete backup file for `data` (one buffer per region, in `regions` order): an age file around the container. */
export async function buildBackupFile(
  meta: { board: string; pid: number; uid: string; created: Date; tool: string },
  regions: Region[],
  data: Uint8Array[],
  secret: BackupSecret,
): Promise<{ bytes: Uint8Array; header: BackupHeader; check: BackupCheck }> {
  const container = encodeContainer(
    { board: meta.board, pid: hexPid(meta.pid), uid: meta.uid, created: meta.created.toISOString(), tool: meta.tool },
    regions,
    data,
  );
  const { bytes, fileKey } = await encryptBackup(container.bytes, secret);
  const check: BackupCheck = fileKey ? { fileKey } : { keys: { passphrase: () => (secret as { passphrase: string }).passphrase } };
  return { bytes, header: container.header, check };
}

/** How the writer opens the file it just wrote: the file key it captured (recipients), or the passphrase. */
export type BackupCheck = { fileKey: Uint8Array } | { keys: DecryptionKeys };

/** Checks that a backup file's bytes decrypt to a container whose regions match `expected`. */
export async function checkBackupBytes(bytes: Uint8Array, check: BackupCheck, expected: BackupRegion[], file: string): Promise<void> {
  readAgeHeader(bytes, file);
  const plain = 'fileKey' in check ? await decryptWithFileKey(bytes, check.fileKey, file) : await decryptBackup(bytes, check.keys, file);
  let parsed: ReturnType<typeof parseContainer>;
  try {
    parsed = parseContainer(plain, file);
  } catch (e) {
    throw new SafetyError(`${file}: read back, ${(e as Error).message}`);
  }
  if (parsed.header.regions.length !== expected.length)
    throw new SafetyError(`${file}: read back, ${parsed.header.regions.length} region(s) instead of ${expected.length}`);
  parsed.header.regions.forEach((r, i) => {
    if (r.sha256 !== expected[i].sha256 || r.address !== expected[i].address || r.size !== expected[i].size)
      throw new SafetyError(`${file}: read back, region ${r.name} does not match what was read from the terminal`);
  });
}

/** Refuses a backup path that exists already (no backup is ever overwritten). */
export function checkBackupTarget(path: string): void {
  if (existsSync(path)) throw new InputError(`backup ${path} already exists: a backup is never overwritten (choose another file)`);
  probeWritableFile(path, 'backup', { mayExist: false });
}

/** Writes, reads back and checks, then links into place (see the module comment). */
export async function writeBackupAtomically(
  path: string,
  bytes: Uint8Array,
  check: BackupCheck,
  regions: BackupRegion[],
  hooks: WriteHooks = {},
): Promise<void> {
  const target = resolve(path);
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true });
  checkBackupTarget(target);
  const tmp = partialPath(target);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeFileSync(fd, bytes); // every byte, or ENOSPC (writeSync may write part of it)
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    hooks.afterTempWritten?.(tmp);
    await checkBackupBytes(readFileSync(tmp), check, regions, target);
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
  if (identity.readProtected || identity.uid === null)
    throw new SafetyError(`the terminal (${board.id}) is read-protected: its data cannot be read for a backup`);
  const regions = backupRegionsOf(board);
  const t0 = Date.now();
  const line0 = client.transport.terminalTime();
  const data = await readRegions(client, regions, o.onProgress);
  const lineSeconds = client.transport.terminalTime() - line0;
  const t1 = Date.now();
  const built = await buildBackupFile(
    { board: board.id, pid: identity.pid, uid: identity.uid, created: (o.now ?? (() => new Date()))(), tool: o.tool },
    regions,
    data,
    o.secret,
  );
  await writeBackupAtomically(o.path, built.bytes, built.check, built.header.regions, o.hooks);
  const t2 = Date.now();
  return {
    path: resolve(o.path),
    sha256: sha256Hex(built.bytes),
    fileBytes: built.bytes.length,
    dataBytes: built.header.dataBytes,
    regions: built.header.regions,
    encryption: describeAgeHeader(readAgeHeader(built.bytes, o.path)),
    readSeconds: (t1 - t0) / 1000,
    writeSeconds: (t2 - t1) / 1000,
    lineSeconds: +lineSeconds.toFixed(3),
  };
}

/** Reads and decrypts a backup file: the manifest and one buffer per region (hashes checked). */
export async function openBackup(path: string, keys: DecryptionKeys): Promise<{ header: BackupHeader; data: Buffer[]; sha256: string; encryption: string }> {
  const bytes = readInputFile(path, 'backup', 'backup');
  const encryption = describeAgeHeader(readAgeHeader(bytes, path));
  const { header, data } = parseContainer(await decryptBackup(bytes, keys, path), path);
  return { header, data, sha256: sha256Hex(bytes), encryption };
}
