import type { Peripheral } from './bus';
import { lanesOf } from './bus';

/**
 * The independent watchdog (RM0033 §18, RM0090 §19, RM0351 §32): KR 0x00, PR 0x04, RLR 0x08,
 * SR 0x0C (L4 also WINR 0x10). Clocked by the LSI (32 kHz), counting in virtual time: the
 * counter reloads with RLR on KR = 0xAAAA and runs out (RLR + 1) * 4 * 2^PR LSI periods later;
 * then the part resets (the machine returns 'reset' and the terminal restarts in its
 * bootloader). KR = 0xCCCC starts it (it cannot be stopped), KR = 0x5555 unlocks PR and RLR
 * (another key locks them again). PR/RLR updates take effect at once (SR.PVU/RVU read 0).
 *
 * Whether it runs when Go starts the agent is the terminal's option `iwdg` (a part whose
 * hardware-watchdog option bit is set, or a bootloader that left it running); it is off by
 * default, and then writing the reload key has no effect, as on silicon.
 *
 * A flash operation jumps virtual time to its end (the machine does not spin through the
 * millions of BSY polls of a real wait): `busyWait(true)` marks that jump, and a reload written
 * before the flash model reports BSY clear again counts as the refreshes the agent's BSY loop
 * would have made all along. An agent that never refreshes in its BSY loop is still reset.
 */
export const IWDG = { KR: 0x00, PR: 0x04, RLR: 0x08, SR: 0x0c, WINR: 0x10 } as const;
export const KEY_RELOAD = 0xaaaa;
export const KEY_ENABLE = 0x5555;
export const KEY_START = 0xcccc;
export const LSI_HZ = 32_000;
const RLR_RESET = 0xfff;
const WINR_RESET = 0xfff;

export class Iwdg implements Peripheral {
  readonly name = 'IWDG';
  readonly size = 0x400;
  private pr = 0;
  private rlr = RLR_RESET;
  private winr = WINR_RESET;
  private unlocked = false;
  running: boolean;
  /** virtual time at which the counter reaches 0 */
  private deadline = Infinity;
  private inBusyWait = false;

  constructor(
    readonly base: number,
    private readonly now: () => number,
    startRunning: boolean,
  ) {
    this.running = startRunning;
    if (startRunning) this.reload();
  }

  /** seconds from a reload to the reset */
  timeout(): number {
    const divider = 4 << Math.min(this.pr & 7, 6);
    return ((this.rlr + 1) * divider) / LSI_HZ;
  }

  private reload(): void {
    this.deadline = this.now() + this.timeout();
  }

  /** the counter has run out (checked by the machine at every sync point) */
  expired(): boolean {
    return this.running && !this.inBusyWait && this.now() >= this.deadline;
  }

  busyWait(on: boolean): void {
    this.inBusyWait = on;
  }

  read(offset: number, size: number): number {
    const at = offset & ~3;
    const v = at === IWDG.PR ? this.pr : at === IWDG.RLR ? this.rlr : at === IWDG.WINR ? this.winr : 0; // KR write-only, SR 0
    return lanesOf(v, offset, size);
  }

  write(offset: number, _size: number, value: number): void {
    const at = offset & ~3;
    if (at === IWDG.KR) {
      const key = value & 0xffff;
      this.unlocked = key === KEY_ENABLE;
      if (key === KEY_START && !this.running) {
        this.running = true;
        this.reload();
      } else if (key === KEY_RELOAD && this.running) {
        this.reload();
      }
      return;
    }
    if (!this.unlocked) return;
    if (at === IWDG.PR) this.pr = value & 7;
    else if (at === IWDG.RLR) this.rlr = value & 0xfff;
    else if (at === IWDG.WINR) this.winr = value & 0xfff;
  }
}
