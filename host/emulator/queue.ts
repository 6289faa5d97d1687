/** Bytes arriving at the emulated part, consumed one at a time by its bootloader loop. */
export class ByteQueue {
  private items: number[] = [];
  private head = 0;
  private waiter: ((b: number) => void) | null = null;
  /** true while the consumer is blocked waiting for a byte that has not arrived */
  waiting = false;

  push(b: number): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      this.waiting = false;
      w(b);
    } else {
      this.items.push(b);
    }
  }

  next(): Promise<number> {
    if (this.head < this.items.length) {
      const b = this.items[this.head++];
      if (this.head > 4096 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve(b);
    }
    this.waiting = true;
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Discards whatever is pending (the part was reset). */
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
