/**
 * The unlock sequence of FLASH_CR, the same on F2/F4 (RM0033 §2.3.3, RM0090 §3.5.1) and L4
 * (RM0351 §3.3.5): KEY1 then KEY2 written to FLASH_KEYR clears CR.LOCK. Any wrong sequence
 * locks FLASH_CR until the next reset and returns a bus error (the core takes a HardFault:
 * `onBusError`). Setting CR.LOCK locks it again.
 */
export const FLASH_KEY1 = 0x4567_0123;
export const FLASH_KEY2 = 0xcdef_89ab;

export class FlashKeys {
  /** CR.LOCK */
  locked = true;
  /** a wrong key was written: locked until reset */
  lockedUntilReset = false;
  private step = 0;

  constructor(private readonly onBusError: (why: string) => void) {}

  write(value: number): void {
    const v = value >>> 0;
    if (!this.lockedUntilReset && this.locked) {
      if (this.step === 0 && v === FLASH_KEY1) {
        this.step = 1;
        return;
      }
      if (this.step === 1 && v === FLASH_KEY2) {
        this.step = 0;
        this.locked = false;
        return;
      }
    }
    this.step = 0;
    this.locked = true;
    this.lockedUntilReset = true;
    this.onBusError(`wrong FLASH_KEYR sequence (0x${v.toString(16).padStart(8, '0')}): FLASH_CR locked until reset`);
  }

  lock(): void {
    this.locked = true;
    this.step = 0;
  }
}
