import type { Sector } from '../../boards/types';
import type { FlashModel } from '../flash';
import { FLASH_STATUS } from '../flash';
import type { Peripheral } from './bus';
import { lanesOf, mergeLanes } from './bus';
import { FlashBusy } from './flash-busy';
import { FlashKeys } from './flash-keys';

/**
 * The STM32L4 flash interface (RM0351 §3.3 and §3.7) in front of the terminal's FlashModel.
 * Registers: ACR 0x00, PDKEYR 0x04, KEYR 0x08, OPTKEYR 0x0C, SR 0x10, CR 0x14, ECCR 0x18,
 * OPTR 0x20 (the write-protection and PCROP registers above read their erased values).
 *
 * - Unlock: FlashKeys, as on F2/F4 (§3.3.5: a wrong sequence locks CR until reset, bus error).
 * - Page erase (§3.3.6): CR.PER with PNB (bits 10:3, the page in its bank) and BKER (bit 11,
 *   bank 2), then STRT; CR.MER1/MER2 erase bank 1/bank 2. OPTR.DUALBANK (bit 21) is set (the
 *   1 MiB parts ship dual-bank), so bank 2's pages are the board's second bank. A page number
 *   past the bank sets PGSERR (the manual does not say).
 * - Programming (§3.3.7): 64 bits at a time. With CR.PG set, the first word write goes to the
 *   latch, the second (the other half of the same double word) starts the operation. A byte or
 *   half-word write → SIZERR; a first word not 8-aligned or a second word outside its double
 *   word → PGAERR; PG clear (or CR locked) → PGSERR; an error flag PROGERR, SIZERR, PGAERR,
 *   MISERR or FASTERR still set from an earlier write → PGSERR (§3.7.5, PGSERR). PROGERR: "set by
 *   hardware when a double-word address to be programmed contains a value different from
 *   0xFFFF FFFF before programming, except if the data to write is 0x0000 0000": the double word
 *   is then left as it was.
 * - Erase-fail fault → OPERR (as on F2/F4, always, not only with ERRIE); EOP only with EOPIE.
 * - Time and BSY: as FlashF2 (the FlashModel charges the typical time; BSY reads 1 once).
 */
export const FLASH_L4 = { ACR: 0x00, PDKEYR: 0x04, KEYR: 0x08, OPTKEYR: 0x0c, SR: 0x10, CR: 0x14, ECCR: 0x18, OPTR: 0x20 } as const;

export const SR_EOP = 1 << 0;
export const SR_OPERR = 1 << 1;
export const SR_PROGERR = 1 << 3;
export const SR_WRPERR = 1 << 4;
export const SR_PGAERR = 1 << 5;
export const SR_SIZERR = 1 << 6;
export const SR_PGSERR = 1 << 7;
export const SR_MISERR = 1 << 8;
export const SR_FASTERR = 1 << 9;
export const SR_RDERR = 1 << 14;
export const SR_OPTVERR = 1 << 15;
export const SR_BSY = 1 << 16;
const SR_CLEARABLE = SR_EOP | SR_OPERR | SR_PROGERR | SR_WRPERR | SR_PGAERR | SR_SIZERR | SR_PGSERR | SR_MISERR | SR_FASTERR | SR_RDERR | SR_OPTVERR;
const SR_PROGRAM_ERRORS = SR_PROGERR | SR_SIZERR | SR_PGAERR | SR_MISERR | SR_FASTERR;

export const CR_PG = 1 << 0;
export const CR_PER = 1 << 1;
export const CR_MER1 = 1 << 2;
export const CR_PNB_SHIFT = 3;
const CR_PNB_MASK = 0xff;
export const CR_BKER = 1 << 11;
export const CR_MER2 = 1 << 15;
export const CR_STRT = 1 << 16;
export const CR_EOPIE = 1 << 24;
export const CR_ERRIE = 1 << 25;
export const CR_OPTLOCK = 1 << 30;
export const CR_LOCK = 1 << 31;

/** ACR reset: ICEN, DCEN (RM0351 §3.7.1) */
const ACR_RESET = 0x0000_0600;
/** OPTR with the RDP byte cleared: factory value 0xFFEFF8AA (DUALBANK bit 21 set, BFB2 clear) */
const OPTR_RESET_NO_RDP = 0xffef_f800;
export const OPTR_DUALBANK = 1 << 21;
const DOUBLE_WORD = 8;

export interface FlashL4Options {
  rdpByte: number;
  busy(on: boolean): void;
  onBusError(why: string): void;
}

export class FlashL4 implements Peripheral {
  readonly name = 'FLASH';
  readonly size = 0x400;
  readonly keys: FlashKeys;
  private acr = ACR_RESET;
  private cr = CR_OPTLOCK;
  sr = 0;
  private readonly bsy: FlashBusy;
  /** first word of a double word waiting for its second */
  private latch: { address: number; value: number } | null = null;

  constructor(
    readonly base: number,
    private readonly flash: FlashModel,
    private readonly opts: FlashL4Options,
  ) {
    this.keys = new FlashKeys(opts.onBusError);
    this.bsy = new FlashBusy(opts.busy);
  }

  private crValue(): number {
    return ((this.cr & ~CR_LOCK) | (this.keys.locked ? CR_LOCK : 0)) >>> 0;
  }

  private srValue(): number {
    return this.bsy.read(this.sr, SR_BSY);
  }

  read(offset: number, size: number): number {
    const at = offset & ~3;
    let v = 0;
    if (at === FLASH_L4.ACR) v = this.acr;
    else if (at === FLASH_L4.SR) v = this.srValue();
    else if (at === FLASH_L4.CR) v = this.crValue();
    else if (at === FLASH_L4.OPTR) v = OPTR_RESET_NO_RDP | (this.opts.rdpByte & 0xff);
    return lanesOf(v >>> 0, offset, size);
  }

  write(offset: number, size: number, value: number): void {
    const at = offset & ~3;
    if (at === FLASH_L4.KEYR) return this.keys.write(value);
    if (at === FLASH_L4.ACR) {
      this.acr = mergeLanes(this.acr, offset, size, value);
      return;
    }
    if (at === FLASH_L4.SR) {
      this.sr &= ~(mergeLanes(0, offset, size, value) & SR_CLEARABLE);
      return;
    }
    if (at === FLASH_L4.CR) {
      if (this.keys.locked) return;
      const v = mergeLanes(this.crValue(), offset, size, value);
      this.cr = (v & ~(CR_STRT | CR_LOCK)) | CR_OPTLOCK;
      if ((this.cr & CR_PG) === 0) this.latch = null;
      if (v & CR_LOCK) this.keys.lock();
      if (v & CR_STRT) this.start();
    }
    // PDKEYR, OPTKEYR, ECCR, OPTR: not programmable in the model
  }

  private bankPages(bank: number): Sector[] {
    return this.flash.sectors.filter((s) => s.bank === bank);
  }

  private start(): void {
    let status: number;
    if (this.cr & CR_PER) {
      const page = this.bankPages(this.cr & CR_BKER ? 2 : 1)[(this.cr >>> CR_PNB_SHIFT) & CR_PNB_MASK];
      if (!page) {
        this.sr |= SR_PGSERR;
        return;
      }
      status = this.operate(() => this.flash.eraseSector(page));
    } else if (this.cr & (CR_MER1 | CR_MER2)) {
      const list = [...(this.cr & CR_MER1 ? this.bankPages(1) : []), ...(this.cr & CR_MER2 ? this.bankPages(2) : [])];
      status = this.operate(() => this.flash.eraseSectors(list));
    } else {
      return;
    }
    this.finish(status);
  }

  private operate(op: () => number): number {
    return this.bsy.operate(op);
  }

  private finish(status: number): void {
    if (status === FLASH_STATUS.OK) {
      if (this.cr & CR_EOPIE) this.sr |= SR_EOP;
    } else {
      this.sr |= SR_OPERR;
    }
  }

  /** A CPU write of `size` bytes at `address` inside the flash array. */
  arrayWrite(address: number, size: number, value: number): void {
    if (this.keys.locked || (this.cr & CR_PG) === 0) {
      this.sr |= SR_PGSERR;
      return;
    }
    if (size !== 4) {
      this.sr |= SR_SIZERR;
      this.latch = null;
      return;
    }
    if (!this.latch) {
      if (this.sr & SR_PROGRAM_ERRORS) {
        this.sr |= SR_PGSERR;
        return;
      }
      if (address % DOUBLE_WORD !== 0) {
        this.sr |= SR_PGAERR;
        return;
      }
      this.latch = { address, value: value >>> 0 };
      return;
    }
    const first = this.latch;
    this.latch = null;
    if (address !== first.address + 4) {
      this.sr |= SR_PGAERR;
      return;
    }
    const data = new Uint8Array(DOUBLE_WORD);
    const dv = new DataView(data.buffer);
    dv.setUint32(0, first.value, true);
    dv.setUint32(4, value >>> 0, true);
    const current = this.flash.read(first.address, DOUBLE_WORD);
    const erased = current.every((b) => b === this.flash.erasedValue);
    const zeros = data.every((b) => b === 0);
    if (!erased && !zeros) {
      this.sr |= SR_PROGERR;
      return;
    }
    this.finish(this.operate(() => this.flash.program(first.address, data)));
  }
}
