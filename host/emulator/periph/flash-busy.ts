/**
 * BSY of FLASH_SR, the same on F2/F4 and L4: an operation is charged to the clock once, when it
 * starts (the FlashModel does that); the first SR read after it shows BSY set, the next one ends
 * the agent's wait (docs/emulator.md, "Time"). `busy` tells the machine when a wait begins and ends.
 */
export class FlashBusy {
  private pending = false;
  private inWait = false;

  constructor(private readonly busy: (on: boolean) => void) {}

  /** runs one FlashModel operation as a BSY period; PowerLoss passes through to the machine */
  operate(op: () => number): number {
    this.pending = true;
    this.inWait = true;
    this.busy(true);
    return op();
  }

  /** SR as the core reads it: `sr` with `bsyBit` set on the first read after an operation */
  read(sr: number, bsyBit: number): number {
    if (this.pending) {
      this.pending = false;
      return (sr | bsyBit) >>> 0;
    }
    if (this.inWait) {
      this.inWait = false;
      this.busy(false);
    }
    return sr >>> 0;
  }
}
