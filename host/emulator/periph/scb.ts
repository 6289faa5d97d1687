import type { Peripheral } from './bus';
import { lanesOf, mergeLanes } from './bus';

/**
 * The core's own registers that an agent touches (PM0056 / PM0214, the Cortex-M3/M4 programming
 * manuals; ARMv7-M ARM §B3.2):
 * - the system control space at 0xE000E000: SysTick (CSR 0x010, RVR 0x014, CVR 0x018,
 *   CALIB 0x01C), the NVIC (0x100-0x4EF, stored, no interrupt is ever delivered), the SCB
 *   (CPUID 0xD00, ICSR, VTOR 0xD08, AIRCR 0xD0C, SCR, CCR, SHPR1-3, SHCSR, CFSR, HFSR, MMFAR,
 *   BFAR, CPACR 0xD88), DEMCR 0xDFC; everything else in the page reads 0 and ignores writes;
 * - the DWT at 0xE0001000: CTRL (CYCCNTENA) and CYCCNT, counting core cycles.
 *
 * Unicorn 2.0.1 in Cortex-M mode implements none of these: every read or write of
 * 0xE000E000-0xE000EFFF and 0xE0001000 is UC_ERR_READ_UNMAPPED/WRITE_UNMAPPED without a model
 * (tried with CPUID, SysTick, AIRCR, VTOR and CYCCNT), so the models here are the only ones.
 *
 * Time: SysTick and CYCCNT count the machine's core cycles (executed instructions x CPI at the
 * core clock, plus the virtual time of flash operations and line bytes at that clock).
 * AIRCR = 0x05FA0004 (VECTKEY + SYSRESETREQ) resets the part. SysTick's TICKINT is stored but
 * no exception is taken (the agent runs with interrupts off).
 */
export const SCS_BASE = 0xe000e000;
export const DWT_BASE = 0xe0001000;

export const SYST = { CSR: 0x010, RVR: 0x014, CVR: 0x018, CALIB: 0x01c } as const;
export const SCB = {
  CPUID: 0xd00,
  ICSR: 0xd04,
  VTOR: 0xd08,
  AIRCR: 0xd0c,
  SCR: 0xd10,
  CCR: 0xd14,
  SHCSR: 0xd24,
  CFSR: 0xd28,
  HFSR: 0xd2c,
  CPACR: 0xd88,
  DEMCR: 0xdfc,
} as const;
export const DWT = { CTRL: 0x000, CYCCNT: 0x004 } as const;

export const CSR_ENABLE = 1 << 0;
export const CSR_CLKSOURCE = 1 << 2;
export const CSR_COUNTFLAG = 1 << 16;
const CSR_WRITABLE = 0x7;
const RVR_MASK = 0x00ff_ffff;
export const AIRCR_VECTKEY = 0x05fa;
/** read-back key (VECTKEYSTAT) */
const AIRCR_VECTKEYSTAT = 0xfa05;
export const AIRCR_SYSRESETREQ = 1 << 2;
const AIRCR_PRIGROUP_MASK = 0x700;
/** CCR reset: STKALIGN (M3 r2p0 and M4) */
const CCR_RESET = 0x200;
/** SysTick's external reference on STM32 is HCLK / 8 */
const SYSTICK_REF_DIVIDER = 8;
/** CALIB: no 10 ms value given (TENMS 0), SKEW set */
const CALIB_VALUE = 0x4000_0000;
export const DEMCR_TRCENA = 1 << 24;
export const DWT_CTRL_CYCCNTENA = 1 << 0;
/** DWT_CTRL read-only part: NUMCOMP = 4 (M3/M4) */
const DWT_CTRL_NUMCOMP = 4 << 28;

/** CPUID: Cortex-M3 r2p0 (STM32F2, PM0056) and Cortex-M4 r0p1 (STM32F4/L4, PM0214) */
export const CPUID = { m3: 0x412f_c230, m4: 0x410f_c241 } as const;

export interface CoreTime {
  /** core cycles since Go */
  cycles(): number;
}

/** SysTick counting from a start point, worked out from the cycle count on every read */
class SysTick {
  csr = 0;
  rvr = 0;
  private startTick = 0;
  private startValue = 0;
  private zerosSeen = 0;

  constructor(private readonly time: CoreTime) {}

  private ticks(): number {
    const c = this.time.cycles();
    return this.csr & CSR_CLKSOURCE ? c : c / SYSTICK_REF_DIVIDER;
  }

  /** ticks since the counter was (re)started, when it runs */
  private elapsed(): number {
    return this.csr & CSR_ENABLE ? Math.floor(this.ticks() - this.startTick) : 0;
  }

  private zeros(k: number): number {
    const v0 = this.startValue;
    if (k < v0 || (v0 === 0 && this.rvr === 0)) return 0;
    const period = this.rvr + 1;
    return Math.floor((k - v0) / period) + (v0 === 0 ? 0 : 1);
  }

  cvr(): number {
    const k = this.elapsed();
    const v0 = this.startValue;
    if (k <= v0) return v0 - k;
    if (this.rvr === 0) return 0;
    const r = (k - v0) % (this.rvr + 1);
    return r === 0 ? 0 : this.rvr + 1 - r;
  }

  readCsr(): number {
    const z = this.zeros(this.elapsed());
    const flag = z > this.zerosSeen ? CSR_COUNTFLAG : 0;
    this.zerosSeen = z;
    return (this.csr | flag) >>> 0;
  }

  private restart(value: number): void {
    this.startValue = value;
    this.startTick = this.ticks();
    this.zerosSeen = 0;
  }

  writeCsr(v: number): void {
    const wasOn = (this.csr & CSR_ENABLE) !== 0;
    const current = this.cvr();
    this.csr = v & CSR_WRITABLE;
    if (!wasOn && this.csr & CSR_ENABLE) this.restart(current);
    else if (wasOn && !(this.csr & CSR_ENABLE)) this.startValue = current;
  }

  writeCvr(): void {
    // any write clears the counter and COUNTFLAG; the next tick reloads RVR
    this.restart(0);
  }
}

export class SystemControlSpace implements Peripheral {
  readonly name = 'SCS';
  readonly base = SCS_BASE;
  readonly size = 0x1000;
  private readonly systick: SysTick;
  private readonly words = new Map<number, number>();
  vtor = 0;
  demcr = 0;

  constructor(
    private readonly cpuid: number,
    time: CoreTime,
    /** AIRCR with VECTKEY and SYSRESETREQ */
    private readonly onSystemReset: () => void,
  ) {
    this.systick = new SysTick(time);
    this.words.set(SCB.CCR, CCR_RESET);
  }

  private readWord(at: number): number {
    switch (at) {
      case SYST.CSR:
        return this.systick.readCsr();
      case SYST.RVR:
        return this.systick.rvr;
      case SYST.CVR:
        return this.systick.cvr();
      case SYST.CALIB:
        return CALIB_VALUE;
      case SCB.CPUID:
        return this.cpuid;
      case SCB.VTOR:
        return this.vtor;
      case SCB.AIRCR:
        return ((AIRCR_VECTKEYSTAT << 16) | ((this.words.get(SCB.AIRCR) ?? 0) & AIRCR_PRIGROUP_MASK)) >>> 0;
      case SCB.DEMCR:
        return this.demcr;
      default:
        return this.words.get(at) ?? 0;
    }
  }

  read(offset: number, size: number): number {
    return lanesOf(this.readWord(offset & ~3), offset, size);
  }

  write(offset: number, size: number, value: number): void {
    const at = offset & ~3;
    const v = mergeLanes(this.readWord(at), offset, size, value);
    switch (at) {
      case SYST.CSR:
        return this.systick.writeCsr(v);
      case SYST.RVR:
        this.systick.rvr = v & RVR_MASK;
        return;
      case SYST.CVR:
        return this.systick.writeCvr();
      case SCB.CPUID:
      case SYST.CALIB:
        return;
      case SCB.VTOR:
        this.vtor = v & 0xffff_ff80;
        return;
      case SCB.AIRCR:
        if (size === 4 && value >>> 16 === AIRCR_VECTKEY) {
          this.words.set(SCB.AIRCR, v & AIRCR_PRIGROUP_MASK);
          if (value & AIRCR_SYSRESETREQ) this.onSystemReset();
        }
        return;
      case SCB.DEMCR:
        this.demcr = v;
        return;
      default:
        this.words.set(at, v);
    }
  }
}

/** DWT: CTRL and CYCCNT only; the comparators read 0. */
export class Dwt implements Peripheral {
  readonly name = 'DWT';
  readonly base = DWT_BASE;
  readonly size = 0x1000;
  private ctrl = 0;
  /** CYCCNT value at `since` cycles, while counting */
  private value = 0;
  private since = 0;

  constructor(
    private readonly time: CoreTime,
    private readonly trace: () => boolean,
  ) {}

  private counting(): boolean {
    return (this.ctrl & DWT_CTRL_CYCCNTENA) !== 0 && this.trace();
  }

  private cyccnt(): number {
    return this.counting() ? (this.value + Math.floor(this.time.cycles() - this.since)) >>> 0 : this.value;
  }

  read(offset: number, size: number): number {
    const at = offset & ~3;
    const v = at === DWT.CTRL ? this.ctrl | DWT_CTRL_NUMCOMP : at === DWT.CYCCNT ? this.cyccnt() : 0;
    return lanesOf(v >>> 0, offset, size);
  }

  write(offset: number, size: number, value: number): void {
    const at = offset & ~3;
    if (at === DWT.CTRL) {
      const now = this.cyccnt();
      this.ctrl = mergeLanes(this.ctrl, offset, size, value) & ~DWT_CTRL_NUMCOMP;
      this.value = now;
      this.since = this.time.cycles();
    } else if (at === DWT.CYCCNT) {
      this.value = mergeLanes(this.cyccnt(), offset, size, value);
      this.since = this.time.cycles();
    }
  }
}
