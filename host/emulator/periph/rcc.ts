import type { Peripheral } from './bus';
import { lanesOf, mergeLanes } from './bus';

/**
 * Reset and clock control, per family: which oscillator drives the core, the PLL, the bus
 * prescalers and the peripheral clock enables. What the rest of the machine asks it: the core
 * clock (for virtual time), each bus clock (for the USART's baud rate) and whether a clock
 * enable bit is set (a peripheral with its clock off ignores writes and reads 0).
 *
 * Not modelled: HSE (the board files name no crystal, so HSERDY never sets and a switch to HSE
 * or a PLL fed by HSE never completes), the clock security system, the I2S/SAI PLLs, the
 * low-power enable registers (stored only), interrupts. The PLL locks `PLL_LOCK_S` of virtual
 * time after PLLON is set.
 */
export interface Clocks {
  coreHz(): number;
  busHz(bus: Bus): number;
  /** the clock enable bit(s) `mask` of the RCC register at absolute address `register` are set */
  enabled(register: number, mask: number): boolean;
}

export type Bus = 'ahb' | 'apb1' | 'apb2';

/** PLL lock time: the datasheets give about 100 us (F4: tLOCK 100 us typ. at VCO input 1 MHz; L4: 15-40 us) */
export const PLL_LOCK_S = 100e-6;
export const HSI_HZ = 16_000_000;

/** AHB prescaler (HPRE): 0xxx /1, 1000 /2 ... 1111 /512 (RM0090 §7.3.3, RM0351 §6.4.3) */
export function ahbDivider(hpre: number): number {
  return hpre < 8 ? 1 : [2, 4, 8, 16, 64, 128, 256, 512][hpre - 8];
}

/** APB prescaler (PPREx): 0xx /1, 100 /2, 101 /4, 110 /8, 111 /16 */
export function apbDivider(ppre: number): number {
  return ppre < 4 ? 1 : 1 << (ppre - 3);
}

abstract class RegisterFile implements Peripheral {
  abstract readonly name: string;
  readonly size = 0x400;
  protected readonly regs = new Map<number, number>();

  constructor(
    readonly base: number,
    protected readonly now: () => number,
    resetValues: Record<number, number>,
  ) {
    for (const [o, v] of Object.entries(resetValues)) this.regs.set(Number(o), v >>> 0);
  }

  protected reg(offset: number): number {
    return this.regs.get(offset) ?? 0;
  }

  read(offset: number, size: number): number {
    return lanesOf(this.readWord(offset & ~3), offset, size);
  }

  write(offset: number, size: number, value: number): void {
    const word = offset & ~3;
    this.writeWord(word, mergeLanes(this.readWord(word), offset, size, value));
  }

  protected abstract readWord(offset: number): number;
  protected abstract writeWord(offset: number, value: number): void;

  enabled(register: number, mask: number): boolean {
    return (this.reg(register - this.base) & mask) >>> 0 === mask >>> 0;
  }
}

// ---- STM32F2/F4: RM0033 §5.3, RM0090 §7.3 ----

export const RCC_F2 = {
  CR: 0x00,
  PLLCFGR: 0x04,
  CFGR: 0x08,
  CIR: 0x0c,
  AHB1ENR: 0x30,
  AHB2ENR: 0x34,
  AHB3ENR: 0x38,
  APB1ENR: 0x40,
  APB2ENR: 0x44,
  BDCR: 0x70,
  CSR: 0x74,
} as const;

const F2_CR_HSION = 1 << 0;
const F2_CR_HSIRDY = 1 << 1;
const F2_CR_HSERDY = 1 << 17;
const F2_CR_PLLON = 1 << 24;
const F2_CR_PLLRDY = 1 << 25;
const F2_CR_PLLI2SRDY = 1 << 27;
/** CR reset: HSION, HSIRDY, HSITRIM = 16 */
const F2_CR_RESET = 0x0000_0083;
/** PLLCFGR reset: PLLQ 4, PLLSRC HSI, PLLP /2, PLLN 192, PLLM 16 */
const F2_PLLCFGR_RESET = 0x2400_3010;
const F2_PLLCFGR_PLLSRC_HSE = 1 << 22;
/** AHB1ENR reset: CCMDATARAMEN (F4; reserved-as-set on F2) */
const F2_AHB1ENR_RESET = 0x0010_0000;
const CSR_LSION = 1 << 0;
const CSR_LSIRDY = 1 << 1;
/** CSR reset: RMVF clear, PORRSTF/PINRSTF set (the flags a power-on leaves) */
const F2_CSR_RESET = 0x0e00_0000;

const SW_MASK = 0x3;

export class RccF2 extends RegisterFile implements Clocks {
  readonly name = 'RCC';
  private pllOnAt: number | null = null;

  constructor(base: number, now: () => number) {
    super(base, now, {
      [RCC_F2.CR]: F2_CR_RESET,
      [RCC_F2.PLLCFGR]: F2_PLLCFGR_RESET,
      [RCC_F2.AHB1ENR]: F2_AHB1ENR_RESET,
      [RCC_F2.CSR]: F2_CSR_RESET,
    });
  }

  private pllLocked(): boolean {
    return this.pllOnAt !== null && this.now() >= this.pllOnAt + PLL_LOCK_S;
  }

  protected readWord(offset: number): number {
    let v = this.reg(offset);
    if (offset === RCC_F2.CR) {
      v &= ~(F2_CR_HSIRDY | F2_CR_HSERDY | F2_CR_PLLRDY | F2_CR_PLLI2SRDY);
      if (v & F2_CR_HSION) v |= F2_CR_HSIRDY;
      if (this.pllLocked()) v |= F2_CR_PLLRDY;
    } else if (offset === RCC_F2.CFGR) {
      v = (v & ~(SW_MASK << 2)) | (this.sws() << 2);
    } else if (offset === RCC_F2.CSR) {
      v &= ~CSR_LSIRDY;
      if (v & CSR_LSION) v |= CSR_LSIRDY;
    }
    return v >>> 0;
  }

  protected writeWord(offset: number, value: number): void {
    if (offset === RCC_F2.CR) {
      // HSI cannot be switched off while it drives the system clock
      if (this.sws() === 0) value |= F2_CR_HSION;
      const wasOn = (this.reg(offset) & F2_CR_PLLON) !== 0;
      const on = (value & F2_CR_PLLON) !== 0;
      if (on && !wasOn) this.pllOnAt = this.now();
      if (!on) this.pllOnAt = null;
    } else if (offset === RCC_F2.PLLCFGR && this.reg(RCC_F2.CR) & F2_CR_PLLON) {
      return; // RM0090 §7.3.2: written only when the PLL is disabled
    }
    this.regs.set(offset, value >>> 0);
  }

  /** SWS: the source actually driving SYSCLK; follows SW once that source is ready */
  private sws(): number {
    const sw = this.reg(RCC_F2.CFGR) & SW_MASK;
    const prev = this.source;
    let next = prev;
    if (sw === 0) next = 0;
    else if (sw === 2 && this.pllLocked() && (this.reg(RCC_F2.PLLCFGR) & F2_PLLCFGR_PLLSRC_HSE) === 0) next = 2;
    // sw === 1 (HSE) never completes: no crystal modelled
    if (next === 2 && !this.pllLocked()) next = 0;
    this.source = next;
    return next;
  }

  private source = 0;

  /** PLL output (main, P): HSI / PLLM * PLLN / PLLP (RM0090 §7.3.2) */
  pllHz(): number {
    const c = this.reg(RCC_F2.PLLCFGR);
    const m = c & 0x3f;
    const n = (c >>> 6) & 0x1ff;
    const p = 2 * (((c >>> 16) & 0x3) + 1);
    if (m < 2 || n < 2) return 0;
    return ((HSI_HZ / m) * n) / p;
  }

  sysclkHz(): number {
    return this.sws() === 2 ? this.pllHz() : HSI_HZ;
  }

  coreHz(): number {
    return this.sysclkHz() / ahbDivider((this.reg(RCC_F2.CFGR) >>> 4) & 0xf);
  }

  busHz(bus: Bus): number {
    const cfgr = this.reg(RCC_F2.CFGR);
    if (bus === 'ahb') return this.coreHz();
    const ppre = bus === 'apb1' ? (cfgr >>> 10) & 0x7 : (cfgr >>> 13) & 0x7;
    return this.coreHz() / apbDivider(ppre);
  }
}

// ---- STM32L4: RM0351 §6.4 ----

export const RCC_L4 = {
  CR: 0x00,
  ICSCR: 0x04,
  CFGR: 0x08,
  PLLCFGR: 0x0c,
  AHB1ENR: 0x48,
  AHB2ENR: 0x4c,
  AHB3ENR: 0x50,
  APB1ENR1: 0x58,
  APB1ENR2: 0x5c,
  APB2ENR: 0x60,
  CCIPR: 0x88,
  BDCR: 0x90,
  CSR: 0x94,
} as const;

const L4_CR_MSION = 1 << 0;
const L4_CR_MSIRDY = 1 << 1;
const L4_CR_MSIRGSEL = 1 << 3;
const L4_CR_HSION = 1 << 8;
const L4_CR_HSIRDY = 1 << 10;
const L4_CR_HSERDY = 1 << 17;
const L4_CR_PLLON = 1 << 24;
const L4_CR_PLLRDY = 1 << 25;
/** CR reset: MSION, MSIRDY, MSIRANGE 6 (4 MHz) */
const L4_CR_RESET = 0x0000_0063;
/** PLLCFGR reset: PLLN 16 */
const L4_PLLCFGR_RESET = 0x0000_1000;
/** AHB1ENR reset: FLASHEN */
const L4_AHB1ENR_RESET = 0x0000_0100;
/** CSR reset: MSISRANGE 6 (4 MHz after standby), reset flags of a power-on */
const L4_CSR_RESET = 0x0c00_0600;
/** MSI frequencies by range 0..11 (RM0351 §6.2.3) */
export const MSI_RANGES_HZ = [100e3, 200e3, 400e3, 800e3, 1e6, 2e6, 4e6, 8e6, 16e6, 24e6, 32e6, 48e6];

export class RccL4 extends RegisterFile implements Clocks {
  readonly name = 'RCC';
  private pllOnAt: number | null = null;
  private source = 0;

  constructor(base: number, now: () => number) {
    super(base, now, {
      [RCC_L4.CR]: L4_CR_RESET,
      [RCC_L4.PLLCFGR]: L4_PLLCFGR_RESET,
      [RCC_L4.AHB1ENR]: L4_AHB1ENR_RESET,
      [RCC_L4.CSR]: L4_CSR_RESET,
    });
  }

  private pllLocked(): boolean {
    return this.pllOnAt !== null && this.now() >= this.pllOnAt + PLL_LOCK_S;
  }

  protected readWord(offset: number): number {
    let v = this.reg(offset);
    if (offset === RCC_L4.CR) {
      v &= ~(L4_CR_MSIRDY | L4_CR_HSIRDY | L4_CR_HSERDY | L4_CR_PLLRDY);
      if (v & L4_CR_MSION) v |= L4_CR_MSIRDY;
      if (v & L4_CR_HSION) v |= L4_CR_HSIRDY;
      if (this.pllLocked()) v |= L4_CR_PLLRDY;
    } else if (offset === RCC_L4.CFGR) {
      v = (v & ~(SW_MASK << 2)) | (this.sws() << 2);
    } else if (offset === RCC_L4.CSR) {
      v &= ~CSR_LSIRDY;
      if (v & CSR_LSION) v |= CSR_LSIRDY;
    }
    return v >>> 0;
  }

  protected writeWord(offset: number, value: number): void {
    if (offset === RCC_L4.CR) {
      if (this.sws() === 0) value |= L4_CR_MSION;
      if (this.sws() === 1) value |= L4_CR_HSION;
      const wasOn = (this.reg(offset) & L4_CR_PLLON) !== 0;
      const on = (value & L4_CR_PLLON) !== 0;
      if (on && !wasOn) this.pllOnAt = this.now();
      if (!on) this.pllOnAt = null;
    } else if (offset === RCC_L4.PLLCFGR && this.reg(RCC_L4.CR) & L4_CR_PLLON) {
      return; // RM0351 §6.4.4: written only when the PLL is disabled
    }
    this.regs.set(offset, value >>> 0);
  }

  /** SWS: 00 MSI, 01 HSI16, 10 HSE (never ready here), 11 PLL */
  private sws(): number {
    const sw = this.reg(RCC_L4.CFGR) & SW_MASK;
    const cr = this.reg(RCC_L4.CR);
    let next = this.source;
    if (sw === 0 && cr & L4_CR_MSION) next = 0;
    else if (sw === 1 && cr & L4_CR_HSION) next = 1;
    else if (sw === 3 && this.pllLocked() && this.pllInputHz() > 0) next = 3;
    if (next === 3 && !this.pllLocked()) next = 0;
    this.source = next;
    return next;
  }

  msiHz(): number {
    const cr = this.reg(RCC_L4.CR);
    const range = cr & L4_CR_MSIRGSEL ? (cr >>> 4) & 0xf : (this.reg(RCC_L4.CSR) >>> 8) & 0xf;
    return MSI_RANGES_HZ[range] ?? 0;
  }

  /** PLLSRC: 00 none, 01 MSI, 10 HSI16, 11 HSE (absent) */
  private pllInputHz(): number {
    const src = this.reg(RCC_L4.PLLCFGR) & 0x3;
    return src === 1 ? this.msiHz() : src === 2 ? HSI_HZ : 0;
  }

  /** PLLCLK (R output): input / PLLM * PLLN / PLLR (RM0351 §6.4.4) */
  pllHz(): number {
    const c = this.reg(RCC_L4.PLLCFGR);
    const m = ((c >>> 4) & 0x7) + 1;
    const n = (c >>> 8) & 0x7f;
    const r = 2 * (((c >>> 25) & 0x3) + 1);
    if (n < 8 || (c & (1 << 24)) === 0) return 0; // PLLREN off: no PLLCLK
    return ((this.pllInputHz() / m) * n) / r;
  }

  sysclkHz(): number {
    const s = this.sws();
    return s === 0 ? this.msiHz() : s === 1 ? HSI_HZ : this.pllHz();
  }

  coreHz(): number {
    return this.sysclkHz() / ahbDivider((this.reg(RCC_L4.CFGR) >>> 4) & 0xf);
  }

  busHz(bus: Bus): number {
    const cfgr = this.reg(RCC_L4.CFGR);
    if (bus === 'ahb') return this.coreHz();
    const ppre = bus === 'apb1' ? (cfgr >>> 8) & 0x7 : (cfgr >>> 11) & 0x7;
    return this.coreHz() / apbDivider(ppre);
  }
}
