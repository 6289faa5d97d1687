/**
 * The flash layout computed from a board: pure functions, no I/O.
 */
import { Board, Range, Sector, SectorRun } from './types';

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
