import { DeviceError, NackError, TimeoutError } from '../errors';
import type { Transport } from '../transport/types';
import {
  ACK,
  CMD,
  LEGACY_GLOBAL_ERASE,
  MAX_ERASE_GROUP,
  MAX_TRANSFER,
  NACK,
  SYNC,
  addressFrame,
  checksumLengthFrame,
  commandFrame,
  commandName,
  dataFrame,
  extendedEraseFrame,
  legacyEraseFrame,
  readLengthFrame,
  specialEraseFrame,
  xorOf,
} from './frames';

export interface ClientOptions {
  /** per-byte answer timeout (stm32flash uses 0.5 s) */
  byteTimeoutMs?: number;
  /** attempts per idempotent command when the line garbles it */
  attempts?: number;
  /** called with a short note whenever the client retries */
  onRetry?: (what: string, err: Error) => void;
}

export interface BootloaderInfo {
  version: number;
  commands: number[];
}

/**
 * The host side of the AN3155 USART bootloader protocol over any Transport. Commands that can be
 * repeated safely are retried after a re-sync when the line garbles them (NACK, bad answer,
 * timeout); a command refused every time is reported with its name.
 */
export class BootloaderClient {
  readonly byteTimeoutMs: number;
  readonly attempts: number;
  info: BootloaderInfo | null = null;
  /** exchanges repeated because the line garbled them, since the client was made (a noisy line shows here) */
  retries = 0;

  constructor(
    readonly transport: Transport,
    private readonly options: ClientOptions = {},
  ) {
    this.byteTimeoutMs = options.byteTimeoutMs ?? 500;
    this.attempts = options.attempts ?? 8;
  }

  /** Opens the session: 0x7F answered ACK (or NACK from a part already synced). */
  async sync(tries = 5): Promise<void> {
    let last: Error | null = null;
    for (let i = 0; i < tries; i++) {
      await this.transport.discardInput();
      await this.transport.write(Uint8Array.of(SYNC));
      try {
        const [b] = await this.transport.read(1, this.byteTimeoutMs);
        if (b === ACK || b === NACK) return;
        last = new DeviceError(`unexpected answer 0x${b.toString(16)} to the sync byte`);
      } catch (err) {
        last = err as Error;
      }
    }
    throw new DeviceError(
      `no bootloader answers on ${this.transport.description} (sync 0x7F got no ACK after ${tries} tries${last ? `: ${last.message}` : ''}); is the terminal in bootloader mode and the port right?`,
    );
  }

  /**
   * Brings a confused part back to its command loop: it may be in the middle of a frame that lost
   * a byte, so keep sending 0x7F (each completes or pads the frame) until it answers.
   */
  async resync(maxBytes = 300): Promise<void> {
    await this.transport.discardInput();
    for (let i = 0; i < maxBytes; i++) {
      await this.transport.write(Uint8Array.of(SYNC));
      try {
        const [b] = await this.transport.read(1, 50);
        if (b === ACK || b === NACK) {
          await this.transport.sleep(2);
          await this.transport.discardInput();
          return;
        }
      } catch (err) {
        if (!(err instanceof TimeoutError)) throw err;
      }
    }
    throw new DeviceError(`the bootloader on ${this.transport.description} stopped answering (no reply to ${maxBytes} sync bytes)`);
  }

  private async expectAck(what: string, command: number, timeoutMs = this.byteTimeoutMs): Promise<void> {
    const [b] = await this.transport.read(1, timeoutMs);
    if (b === ACK) return;
    if (b === NACK) throw new NackError(`${what}: the bootloader answered NACK`, command);
    throw new DeviceError(`${what}: expected ACK, got 0x${b.toString(16).padStart(2, '0')}`);
  }

  private async sendCommand(code: number): Promise<void> {
    await this.transport.discardInput();
    await this.transport.write(commandFrame(code));
    await this.expectAck(commandName(code), code);
  }

  /**
   * Runs an idempotent exchange with retries: a NACK or garbled answer may be the line's fault,
   * so re-sync and try again; only the last error is reported.
   */
  async retrying<T>(what: string, fn: () => Promise<T>, attempts = this.attempts): Promise<T> {
    let last: Error | null = null;
    for (let i = 0; i < attempts; i++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof DeviceError)) throw err;
        last = err;
        this.retries++;
        this.options.onRetry?.(what, err);
        if (i + 1 < attempts) await this.resync();
      }
    }
    throw last!;
  }

  async get(): Promise<BootloaderInfo> {
    return this.retrying('Get', async () => {
      await this.sendCommand(CMD.GET);
      const [n] = await this.transport.read(1, this.byteTimeoutMs);
      const rest = await this.transport.read(n + 1, this.byteTimeoutMs);
      await this.expectAck('Get', CMD.GET);
      this.info = { version: rest[0], commands: Array.from(rest.subarray(1)) };
      return this.info;
    });
  }

  async getVersion(): Promise<{ version: number; option1: number; option2: number }> {
    return this.retrying('Get Version', async () => {
      await this.sendCommand(CMD.GET_VERSION);
      const [version, option1, option2] = await this.transport.read(3, this.byteTimeoutMs);
      await this.expectAck('Get Version', CMD.GET_VERSION);
      return { version, option1, option2 };
    });
  }

  async getId(): Promise<number> {
    return this.retrying('Get ID', async () => {
      await this.sendCommand(CMD.GET_ID);
      const [n] = await this.transport.read(1, this.byteTimeoutMs);
      const id = await this.transport.read(n + 1, this.byteTimeoutMs);
      await this.expectAck('Get ID', CMD.GET_ID);
      return (id[0] << 8) | id[1];
    });
  }

  /**
   * Moves `length` bytes in commands of at most 256 bytes. A chunk that fails (NACK, timeout,
   * garbled answer) is retried after a re-sync with half the size, so a noisy line still gets
   * through; the size grows back after each success. Gives up after `attempts` failures in a row.
   */
  private async chunked(
    what: string,
    address: number,
    length: number,
    align: number,
    once: (off: number, n: number) => Promise<void>,
    onProgress?: (done: number) => void,
  ): Promise<void> {
    let off = 0;
    let size = MAX_TRANSFER;
    let failures = 0;
    while (off < length) {
      const n = Math.min(size, length - off);
      try {
        await once(off, n);
        off += n;
        failures = 0;
        size = Math.min(MAX_TRANSFER, size * 2);
        onProgress?.(off);
      } catch (err) {
        if (!(err instanceof DeviceError)) throw err;
        this.retries++;
        this.options.onRetry?.(`${what} at 0x${(address + off).toString(16)}`, err);
        if (++failures >= this.attempts) throw err;
        size = Math.max(align * 4, Math.floor(size / 2 / align) * align);
        await this.resync();
      }
    }
  }

  /** Read Memory, split into commands of at most 256 bytes. */
  async readMemory(address: number, length: number, onProgress?: (done: number) => void): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await this.chunked(
      'Read Memory',
      address,
      length,
      1,
      async (off, n) => {
        await this.sendCommand(CMD.READ_MEMORY);
        await this.transport.write(addressFrame(address + off));
        await this.expectAck('Read Memory address', CMD.READ_MEMORY);
        await this.transport.write(readLengthFrame(n));
        await this.expectAck('Read Memory length', CMD.READ_MEMORY);
        out.set(await this.transport.read(n, this.byteTimeoutMs + n), off);
      },
      onProgress,
    );
    return out;
  }

  /**
   * Reads until two reads agree: Read Memory carries no checksum, so a value that must be right
   * (a unique ID, a header) is read twice.
   */
  async readMemoryConfirmed(address: number, length: number, tries = 6): Promise<Uint8Array> {
    // chunk by chunk (one Read Memory each): on a noisy line two whole 4 KiB reads rarely agree,
    // two reads of 256 bytes usually do
    const out = new Uint8Array(length);
    for (let off = 0; off < length; off += MAX_TRANSFER) {
      const n = Math.min(MAX_TRANSFER, length - off);
      let previous = await this.readMemory(address + off, n);
      for (let i = 0; ; i++) {
        const again = await this.readMemory(address + off, n);
        if (Buffer.compare(Buffer.from(again), Buffer.from(previous)) === 0) {
          out.set(again, off);
          break;
        }
        if (i + 1 >= tries)
          throw new DeviceError(`reads of 0x${(address + off).toString(16)} never agreed twice in a row (${tries + 1} reads): the line is too noisy`);
        previous = again;
      }
    }
    return out;
  }

  /** Write Memory, split into commands of at most 256 bytes, padded to whole words with 0xFF. */
  async writeMemory(address: number, data: Uint8Array, onProgress?: (done: number) => void, timeoutMs = 1000): Promise<void> {
    if (address % 4 !== 0) throw new RangeError(`Write Memory address 0x${address.toString(16)} is not word aligned`);
    await this.chunked(
      'Write Memory',
      address,
      data.length,
      4,
      async (off, n) => {
        let chunk = data.subarray(off, off + n);
        if (chunk.length % 4) {
          const padded = new Uint8Array(chunk.length + 4 - (chunk.length % 4)).fill(0xff);
          padded.set(chunk);
          chunk = padded;
        }
        await this.sendCommand(CMD.WRITE_MEMORY);
        await this.transport.write(addressFrame(address + off));
        await this.expectAck('Write Memory address', CMD.WRITE_MEMORY);
        await this.transport.write(dataFrame(chunk));
        await this.expectAck('Write Memory data', CMD.WRITE_MEMORY, timeoutMs);
      },
      onProgress,
    );
  }

  /** Go: the part leaves the bootloader and runs code at `address`. Not retried once accepted. */
  async go(address: number): Promise<void> {
    await this.retrying('Go', async () => {
      await this.sendCommand(CMD.GO);
      await this.transport.write(addressFrame(address));
      await this.expectAck('Go address', CMD.GO);
    });
  }

  /** Erases pages/sectors by number with whichever erase command the part offers. */
  async erasePages(pages: number[], timeoutMsPerPage: number): Promise<void> {
    const extended = await this.usesExtendedErase();
    const group = extended ? MAX_ERASE_GROUP : 255;
    for (let i = 0; i < pages.length; i += group) {
      const part = pages.slice(i, i + group);
      const code = extended ? CMD.EXTENDED_ERASE : CMD.ERASE;
      await this.retrying(`${commandName(code)} of ${part.length} page(s)`, async () => {
        await this.sendCommand(code);
        await this.transport.write(extended ? extendedEraseFrame(part) : legacyEraseFrame(part));
        await this.expectAck(commandName(code), code, timeoutMsPerPage * part.length + this.byteTimeoutMs);
      });
    }
  }

  /** Mass erase (Extended Erase 0xFFFF or Erase global). */
  async massErase(timeoutMs: number): Promise<void> {
    const extended = await this.usesExtendedErase();
    const code = extended ? CMD.EXTENDED_ERASE : CMD.ERASE;
    await this.retrying('mass erase', async () => {
      await this.sendCommand(code);
      await this.transport.write(extended ? specialEraseFrame(0xffff) : LEGACY_GLOBAL_ERASE);
      await this.expectAck('mass erase', code, timeoutMs);
    });
  }

  /** Get Checksum (0xA1): the part's CRC over `length` bytes (a multiple of 4). */
  async getChecksum(address: number, length: number): Promise<number> {
    return this.retrying(`Get Checksum at 0x${address.toString(16)}`, async () => {
      await this.sendCommand(CMD.GET_CHECKSUM);
      await this.transport.write(addressFrame(address));
      await this.expectAck('Get Checksum address', CMD.GET_CHECKSUM);
      await this.transport.write(checksumLengthFrame(length));
      await this.expectAck('Get Checksum length', CMD.GET_CHECKSUM);
      await this.expectAck('Get Checksum result', CMD.GET_CHECKSUM, this.byteTimeoutMs + length / 1000);
      const r = await this.transport.read(5, this.byteTimeoutMs);
      if (xorOf(r, 0, 4) !== r[4]) throw new DeviceError('Get Checksum: the CRC arrived with a bad check byte');
      return ((r[0] << 24) | (r[1] << 16) | (r[2] << 8) | r[3]) >>> 0;
    });
  }

  /** Readout Unprotect: the part mass-erases itself, drops RDP to level 0 and resets. */
  async readoutUnprotect(timeoutMs: number): Promise<void> {
    await this.sendCommand(CMD.READOUT_UNPROTECT);
    await this.expectAck('Readout Unprotect', CMD.READOUT_UNPROTECT, timeoutMs);
  }

  private async usesExtendedErase(): Promise<boolean> {
    const info = this.info ?? (await this.get());
    if (info.commands.includes(CMD.EXTENDED_ERASE)) return true;
    if (info.commands.includes(CMD.ERASE)) return false;
    throw new DeviceError('the bootloader offers neither Erase (0x43) nor Extended Erase (0x44)');
  }
}
