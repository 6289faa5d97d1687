/**
 * The physical flash size, found rather than believed: a pure planner of the Read Memory probes
 * that look past the end the flash-size register reports, and the judge of their answers. No I/O
 * (host/session/flash-size.ts runs the probes).
 *
 * The rule (docs/cli.md, "Flash size"): the board file's layout is the ceiling (it describes the
 * largest part of its product IDs: `flash.size`), the register is a claim, and flash that answers
 * Read Memory exists. Planned = the end of the last sector that answers, which is never less than
 * the register's claim and never less than what answers; anything the probes cannot square with
 * one size is a SafetyError before anything is written.
 */
import type { Board, Sector } from '../boards/types';
import { sectorsOf } from '../boards/layout';
import { SafetyError } from '../errors';
import { hex32 } from '../format/hex';

export type ProbeRole =
  /** a byte inside what the register claims: must answer, or Read Memory is refused for another reason than the end */
  | 'claimed'
  /** the first or last byte of a sector past the claim (or holding its end) */
  | 'sector'
  /** the first byte past the board file's layout: must not answer */
  | 'beyond';

export interface SizeProbe {
  address: number;
  role: ProbeRole;
  /** the sector a 'sector' probe belongs to */
  sector?: Sector;
}

export interface SizeProbePlan {
  board: Board;
  /** the flash-size register in bytes, or null when the board has none */
  register: number | null;
  probes: SizeProbe[];
}

/** The sizes, in bytes (EraseOutcome.flashSize without `probe`). */
export interface SizeFinding {
  register: number | null;
  boardFile: number;
  found: number;
  planned: number;
}

function kib(bytes: number): string {
  return `${bytes / 1024} KiB`;
}

/**
 * Where to probe. Every sector the register's claim does not cover wholly gets two probes (its
 * first and last byte: a sector is there or not as a whole); the claim gets its first and last
 * byte; the byte after the layout gets one. Refuses (SafetyError) what no probe can settle: a
 * register the board requires but could not be read, or one claiming more than the layout has.
 */
export function planSizeProbe(board: Board, register: number | null): SizeProbePlan {
  const { base, size } = board.flash;
  if (register === null && board.flash.sizeRegister !== null) {
    throw new SafetyError(`the flash-size register of ${board.id} (${hex32(board.flash.sizeRegister)}) could not be read: the flash size cannot be determined`);
  }
  if (register !== null && register > size) {
    throw new SafetyError(
      `the terminal's flash-size register reports ${kib(register)}, more than the ${kib(size)} of board ${board.id} ` +
        '(the largest part of its product ID): the flash size cannot be determined; use a board file for this part',
    );
  }
  const claim = register ?? 0;
  const probes: SizeProbe[] = [];
  if (claim > 0) probes.push({ address: base, role: 'claimed' }, { address: base + claim - 1, role: 'claimed' });
  for (const s of sectorsOf(board)) {
    if (s.address + s.size <= base + claim) continue;
    probes.push({ address: s.address, role: 'sector', sector: s }, { address: s.address + s.size - 1, role: 'sector', sector: s });
  }
  probes.push({ address: base + size, role: 'beyond' });
  return { board, register, probes };
}

/**
 * The sizes the answers show (`answered(address)`: Read Memory of that byte was served). Refuses
 * (SafetyError) answers that do not describe one contiguous flash from the base: a claimed byte
 * refused, a sector answering at one end only, a sector answering after one that did not, or
 * flash past the layout.
 */
export function judgeSizeProbe(plan: SizeProbePlan, answered: (address: number) => boolean): SizeFinding {
  const { board, register } = plan;
  const { base, size } = board.flash;
  const claim = register ?? 0;
  const cannot = 'the flash size cannot be determined';
  for (const p of plan.probes) {
    if (p.role === 'claimed' && !answered(p.address)) {
      throw new SafetyError(`Read Memory of ${hex32(p.address)}, inside the ${kib(claim)} the flash-size register reports, is refused (NACK): ${cannot}`);
    }
    if (p.role === 'beyond' && answered(p.address)) {
      throw new SafetyError(
        `flash answers Read Memory at ${hex32(p.address)}, past the ${kib(size)} board ${board.id} describes: ` +
          'the part has more flash than its board file; use a board file for this part',
      );
    }
  }
  let end = base + claim;
  let gap: Sector | null = null;
  for (const p of plan.probes) {
    if (p.role !== 'sector' || p.address !== p.sector!.address) continue;
    const s = p.sector!;
    const first = answered(s.address);
    const last = answered(s.address + s.size - 1);
    if (first !== last) {
      throw new SafetyError(`sector ${s.index} (${hex32(s.address)}) answers Read Memory at its ${first ? 'first' : 'last'} byte only: ${cannot}`);
    }
    if (!first) {
      gap ??= s;
      continue;
    }
    if (gap) {
      throw new SafetyError(`sector ${s.index} (${hex32(s.address)}) answers Read Memory after sector ${gap.index} (${hex32(gap.address)}) did not: ${cannot}`);
    }
    end = s.address + s.size;
  }
  const found = end - base;
  // a claim off the sector grid with its sector silent: no whole-sector size holds what the register says
  if (!sectorsOf(board).some((s) => s.address + s.size === end) && found !== 0) {
    throw new SafetyError(
      `the flash-size register reports ${kib(claim)}, which does not end on a sector boundary of board ${board.id}, ` +
        `and the sector holding its end does not answer: ${cannot}`,
    );
  }
  if (found === 0) throw new SafetyError(`no sector of ${board.id} answers Read Memory: ${cannot}`);
  return { register, boardFile: size, found, planned: Math.max(claim, found) };
}
