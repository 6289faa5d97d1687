import { SerialPort } from 'serialport';
import { DeviceError, TimeoutError } from '../errors';
import type { LinkStats, Signals, Transport } from './types';

export interface SerialOptions {
  baudRate?: number;
  /** 'even' for real STM32 bootloaders (8E1); 'none' for pseudo-terminals */
  parity?: 'even' | 'none';
}

/** A real serial port (USB adapter) through the `serialport` package. */
export class SerialTransport implements Transport {
  private buffered: Buffer[] = [];
  private bufferedLength = 0;
  private waiter: (() => void) | null = null;
  private counters: LinkStats = { bytesTx: 0, bytesRx: 0 };
  private readonly opened = process.hrtime.bigint();
  private failure: Error | null = null;

  private constructor(
    private readonly port: SerialPort,
    readonly description: string,
  ) {
    port.on('data', (chunk: Buffer) => {
      this.buffered.push(chunk);
      this.bufferedLength += chunk.length;
      this.counters.bytesRx += chunk.length;
      this.wake();
    });
    port.on('close', () => {
      this.failure = new DeviceError(`serial port ${description} was closed (adapter unplugged?)`);
      this.wake();
    });
    port.on('error', (err: Error) => {
      this.failure = new DeviceError(`serial port ${description}: ${err.message}`);
      this.wake();
    });
  }

  static async open(path: string, options: SerialOptions = {}): Promise<SerialTransport> {
    const port = new SerialPort({
      path,
      baudRate: options.baudRate ?? 115200,
      dataBits: 8,
      stopBits: 1,
      parity: options.parity ?? 'even',
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new DeviceError(`cannot open serial port ${path}: ${err.message}`)) : resolve())),
    );
    return new SerialTransport(port, path);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      this.port.write(Buffer.from(data), (err) => (err ? reject(new DeviceError(`write to ${this.description}: ${err.message}`)) : undefined));
      this.port.drain((err) => (err ? reject(new DeviceError(`write to ${this.description}: ${err.message}`)) : resolve()));
    });
    this.counters.bytesTx += data.length;
  }

  async read(n: number, timeoutMs: number): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.bufferedLength < n) {
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TimeoutError(`no answer from ${this.description}: expected ${n} byte(s), got ${this.bufferedLength} within ${timeoutMs} ms`);
      }
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
    const all = Buffer.concat(this.buffered);
    const out = new Uint8Array(all.subarray(0, n));
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.bufferedLength = rest.length;
    return out;
  }

  async discardInput(): Promise<void> {
    this.buffered = [];
    this.bufferedLength = 0;
  }

  async setSignals(signals: Signals): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.port.set(signals, (err) => (err ? reject(new DeviceError(`set DTR/RTS on ${this.description}: ${err.message}`)) : resolve())),
    );
  }

  async sleep(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  async close(): Promise<void> {
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  stats(): LinkStats {
    return { ...this.counters };
  }

  terminalTime(): number {
    return Number(process.hrtime.bigint() - this.opened) / 1e9;
  }
}
