import { DeviceError } from '../errors';
import { RxBuffer } from './rx-buffer';
import type { LinkStats, Signals, Transport } from './types';

/**
 * The parts of the Web Serial API (WICG serial, Chromium) used here, typed locally: TypeScript's
 * DOM library does not declare navigator.serial.
 */
export interface WebSerialPortLike {
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
  open(options: {
    baudRate: number;
    dataBits?: 7 | 8;
    stopBits?: 1 | 2;
    parity?: 'none' | 'even' | 'odd';
    bufferSize?: number;
    flowControl?: 'none' | 'hardware';
  }): Promise<void>;
  close(): Promise<void>;
  setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean; break?: boolean }): Promise<void>;
  getInfo?(): { usbVendorId?: number; usbProductId?: number };
}

export interface WebSerialLike {
  requestPort(options?: { filters?: { usbVendorId?: number; usbProductId?: number }[] }): Promise<WebSerialPortLike>;
  getPorts(): Promise<WebSerialPortLike[]>;
}

/** navigator.serial where the browser has it (Chromium over https or localhost), else null. */
export function webSerial(): WebSerialLike | null {
  const nav = (globalThis as { navigator?: { serial?: WebSerialLike } }).navigator;
  return nav?.serial ?? null;
}

export interface WebSerialOptions {
  baudRate?: number;
  /** 'even' for real STM32 bootloaders (8E1) */
  parity?: 'even' | 'none';
  /** what the user sees as the port's name */
  description?: string;
}

/**
 * A serial port in the browser through Web Serial: the third transport next to the serialport
 * package and the emulator, behind the same interface, so the protocol, session and verification
 * code run unchanged in the page.
 */
export class WebSerialTransport implements Transport {
  private readonly rx: RxBuffer;
  private counters: LinkStats = { bytesTx: 0, bytesRx: 0 };
  private readonly opened = performance.now();
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private readonly pump: Promise<void>;
  private closing = false;

  private constructor(
    private readonly port: WebSerialPortLike,
    readonly description: string,
  ) {
    this.rx = new RxBuffer(description);
    this.pump = this.readLoop();
  }

  /** Opens `port` (8E1 at 115200 by default) and starts reading it. */
  static async open(port: WebSerialPortLike, options: WebSerialOptions = {}): Promise<WebSerialTransport> {
    try {
      await port.open({
        baudRate: options.baudRate ?? 115200,
        dataBits: 8,
        stopBits: 1,
        parity: options.parity ?? 'even',
        flowControl: 'none',
        bufferSize: 4096,
      });
    } catch (err) {
      throw new DeviceError(`cannot open the serial port: ${(err as Error).message}`);
    }
    const info = port.getInfo?.() ?? {};
    const name = options.description ?? (info.usbVendorId !== undefined ? `webserial:${hex4(info.usbVendorId)}:${hex4(info.usbProductId ?? 0)}` : 'webserial');
    return new WebSerialTransport(port, name);
  }

  private async readLoop(): Promise<void> {
    while (!this.closing && this.port.readable) {
      const reader = this.port.readable.getReader();
      this.reader = reader;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (value && value.length) {
            this.counters.bytesRx += value.length;
            this.rx.push(value);
          }
        }
      } catch (err) {
        // a framing or parity error is recoverable (the stream is re-created); a lost device is not
        const name = (err as Error).name;
        if (name !== 'FramingError' && name !== 'ParityError' && name !== 'BufferOverrunError' && name !== 'BreakError') {
          if (!this.closing) this.rx.fail(new DeviceError(`serial port ${this.description}: ${(err as Error).message} (adapter unplugged?)`));
          break;
        }
      } finally {
        reader.releaseLock();
        this.reader = null;
      }
    }
    if (!this.closing) this.rx.fail(new DeviceError(`serial port ${this.description} was closed (adapter unplugged?)`));
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.rx.failed) throw this.rx.failed;
    const writable = this.port.writable;
    if (!writable) throw new DeviceError(`serial port ${this.description} is not writable`);
    const writer = writable.getWriter();
    try {
      await writer.write(new Uint8Array(data));
    } catch (err) {
      throw new DeviceError(`write to ${this.description}: ${(err as Error).message}`);
    } finally {
      writer.releaseLock();
    }
    this.counters.bytesTx += data.length;
  }

  read(n: number, timeoutMs: number): Promise<Uint8Array> {
    return this.rx.read(n, timeoutMs);
  }

  async discardInput(): Promise<void> {
    this.rx.clear();
  }

  async setSignals(signals: Signals): Promise<void> {
    const s: { dataTerminalReady?: boolean; requestToSend?: boolean } = {};
    if (signals.dtr !== undefined) s.dataTerminalReady = signals.dtr;
    if (signals.rts !== undefined) s.requestToSend = signals.rts;
    try {
      await this.port.setSignals(s);
    } catch (err) {
      throw new DeviceError(`set DTR/RTS on ${this.description}: ${(err as Error).message}`);
    }
  }

  async sleep(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      await this.reader?.cancel();
    } catch {
      // already gone
    }
    await this.pump.catch(() => undefined);
    try {
      await this.port.close();
    } catch {
      // unplugged: nothing to close
    }
  }

  stats(): LinkStats {
    return { ...this.counters };
  }

  terminalTime(): number {
    return (performance.now() - this.opened) / 1000;
  }
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
