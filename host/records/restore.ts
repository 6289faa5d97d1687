/**
 * Writing a backup back to a terminal of the same board: check that the backup fits the board and
 * the terminal, erase the sectors of each data region with the bootloader, program the region's
 * bytes (all-erased chunks are skipped), then read each region back (two agreeing reads per
 * chunk) and compare its SHA-256 with the backup's.
 */
import type { Board } from '../boards/types';
import { eraseTimeFor, sectorsIn } from '../boards/load';
import { InputError, SafetyError, VerificationError } from '../errors';
import type { BootloaderClient } from '../protocol/client';
import { MAX_TRANSFER } from '../protocol/frames';
import { type Identity } from '../session/identify';
import type { BackupHeader } from './backup-container';
import { readRegions, sha256Hex, type BackupProgress } from './backup';
import { hex32, hexPid } from '../format/hex';

export interface RestoreResult {
  board: string;
  uid: string;
  /** true when the backup came from another terminal and --force allowed it */
  forced: boolean;
  regions: { name: string; address: number; size: number; sha256: string; verified: boolean }[];
  seconds: number;
}

/** Checks that need no terminal: the backup is of this board and its regions are this board's data regions. */
export function checkBackupFitsBoard(header: BackupHeader, board: Board, file: string): void {
  if (header.board !== board.id) throw new InputError(`${file} is a backup of board ${header.board}, not ${board.id}`);
  for (const r of header.regions) {
    const mine = board.regions.find((b) => b.kind === 'data' && b.address === r.address && b.size === r.size);
    if (!mine) throw new InputError(`${file}: region ${r.name} (${hex32(r.address)}, ${r.size} bytes) is not a data region of board ${board.id}`);
    for (const s of sectorsIn(board, r)) {
      if (s.address < r.address || s.address + s.size > r.address + r.size) {
        throw new SafetyError(
          `region ${r.name} does not cover whole sectors (sector ${s.index} at ${hex32(s.address)} reaches outside it): restoring it would erase bytes that are not in the backup`,
        );
      }
    }
  }
}

/** Checks against the identified terminal: readable, same product ID and unique ID (unless forced). */
export function checkBackupFitsTerminal(header: BackupHeader, identity: Identity, force: boolean): boolean {
  if (identity.readProtected || identity.uid === null)
    throw new SafetyError('the terminal is read-protected (RDP level 1): the bootloader refuses writes; nothing was changed');
  const problems: string[] = [];
  if (header.pid !== hexPid(identity.pid)) problems.push(`product ID ${header.pid} in the backup, ${hexPid(identity.pid)} on the terminal`);
  if (header.uid !== identity.uid) problems.push(`the backup was taken from unique ID ${header.uid}, this terminal is ${identity.uid}`);
  if (problems.length && !force) throw new SafetyError(`${problems.join('; ')}: pass --force to write it to this terminal anyway; nothing was changed`);
  return problems.length > 0;
}

/** Runs of MAX_TRANSFER-byte chunks that hold anything other than the erased value. */
function programRuns(bytes: Uint8Array, erased: number): { off: number; len: number }[] {
  const runs: { off: number; len: number }[] = [];
  for (let off = 0; off < bytes.length; off += MAX_TRANSFER) {
    const len = Math.min(MAX_TRANSFER, bytes.length - off);
    let blank = true;
    for (let i = off; i < off + len; i++) {
      if (bytes[i] !== erased) {
        blank = false;
        break;
      }
    }
    if (blank) continue;
    const last = runs[runs.length - 1];
    if (last && last.off + last.len === off) last.len += len;
    else runs.push({ off, len });
  }
  return runs;
}

export async function restoreRegions(
  client: BootloaderClient,
  board: Board,
  identity: Identity,
  backup: { header: BackupHeader; data: Uint8Array[] },
  o: { force?: boolean; file: string; onProgress?: (p: { phase: string; done: number; total: number }) => void },
): Promise<RestoreResult> {
  const t0 = Date.now();
  checkBackupFitsBoard(backup.header, board, o.file);
  const forced = checkBackupFitsTerminal(backup.header, identity, o.force === true);
  const regions = backup.header.regions;
  const total = regions.reduce((s, r) => s + r.size, 0);
  let done = 0;
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i];
    const sectors = sectorsIn(board, r);
    const timeout = Math.max(...sectors.map((s) => eraseTimeFor(board, s.size).maxMs));
    o.onProgress?.({ phase: 'restore', done, total });
    await client.erasePages(
      sectors.map((s) => s.index),
      timeout,
    );
    for (const run of programRuns(backup.data[i], board.flash.erasedValue)) {
      const base = done;
      await client.writeMemory(r.address + run.off, backup.data[i].subarray(run.off, run.off + run.len), (d) =>
        o.onProgress?.({ phase: 'restore', done: base + run.off + d, total }),
      );
    }
    done += r.size;
  }
  const readBack = await readRegions(
    client,
    regions.map((r) => ({ name: r.name, kind: 'data', address: r.address, size: r.size })),
    (p: BackupProgress) => o.onProgress?.({ phase: 'verify', done: p.done, total: p.total }),
  );
  const out = regions.map((r, i) => ({ name: r.name, address: r.address, size: r.size, sha256: r.sha256, verified: sha256Hex(readBack[i]) === r.sha256 }));
  const bad = out.filter((r) => !r.verified);
  if (bad.length)
    throw new VerificationError(
      `restore did not verify: region(s) ${bad.map((b) => `${b.name} at ${hex32(b.address)}`).join(', ')} read back different from the backup`,
    );
  return { board: board.id, uid: identity.uid ?? '', forced, regions: out, seconds: (Date.now() - t0) / 1000 };
}
