import { SerialPort } from 'serialport';
import { DeviceError } from '../errors';
import { RxBuffer } from './rx-buffer';
import type { LinkStats, Signals, Transport } from './types';

export interface SerialOptions {
  baudRate?: number;
  /** 'even' for real STM32 bootloaders (8E1); 'none' for pseudo-terminals */
  parity?: 'even' | 'none';
}

/** A real serial port (USB adapter) through the `serialport` package. */
export class SerialTransport implements Transport {
  private readonly rx: RxBuffer;
  private counters: LinkStats = { bytesTx: 0, bytesRx: 0 };
  private readonly opened = process.hrtime.bigint();

  private constructor(
    private readonly port: SerialPort,
    readonly description: string,
  ) {
    this.rx = new RxBuffer(description);
    port.on('data', (chunk: Buffer) => {
      this.counters.bytesRx += chunk.length;
      this.rx.push(new Uint8Array(chunk));
    });
    port.on('close', () => this.rx.fail(new DeviceError(`serial port ${description} was closed (adapter unplugged?)`)));
    port.on('error', (err: Error) => this.rx.fail(new DeviceError(`serial port ${description}: ${err.message}`)));
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

  async write(data: Uint8Array): Promise<void> {
    if (this.rx.failed) throw this.rx.failed;
    await new Promise<void>((resolve, reject) => {
      this.port.write(Buffer.from(data), (err) => (err ? reject(new DeviceError(`write to ${this.description}: ${err.message}`)) : undefined));
      this.port.drain((err) => (err ? reject(new DeviceError(`write to ${this.description}: ${err.message}`)) : resolve()));
    });
    this.counters.bytesTx += data.length;
  }

  read(n: number, timeoutMs: number): Promise<Uint8Array> {
    return this.rx.read(n, timeoutMs);
  }

  async discardInput(): Promise<void> {
    this.rx.clear();
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
