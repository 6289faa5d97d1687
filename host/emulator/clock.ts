/**
 * The emulated terminal's clock. Line bytes and flash operations advance it by the time they
 * would take on the real part; by default nothing sleeps (virtual time), with `realtime` the
 * transport waits for real until the wall clock has caught up.
 */
export class VirtualClock {
  private t = 0;

  /** seconds since the terminal was created */
  now(): number {
    return this.t;
  }

  advance(seconds: number): void {
    if (seconds > 0) this.t += seconds;
  }
}
