/**
 * The committed agent on QEMU (`qemu-system-arm -M netduinoplus2`, an STM32F405), driven by the
 * host's real AgentRunner: a Transport over QEMU's serial port (a Unix socket) and a stand-in for
 * the bootloader client that QEMU needs because it has no ST bootloader.
 *
 * `QemuLoader` is that stand-in, and it is not a bootloader: Write Memory is recorded (nothing on
 * the wire), Go starts QEMU with the flash image as `-kernel` and every recorded write as a
 * `-device loader` at its address, then connects the transport. Its flash image must begin with
 * the two-word vector table {SP, entry | 1} of the image Go starts (QEMU boots from it, which is
 * what Go does: SP from word 0, PC from word 1). Read Memory and re-sync are refused: there is
 * nothing to read back from and no bootloader to return to.
 *
 * QEMU models no flash interface, RCC or system memory: only reads of the flash it was given
 * work there (a hash job), never an erase or program. It clocks the core at 168 MHz whatever RCC
 * says, so a board used with it must say 168 MHz as its reset clock (`qemuBoard`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Board } from '../host/boards/types';
import { DeviceError, TimeoutError } from '../host/errors';
import type { BootloaderClient } from '../host/protocol/client';
import { RxBuffer } from '../host/transport/rx-buffer';
import type { LinkStats, Signals, Transport } from '../host/transport/types';

/** QEMU's netduinoplus2 runs the core (and SysTick) at 168 MHz whatever RCC says */
export const QEMU_CORE_HZ = 168_000_000;
/** the STM32F405's main flash, where -kernel puts the image */
export const QEMU_FLASH_BASE = 0x08000000;
export const QEMU_FLASH_SIZE = 1024 * 1024;
const CONNECT_TIMEOUT_MS = 5000;
const CONNECT_POLL_MS = 50;

export function hasQemu(): boolean {
  return spawnSync('sh', ['-c', 'command -v qemu-system-arm'], { encoding: 'utf8' }).status === 0;
}

/** The board as QEMU runs it: its reset clock is QEMU's 168 MHz (the agent's timeouts count SysTick at that clock). */
export function qemuBoard(board: Board): Board {
  if (!board.link) throw new Error(`board ${board.id} has no agent link`);
  return { ...board, link: { ...board.link, resetClockHz: QEMU_CORE_HZ } };
}

/** A Transport over QEMU's serial port; unconnected until QemuLoader.go. Signals do nothing (QEMU has no RTS/DTR wiring). */
export class QemuSocketTransport implements Transport {
  readonly description = 'qemu-system-arm netduinoplus2 USART1';
  private readonly rx = new RxBuffer(this.description);
  private socket: Socket | null = null;
  private readonly counts: LinkStats = { bytesTx: 0, bytesRx: 0 };
  private readonly opened = performance.now();

  attach(socket: Socket): void {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.counts.bytesRx += chunk.length;
      this.rx.push(new Uint8Array(chunk));
    });
    socket.on('close', () => this.rx.fail(new DeviceError('QEMU closed its serial socket')));
    socket.on('error', (err) => this.rx.fail(err));
  }

  async write(data: Uint8Array): Promise<void> {
    const s = this.socket;
    if (!s) throw new DeviceError('QEMU is not running yet: nothing to write to before Go');
    this.counts.bytesTx += data.length;
    await new Promise<void>((resolve, reject) => s.write(data, (err) => (err ? reject(err) : resolve())));
  }

  read(n: number, timeoutMs: number): Promise<Uint8Array> {
    return this.rx.read(n, timeoutMs);
  }

  async discardInput(): Promise<void> {
    this.rx.clear();
  }

  async setSignals(_signals: Signals): Promise<void> {}

  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    this.socket = null;
  }

  stats(): LinkStats {
    return { ...this.counts };
  }

  terminalTime(): number {
    return (performance.now() - this.opened) / 1000;
  }
}

/** See the file comment: records Write Memory, starts QEMU at Go. Not a bootloader. */
export class QemuLoader {
  readonly transport = new QemuSocketTransport();
  retries = 0;
  private readonly writes: { address: number; data: Uint8Array }[] = [];
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'poswipe-qemu-'));
  private qemu: ChildProcess | null = null;

  constructor(private readonly flash: Uint8Array) {
    if (flash.length > QEMU_FLASH_SIZE) throw new RangeError(`a flash image of ${flash.length} bytes: the F405 has ${QEMU_FLASH_SIZE}`);
  }

  /** This loader typed as the client the AgentRunner takes (it uses transport, retries, writeMemory and go). */
  asClient(): BootloaderClient {
    return this as unknown as BootloaderClient;
  }

  async writeMemory(address: number, data: Uint8Array): Promise<void> {
    this.writes.push({ address, data: data.slice() });
  }

  async readMemory(address: number): Promise<Uint8Array> {
    throw new DeviceError(`QEMU has no bootloader: Read Memory at 0x${address.toString(16)} cannot be done`);
  }

  async resync(): Promise<void> {
    throw new DeviceError('QEMU has no bootloader to re-sync with');
  }

  async sync(): Promise<void> {
    throw new DeviceError('QEMU has no bootloader to sync with');
  }

  async go(address: number): Promise<void> {
    if (this.qemu) throw new DeviceError('QEMU already runs: a second Go would need the bootloader it has not');
    const image = this.writes.find((w) => w.address === address);
    if (!image || image.data.length < 8) throw new DeviceError(`Go at 0x${address.toString(16)}: nothing was written there`);
    const iv = new DataView(image.data.buffer, image.data.byteOffset);
    const fv = new DataView(this.flash.buffer, this.flash.byteOffset);
    if (fv.getUint32(0, true) !== iv.getUint32(0, true) || fv.getUint32(4, true) !== iv.getUint32(4, true)) {
      throw new DeviceError(`Go at 0x${address.toString(16)}: the flash image's vector table is not that image's {SP, entry}`);
    }
    const kernel = path.join(this.dir, 'flash.bin');
    writeFileSync(kernel, this.flash);
    const loaders = this.writes.map((w, i) => {
      const file = path.join(this.dir, `write${i}.bin`);
      writeFileSync(file, w.data);
      return ['-device', `loader,file=${file},addr=0x${w.address.toString(16)},force-raw=on`];
    });
    const sock = path.join(this.dir, 'serial.sock');
    this.qemu = spawn(
      'qemu-system-arm',
      ['-M', 'netduinoplus2', '-nographic', '-monitor', 'none', '-kernel', kernel, ...loaders.flat(), '-serial', `unix:${sock},server=on,wait=on`],
      { stdio: 'ignore' },
    );
    const deadline = performance.now() + CONNECT_TIMEOUT_MS;
    for (;;) {
      const s = await new Promise<Socket | null>((resolve) => {
        const c = connect(sock, () => resolve(c));
        c.once('error', () => resolve(null));
      });
      if (s) {
        this.transport.attach(s);
        return;
      }
      if (this.qemu.exitCode !== null) throw new DeviceError(`qemu-system-arm exited with ${this.qemu.exitCode} before opening its serial socket`);
      if (performance.now() > deadline) throw new TimeoutError(`QEMU did not open its serial socket ${sock} within ${CONNECT_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, CONNECT_POLL_MS));
    }
  }

  async close(): Promise<void> {
    await this.transport.close();
    if (this.qemu && this.qemu.exitCode === null) {
      const proc = this.qemu;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill();
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
