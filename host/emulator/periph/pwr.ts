import type { Peripheral } from './bus';
import { lanesOf, mergeLanes } from './bus';

/**
 * The power controller, as far as a clock switch needs it: the voltage scaling an agent sets
 * before raising the core clock, and the flag that says the regulator is ready.
 * - F2/F4 (RM0090 §5.4): CR 0x00 (VOS bits 15:14 on F42x, bit 14 on F40x), CSR 0x04 with
 *   VOSRDY (bit 14) always set: the regulator is taken to be ready at once. The F2 (RM0033 §4.4)
 *   has no VOS; its CR stores what is written.
 * - L4 (RM0351 §5.4): CR1 0x00 (VOS bits 10:9, reset range 1), SR2 0x14 with VOSF (bit 10) and
 *   REGLPF (bit 9) clear: the voltage is always at its target.
 * Every other register stores what is written.
 */
export const PWR_F2 = { CR: 0x00, CSR: 0x04 } as const;
export const PWR_L4 = { CR1: 0x00, SR2: 0x14 } as const;
const F4_CSR_VOSRDY = 1 << 14;
/** F4 CR reset: VOS scale 1 (0x4000 on F40x; F42x 0xC000, not distinguished) */
const F4_CR_RESET = 0x0000_4000;
/** L4 CR1 reset: VOS = range 1 */
const L4_CR1_RESET = 0x0000_0200;

export class Pwr implements Peripheral {
  readonly name = 'PWR';
  readonly size = 0x400;
  private readonly regs = new Map<number, number>();

  constructor(
    readonly base: number,
    private readonly family: 'f2' | 'f4' | 'l4',
    private readonly clockOn: () => boolean,
  ) {
    if (family === 'f4') this.regs.set(PWR_F2.CR, F4_CR_RESET);
    if (family === 'l4') this.regs.set(PWR_L4.CR1, L4_CR1_RESET);
  }

  clocked(): boolean {
    return this.clockOn();
  }

  read(offset: number, size: number): number {
    const at = offset & ~3;
    let v = this.regs.get(at) ?? 0;
    if (this.family === 'f4' && at === PWR_F2.CSR) v |= F4_CSR_VOSRDY;
    if (this.family === 'l4' && at === PWR_L4.SR2) v = 0;
    return lanesOf(v >>> 0, offset, size);
  }

  write(offset: number, size: number, value: number): void {
    const at = offset & ~3;
    this.regs.set(at, mergeLanes(this.regs.get(at) ?? 0, offset, size, value));
  }
}
