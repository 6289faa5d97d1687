/**
 * The flash layout computed from a board: pure functions, no I/O.
 */
import { type Board, type Range, type Sector, type SectorRun } from './types';
import { DeviceError } from '../errors';

/** Total bytes covered by sector runs. */
export function runsTotal(runs: readonly SectorRun[]): number {
  return runs.reduce((sum, r) => sum + r.count * r.size, 0);
}

/**
 * Every erase unit, in address order. `index` is the number the bootloader's erase command
 * uses: units are numbered 0, 1, 2, ... across the whole flash, banks included (so the second
 * bank of an STM32F429 holds sectors 12-23 and that of an STM32L476 pages 256-511). `bank` is the
 * 1-based number of the bank holding the unit (0 only on a board whose banks do not cover it,
 * which validation rejects).
 */
export function sectorsOf(board: Board): Sector[] {
  const out: Sector[] = [];
  let address = board.flash.base;
  for (const run of board.flash.sectors) {
    for (let i = 0; i < run.count; i++) {
      out.push({ index: out.length, address, size: run.size, bank: bankOf(board.flash.banks, address) });
      address += run.size;
    }
  }
  return out;
}

function bankOf(banks: readonly Range[], address: number): number {
  const i = banks.findIndex((b) => address >= b.address && address < b.address + b.size);
  return i + 1;
}

/** The erase units that share at least one byte with `range`. */
export function sectorsIn(board: Board, range: Range): Sector[] {
  const end = range.address + range.size;
  return sectorsOf(board).filter((s) => s.address < end && s.address + s.size > range.address);
}

/** Datasheet erase time of one unit of `sectorSize` bytes. Throws when the board has no figure for that size. */
export function eraseTimeFor(board: Board, sectorSize: number): { typicalMs: number; maxMs: number } {
  const t = board.timing.erase.find((e) => e.unitBytes === sectorSize);
  if (t === undefined) {
    throw new Error(`board ${board.id}: no erase timing for ${sectorSize}-byte erase units`);
  }
  return { typicalMs: t.typicalMs, maxMs: t.maxMs };
}

/** Time to erase every unit one by one (what a sector-by-sector erase of the whole flash costs). */
export function fullEraseTime(board: Board): { typicalMs: number; maxMs: number } {
  let typicalMs = 0;
  let maxMs = 0;
  for (const run of board.flash.sectors) {
    const t = eraseTimeFor(board, run.size);
    typicalMs += run.count * t.typicalMs;
    maxMs += run.count * t.maxMs;
  }
  return { typicalMs, maxMs };
}

/**
 * The board resized to what the part's flash-size register reports (a smaller variant of the
 * family, e.g. a 512 KiB F407). The new end must fall on a sector boundary and leave every region
 * inside; otherwise the board file does not describe this part and the caller refuses it.
 */
export function boardWithFlashSize(board: Board, bytes: number): Board {
  const hex = (n: number): string => `0x${n.toString(16)}`;
  if (bytes > board.flash.size) {
    throw new DeviceError(`the terminal reports ${bytes / 1024} KiB of flash, but board ${board.id} describes only ${board.flash.size / 1024} KiB: use a board file for this part`);
  }
  const runs: SectorRun[] = [];
  let total = 0;
  for (const run of board.flash.sectors) {
    if (total >= bytes) break;
    const count = Math.min(run.count, Math.floor((bytes - total) / run.size));
    if (count > 0) runs.push({ count, size: run.size });
    total += count * run.size;
    if (count < run.count) break;
  }
  if (total !== bytes) {
    throw new DeviceError(`the terminal reports ${bytes / 1024} KiB of flash, which does not end on a sector boundary of board ${board.id}`);
  }
  const end = board.flash.base + bytes;
  const outside = board.regions.find((r) => r.address + r.size > end);
  if (outside) throw new DeviceError(`the terminal reports ${bytes / 1024} KiB of flash; region "${outside.name}" of board ${board.id} lies beyond it (ends at ${hex(outside.address + outside.size)})`);
  const banks = board.flash.banks.filter((b) => b.address < end).map((b) => ({ address: b.address, size: Math.min(b.size, end - b.address) }));
  return { ...board, flash: { ...board.flash, size: bytes, sectors: runs, banks } };
}
