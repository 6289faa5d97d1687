import type { EmulatedTerminal } from '../emulator/terminal';
import type { WebSerialPortLike } from '../transport/webserial';

/**
 * An emulated terminal behind a Web Serial port object: the page's demonstration can drive the
 * in-page emulator through the real WebSerialTransport (streams, signals), and node tests can
 * check that transport without a browser or a device.
 */
export class EmulatedSerialPort implements WebSerialPortLike {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;

  constructor(readonly terminal: EmulatedTerminal) {}

  async open(): Promise<void> {
    if (this.readable) throw new Error('port already open');
    const t = this.terminal;
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => t.onOutput((bytes) => controller.enqueue(bytes)),
      cancel: () => t.onOutput(null),
    });
    this.writable = new WritableStream<Uint8Array>({ write: (chunk) => t.receive(chunk) });
  }

  async close(): Promise<void> {
    this.terminal.onOutput(null);
    this.readable = null;
    this.writable = null;
  }

  async setSignals(s: { dataTerminalReady?: boolean; requestToSend?: boolean }): Promise<void> {
    this.terminal.setSignals({ dtr: s.dataTerminalReady, rts: s.requestToSend });
  }

  getInfo(): { usbVendorId?: number; usbProductId?: number } {
    return {};
  }
}
