import type { Board, Sector } from '../boards/types';
import { sectorsOf } from '../boards/load';
import type { VirtualClock } from './clock';
import type { FaultSet } from './faults';
import type { Rng } from './rng';

/** Thrown out of a flash operation when the injected power loss strikes; the terminal resets. */
export class PowerLoss extends Error {
  constructor(readonly operation: number) {
    super(`power lost during flash operation ${operation}`);
  }
}

export const FLASH_STATUS = {
  OK: 0,
  OUT_OF_RANGE: 1,
  MISALIGNED: 2,
  ERASE_FAILED: 3,
  NOT_A_SECTOR: 4,
} as const;

export interface FlashOptions {
  clock: VirtualClock;
  faults: FaultSet;
  rng: Rng;
  /** one line per flash operation */
  log?: (line: string) => void;
}

/**
 * NOR flash with the board's sector layout: erase sets a whole sector to the erased value,
 * programming can only clear bits. Every operation costs the board's typical time on the clock
 * and is logged; injected faults (stuck bytes, failing sectors, power loss) act here.
 */
export class FlashModel {
  readonly base: number;
  readonly size: number;
  readonly sectors: Sector[];
  readonly erasedValue: number;
  /** flash operations performed so far (erase of one sector or one program call) */
  operations = 0;
  private readonly stuck = new Map<number, number>();

  constructor(
    private readonly board: Board,
    readonly bytes: Uint8Array,
    private readonly opts: FlashOptions,
  ) {
    this.base = board.flash.base;
    this.size = board.flash.size;
    this.sectors = sectorsOf(board);
    this.erasedValue = board.flash.erasedValue;
    if (bytes.length !== this.size) throw new RangeError(`flash image of ${bytes.length} bytes, board has ${this.size}`);
    for (const addr of opts.faults.stuck) {
      if (!this.contains(addr, 1)) continue;
      const v = bytes[addr - this.base];
      this.stuck.set(addr - this.base, v === this.erasedValue ? 0x00 : v);
    }
  }

  contains(address: number, length: number): boolean {
    return address >= this.base && length >= 0 && address + length <= this.base + this.size;
  }

  sectorAt(address: number): Sector | undefined {
    return this.sectors.find((s) => address >= s.address && address < s.address + s.size);
  }

  sectorByIndex(index: number): Sector | undefined {
    return this.sectors.find((s) => s.index === index);
  }

  read(address: number, length: number): Uint8Array {
    const off = address - this.base;
    return this.bytes.slice(off, off + length);
  }

  /** Programs `data` at `address` (bits can only go from 1 to 0). */
  program(address: number, data: Uint8Array): number {
    if (!this.contains(address, data.length)) return this.logged('program', address, data.length, FLASH_STATUS.OUT_OF_RANGE);
    const unit = this.board.flash.programUnit;
    if (address % unit !== 0 || data.length % unit !== 0) {
      return this.logged('program', address, data.length, FLASH_STATUS.MISALIGNED);
    }
    const op = this.begin();
    const off = address - this.base;
    let n = data.length;
    if (op.powerLoss) n = Math.floor(this.opts.rng.below(data.length / unit)) * unit;
    for (let i = 0; i < n; i++) this.bytes[off + i] &= data[i];
    this.applyStuck(off, data.length);
    const t = this.board.timing.program;
    this.opts.clock.advance(((n / t.unitBytes) * t.typicalUs) / 1e6);
    if (op.powerLoss) {
      this.log(`program 0x${hex(address)} +${data.length} POWER LOST after ${n} bytes`);
      throw new PowerLoss(op.index);
    }
    return this.logged('program', address, data.length, FLASH_STATUS.OK);
  }

  /** Erases one sector given by its start address and size (the engine's HAL call). */
  eraseRange(address: number, size: number): number {
    const s = this.sectorAt(address);
    if (!s || s.address !== address || s.size !== size) return this.logged('erase', address, size, FLASH_STATUS.NOT_A_SECTOR);
    return this.eraseSector(s);
  }

  eraseSector(s: Sector): number {
    const op = this.begin();
    const timing = this.board.timing.erase.find((e) => e.unitBytes === s.size);
    this.opts.clock.advance((timing?.typicalMs ?? 1000) / 1000);
    const off = s.address - this.base;
    if (op.powerLoss) {
      // an interrupted erase leaves a random part of the sector erased
      for (let i = 0; i < s.size; i++) if (this.opts.rng.float() < 0.5) this.bytes[off + i] = this.erasedValue;
      this.applyStuck(off, s.size);
      this.log(`erase sector ${s.index} 0x${hex(s.address)} +${s.size} POWER LOST`);
      throw new PowerLoss(op.index);
    }
    if (this.opts.faults.eraseFail.some((a) => a >= s.address && a < s.address + s.size)) {
      return this.logged(`erase sector ${s.index}`, s.address, s.size, FLASH_STATUS.ERASE_FAILED);
    }
    this.bytes.fill(this.erasedValue, off, off + s.size);
    this.applyStuck(off, s.size);
    return this.logged(`erase sector ${s.index}`, s.address, s.size, FLASH_STATUS.OK);
  }

  /** Mass erase (or one bank): every sector in turn, as one operation for the clock. */
  eraseSectors(list: Sector[]): number {
    for (const s of list) {
      const st = this.eraseSector(s);
      if (st !== FLASH_STATUS.OK) return st;
    }
    return FLASH_STATUS.OK;
  }

  private begin(): { index: number; powerLoss: boolean } {
    this.operations++;
    return { index: this.operations, powerLoss: this.opts.faults.powerlossAt === this.operations };
  }

  private applyStuck(off: number, length: number): void {
    for (const [o, v] of this.stuck) if (o >= off && o < off + length) this.bytes[o] = v;
  }

  private logged(what: string, address: number, size: number, status: number): number {
    this.log(`${what} 0x${hex(address)} +${size} ${status === FLASH_STATUS.OK ? 'ok' : `FAILED status ${status}`}`);
    return status;
  }

  private log(line: string): void {
    this.opts.log?.(`${this.opts.clock.now().toFixed(6)} ${line}`);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
