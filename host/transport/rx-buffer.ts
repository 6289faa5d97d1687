import { TimeoutError } from '../errors';

/**
 * Bytes received from a port and not yet read, for transports fed by events (serialport) or
 * streams (Web Serial): chunks go in as they arrive, `read` waits for exactly n bytes or times out,
 * and a link failure wakes any waiting read with its error.
 */
export class RxBuffer {
  private chunks: Uint8Array[] = [];
  private length = 0;
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;

  constructor(private readonly description: string) {}

  push(chunk: Uint8Array): void {
    if (!chunk.length) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.wake();
  }

  /** The link is gone: pending and later reads reject with `err` (the first failure wins). */
  fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  get failed(): Error | null {
    return this.failure;
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
  }

  async read(n: number, timeoutMs: number): Promise<Uint8Array> {
    const deadline = performance.now() + timeoutMs;
    while (this.length < n) {
      if (this.failure) throw this.failure;
      const left = deadline - performance.now();
      if (left <= 0) throw new TimeoutError(`no answer from ${this.description}: expected ${n} byte(s), got ${this.length} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = null;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = this.chunks[0];
      const take = Math.min(head.length, n - at);
      out.set(head.subarray(0, take), at);
      at += take;
      if (take === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(take);
    }
    this.length -= n;
    return out;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}
