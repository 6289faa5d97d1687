import type { Sector } from '../../boards/types';
import type { FlashModel } from '../flash';
import { FLASH_STATUS } from '../flash';
import type { Peripheral } from './bus';
import { lanesOf, mergeLanes } from './bus';
import { FlashBusy } from './flash-busy';
import { FlashKeys } from './flash-keys';

/**
 * The STM32F2/F4 flash interface (RM0033 §2.3 and §2.8, RM0090 §3.5-3.9) in front of the
 * terminal's FlashModel, so every injected fault (stuck bytes, erase-fail, power loss) acts on
 * what the CPU does. Registers: ACR 0x00, KEYR 0x04, OPTKEYR 0x08, SR 0x0C, CR 0x10, OPTCR
 * 0x14, OPTCR1 0x18 (F42x/F43x).
 *
 * - Unlock: FlashKeys (KEY1, KEY2; a wrong key locks CR until reset with a bus error).
 * - Erase: CR.SER with SNB (bits 7:3; on dual-bank F42x/F43x bank-2 sectors are 0x10..0x1B) or
 *   CR.MER (bank 1) / CR.MER1 (bit 15, bank 2), then STRT. A sector number the part does not
 *   have sets PGSERR (the manual calls those values "not allowed" without saying more).
 * - Program: CR.PG, then a write of the PSIZE width (x8 byte, x16 half-word, x32 word; x64
 *   needs an external VPP and two-word writes are not one access, so it always fails) into the
 *   flash array. Wrong width → PGPERR; an address not aligned to the width → PGAERR; PG clear or
 *   CR locked → PGSERR (a write to the array "while the control register has not been correctly
 *   configured"). WRPERR: no sector is write-protected in the model (nWRP all 1), so it never sets.
 * - NOR semantics: the manual says bits can only go from 1 to 0 by programming ("Successive
 *   write operations are possible without the need of an erase operation when changing bits
 *   from 1 to 0. Writing 1 requires a Flash memory erase operation", RM0090 §3.5.3): the model
 *   ANDs the data into the array (the FlashModel's program) and reports no error.
 * - An erase the FlashModel's erase-fail fault refuses sets OPERR. The manual sets OPERR only
 *   with ERRIE (and EOP only with EOPIE); the model follows that for EOP but always sets OPERR
 *   for an erase failure, so an injected failure is visible in SR; the sector keeps its old
 *   content, so the digests show it too.
 * - Time: the FlashModel charges the board's typical time when the operation runs (at STRT, or
 *   at the program write). SR.BSY then reads 1 once and 0 from the next read on: the machine's
 *   virtual time jumped to the end of the operation, and `busy(true)`/`busy(false)` tell it
 *   (the watchdog) that the agent was inside its BSY wait meanwhile.
 */
export const FLASH_F2 = { ACR: 0x00, KEYR: 0x04, OPTKEYR: 0x08, SR: 0x0c, CR: 0x10, OPTCR: 0x14, OPTCR1: 0x18 } as const;

export const SR_EOP = 1 << 0;
export const SR_OPERR = 1 << 1;
export const SR_WRPERR = 1 << 4;
export const SR_PGAERR = 1 << 5;
export const SR_PGPERR = 1 << 6;
export const SR_PGSERR = 1 << 7;
export const SR_RDERR = 1 << 8;
export const SR_BSY = 1 << 16;
const SR_CLEARABLE = SR_EOP | SR_OPERR | SR_WRPERR | SR_PGAERR | SR_PGPERR | SR_PGSERR | SR_RDERR;

export const CR_PG = 1 << 0;
export const CR_SER = 1 << 1;
export const CR_MER = 1 << 2;
export const CR_SNB_SHIFT = 3;
const CR_SNB_MASK = 0x1f;
export const CR_PSIZE_SHIFT = 8;
export const CR_MER1 = 1 << 15;
export const CR_STRT = 1 << 16;
export const CR_EOPIE = 1 << 24;
export const CR_ERRIE = 1 << 25;
export const CR_LOCK = 1 << 31;
/** SNB bit 4 selects bank 2 on dual-bank parts (RM0090 §3.9.8) */
const SNB_BANK2 = 0x10;
const BANK2_FIRST_SECTOR = 12;

/** OPTCR reset with RDP in bits 15:8 (RM0090 §3.9.10: 0x0FFFAAED at level 0) */
const OPTCR_RESET_NO_RDP = 0x0fff_00ed;
const OPTCR1_RESET = 0x0fff_0000;

export interface FlashF2Options {
  /** dual-bank part (F42x/F43x): SNB 0x10.. names bank 2, MER1 erases it */
  dualBank: boolean;
  /** the RDP option byte (0xAA = level 0) */
  rdpByte: number;
  busy(on: boolean): void;
  onBusError(why: string): void;
}

export class FlashF2 implements Peripheral {
  readonly name = 'FLASH';
  readonly size = 0x400;
  readonly keys: FlashKeys;
  private acr = 0;
  private cr = 0;
  sr = 0;
  private readonly bsy: FlashBusy;

  constructor(
    readonly base: number,
    private readonly flash: FlashModel,
    private readonly opts: FlashF2Options,
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
    if (at === FLASH_F2.ACR) v = this.acr;
    else if (at === FLASH_F2.SR) v = this.srValue();
    else if (at === FLASH_F2.CR) v = this.crValue();
    else if (at === FLASH_F2.OPTCR) v = OPTCR_RESET_NO_RDP | ((this.opts.rdpByte & 0xff) << 8);
    else if (at === FLASH_F2.OPTCR1 && this.opts.dualBank) v = OPTCR1_RESET;
    return lanesOf(v, offset, size);
  }

  write(offset: number, size: number, value: number): void {
    const at = offset & ~3;
    if (at === FLASH_F2.KEYR) return this.keys.write(value);
    if (at === FLASH_F2.ACR) {
      this.acr = mergeLanes(this.acr, offset, size, value);
      return;
    }
    if (at === FLASH_F2.SR) {
      this.sr &= ~(mergeLanes(0, offset, size, value) & SR_CLEARABLE);
      return;
    }
    if (at === FLASH_F2.CR) {
      if (this.keys.locked) return; // CR cannot be written while locked
      const v = mergeLanes(this.crValue(), offset, size, value);
      this.cr = v & ~(CR_STRT | CR_LOCK);
      if (v & CR_LOCK) this.keys.lock();
      if (v & CR_STRT) this.start();
    }
    // OPTKEYR, OPTCR: option bytes are not programmable in the model (writes ignored)
  }

  private psizeBytes(): number {
    return 1 << ((this.cr >>> CR_PSIZE_SHIFT) & 3);
  }

  /** the sector SNB names, or undefined */
  private sectorOf(snb: number): Sector | undefined {
    let index = snb;
    if (snb & SNB_BANK2) {
      if (!this.opts.dualBank) return undefined;
      index = BANK2_FIRST_SECTOR + (snb & ~SNB_BANK2);
    } else if (snb >= BANK2_FIRST_SECTOR) {
      return undefined;
    }
    return this.flash.sectorByIndex(index);
  }

  private start(): void {
    let status: number = FLASH_STATUS.OK;
    if (this.cr & CR_SER) {
      const s = this.sectorOf((this.cr >>> CR_SNB_SHIFT) & CR_SNB_MASK);
      if (!s) {
        this.sr |= SR_PGSERR;
        return;
      }
      status = this.operate(() => this.flash.eraseSector(s));
    } else if (this.cr & (CR_MER | CR_MER1)) {
      const banks: number[] = [];
      if (this.cr & CR_MER) banks.push(1);
      if (this.cr & CR_MER1 && this.opts.dualBank) banks.push(2);
      status = this.operate(() => this.flash.eraseSectors(this.flash.sectors.filter((s) => banks.includes(s.bank))));
    } else {
      return; // STRT alone starts nothing
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
    const width = this.psizeBytes();
    if (size !== width || width > 4) {
      this.sr |= SR_PGPERR;
      return;
    }
    if (address % size !== 0) {
      this.sr |= SR_PGAERR;
      return;
    }
    // the FlashModel programs whole 32-bit units: the other bytes of the word are 0xFF, which
    // leave the array unchanged under AND
    const aligned = address - (address % 4);
    const data = new Uint8Array(4).fill(0xff);
    for (let i = 0; i < size; i++) data[(address % 4) + i] = (value >>> (8 * i)) & 0xff;
    this.finish(this.operate(() => this.flash.program(aligned, data)));
  }
}
