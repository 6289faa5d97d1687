import { ACK, CMD, NACK, SYNC, SPECIAL_ERASE, decodeAddressFrame, isCommandFrame, stm32Crc32, xorOf } from '../protocol/frames';
import { FLASH_STATUS, PowerLoss } from './flash';
import { secureBootRefusal } from './secure-boot';
import { RESET_MARK, type BootloaderPart } from './part';

/** Thrown out of a command's handling when the part is reset in the middle of it. */
class Restarted extends Error {}

/**
 * The device side of the AN3155 USART bootloader, serving one emulated terminal forever. It reads
 * the line one byte at a time like the ROM code does, answers ACK/NACK, and acts on the flash
 * model, RAM and option bytes. Go into RAM hands the part to the terminal's CodeRunner (the
 * agent's model or the instruction-level CPU) until that code gives it back.
 */
export async function serveBootloader(t: BootloaderPart): Promise<never> {
  const next = async (): Promise<number> => {
    const b = await t.input.next();
    if (b === RESET_MARK) throw new Restarted();
    return b;
  };
  const read = async (n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await next());
    return out;
  };
  const ack = (): void => t.emit([ACK]);
  const nack = (): void => t.emit([NACK]);
  /** the answer to the command frame itself, told to observers */
  const answer = (code: number, accepted: boolean): void => {
    t.emit([accepted ? ACK : NACK]);
    t.notify({ type: 'command', code, accepted });
  };
  const readAddress = async (): Promise<number | null> => decodeAddressFrame(await read(5));

  const commands = (): number[] => {
    const list: number[] = [
      CMD.GET,
      CMD.GET_VERSION,
      CMD.GET_ID,
      CMD.READ_MEMORY,
      CMD.GO,
      CMD.WRITE_MEMORY,
      t.board.bootloader.eraseCommand,
      CMD.READOUT_PROTECT,
      CMD.READOUT_UNPROTECT,
    ];
    if (t.board.bootloader.getChecksum) list.push(CMD.GET_CHECKSUM);
    return list;
  };

  for (;;) {
    const b0 = await t.input.next();
    if (b0 === RESET_MARK) continue; // a reset while the ROM was idle: nothing to abandon
    if (t.state !== 'bootloader') continue; // in reset, faulted or running the application: the ROM is not listening
    if (!t.synced) {
      if (b0 === SYNC) {
        t.markSynced();
        ack();
        t.notify({ type: 'sync', opened: true });
      }
      continue; // anything before the sync byte is noise to the autobaud detector
    }
    if (b0 === SYNC) {
      nack(); // a second 0x7F in an open session: this part answers NACK
      t.notify({ type: 'sync', opened: false });
      continue;
    }
    try {
      await command(b0);
    } catch (err) {
      if (err instanceof Restarted) continue; // the ROM starts over after a reset
      if (err instanceof PowerLoss) t.powerLoss(err);
      else throw err;
    }
  }

  /** One command, from its first byte on (the part is synced and in its bootloader). */
  async function command(b0: number): Promise<void> {
    const b1 = await next();
    if (!isCommandFrame(b0, b1) || !commands().includes(b0) || t.faults.nack.includes(b0)) {
      nack();
      if (isCommandFrame(b0, b1)) t.notify({ type: 'command', code: b0, accepted: false });
      return;
    }
    const locked = t.rdpLevel !== 0;
    // with read protection active only Get, Get Version, Get ID and Readout Unprotect are served
    const refusedWhenLocked: number[] = [CMD.READ_MEMORY, CMD.WRITE_MEMORY, CMD.GO, CMD.ERASE, CMD.EXTENDED_ERASE, CMD.GET_CHECKSUM, CMD.READOUT_PROTECT];
    if (locked && refusedWhenLocked.includes(b0)) {
      answer(b0, false);
      return;
    }
    answer(b0, true);
    switch (b0) {
      case CMD.GET: {
        const list = commands();
        t.emit([list.length, t.board.bootloader.version, ...list]);
        ack();
        return;
      }
      case CMD.GET_VERSION: {
        const [o1, o2] = t.board.bootloader.optionBytes;
        t.emit([t.board.bootloader.version, o1, o2]);
        ack();
        return;
      }
      case CMD.GET_ID: {
        const pid = t.board.productIds[0];
        t.emit([1, pid >> 8, pid & 0xff]);
        ack();
        return;
      }
      case CMD.READ_MEMORY: {
        // the start address is checked as soon as it arrives, the length once it is known
        const address = await readAddress();
        if (address === null || !t.readMemory(address, 1)) return nack();
        ack();
        const [n, c] = await read(2);
        if ((n ^ c) !== 0xff) return nack();
        const data = t.readMemory(address, n + 1);
        if (!data) return nack();
        ack();
        t.emit(data);
        return;
      }
      case CMD.WRITE_MEMORY: {
        const address = await readAddress();
        if (address === null || address % 4 !== 0 || !writable(t, address, 4)) return nack();
        ack();
        const n = await next();
        const rest = await read(n + 2);
        const data = Uint8Array.from(rest.slice(0, n + 1));
        if (((n ^ xorOf(data)) & 0xff) !== rest[n + 1]) return nack();
        writeMemory(t, address, data) ? ack() : nack();
        return;
      }
      case CMD.GO: {
        const address = await readAddress();
        if (address === null || !t.executable(address, 8)) return nack();
        if (t.trust.length > 0 && t.ramOffset(address, 8) !== null) {
          // simulated secure boot: unsigned code in RAM is refused, the part stays in its bootloader
          const refusal = secureBootRefusal((a, n) => t.readMemory(a, n), address, t.trust);
          if (refusal) {
            t.events.push(`${t.clock.now().toFixed(3)} go 0x${address.toString(16)} refused (simulated secure boot): ${refusal}`);
            return nack();
          }
        }
        ack();
        await go(t, address);
        return;
      }
      case CMD.EXTENDED_ERASE: {
        const [hi, lo] = await read(2);
        const n = (hi << 8) | lo;
        if (n >= 0xfff0) {
          const x = await next();
          if (x !== (hi ^ lo)) return nack();
          const sectors =
            n === SPECIAL_ERASE.MASS
              ? t.flash.sectors
              : n === SPECIAL_ERASE.BANK1
                ? t.flash.sectors.filter((s) => s.bank === 1)
                : n === SPECIAL_ERASE.BANK2
                  ? t.flash.sectors.filter((s) => s.bank === 2)
                  : [];
          if (!sectors.length) return nack();
          t.flash.eraseSectors(sectors) === FLASH_STATUS.OK ? ack() : nack();
          return;
        }
        const raw = await read(2 * (n + 1) + 1);
        if (xorOf([hi, lo, ...raw.slice(0, -1)]) !== raw[raw.length - 1]) return nack();
        const pages: number[] = [];
        for (let i = 0; i <= n; i++) pages.push((raw[2 * i] << 8) | raw[2 * i + 1]);
        ack2(t, erasePages(t, pages));
        return;
      }
      case CMD.ERASE: {
        const n = await next();
        if (n === 0xff) {
          const x = await next();
          if (x !== 0x00) return nack();
          t.flash.eraseSectors(t.flash.sectors) === FLASH_STATUS.OK ? ack() : nack();
          return;
        }
        const raw = await read(n + 2);
        if (xorOf([n, ...raw.slice(0, -1)]) !== raw[raw.length - 1]) return nack();
        ack2(t, erasePages(t, raw.slice(0, -1)));
        return;
      }
      case CMD.READOUT_PROTECT: {
        // AN3155: ACK, set RDP level 1 in the option bytes, ACK, system reset
        t.setRdp(1);
        ack();
        t.restart(t.bootPin ? 'bootloader' : 'application', 'readout protect: RDP level 1 set, system reset');
        return;
      }
      case CMD.READOUT_UNPROTECT: {
        // AN3155: ACK, mass erase, and only when the erase succeeded RDP level 0; ACK, system reset
        if (t.flash.eraseSectors(t.flash.sectors) !== FLASH_STATUS.OK) return nack();
        t.setRdp(0);
        ack();
        t.restart(t.bootPin ? 'bootloader' : 'application', 'readout unprotect: mass erase, RDP level 0, system reset');
        return;
      }
      case CMD.GET_CHECKSUM: {
        // stm32flash 0.7 (stm32_crc_memory): address+XOR → ACK; length (4 bytes MSB first)+XOR → ACK;
        // then ACK, the CRC (4 bytes MSB first) and its XOR
        const address = await readAddress();
        if (address === null || address % 4 !== 0 || !t.readMemory(address, 4)) return nack();
        ack();
        const length = decodeAddressFrame(await read(5));
        const data = length !== null && length > 0 && length % 4 === 0 ? t.readMemory(address, length) : null;
        if (!data) return nack();
        ack();
        const crc = stm32Crc32(data);
        const out = [(crc >>> 24) & 0xff, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff];
        t.emit([ACK, ...out, xorOf(out)]);
        return;
      }
      default:
        nack();
    }
  }
}

function ack2(t: BootloaderPart, ok: boolean): void {
  t.emit([ok ? ACK : NACK]);
}

function erasePages(t: BootloaderPart, pages: number[]): boolean {
  const sectors = pages.map((p) => t.flash.sectorByIndex(p));
  if (sectors.some((s) => s === undefined)) return false;
  for (const s of sectors) if (t.flash.eraseSector(s!) !== FLASH_STATUS.OK) return false;
  return true;
}

/** Write Memory may target RAM above the bootloader's own area, or flash. */
function writable(t: BootloaderPart, address: number, length: number): boolean {
  if (t.ramOffset(address, length) !== null) return address >= t.board.ram.freeFrom;
  return t.flash.contains(address, length);
}

/** Write Memory: RAM above the bootloader's own area, or flash (programmed, NOR rules). */
function writeMemory(t: BootloaderPart, address: number, data: Uint8Array): boolean {
  const r = t.ramOffset(address, data.length);
  if (r !== null) {
    if (address < t.board.ram.freeFrom) return false;
    t.ram.set(data, r);
    return true;
  }
  if (!t.flash.contains(address, data.length)) return false;
  // the bootloader programs in the part's native unit; pad with the erased value, which leaves bits as they are
  const unit = t.board.flash.programUnit;
  const start = address - (address % unit);
  const end = Math.ceil((address + data.length) / unit) * unit;
  const padded = new Uint8Array(end - start).fill(0xff);
  padded.set(data, address - start);
  return t.flash.program(start, padded) === FLASH_STATUS.OK;
}

/** Cortex-M Application Interrupt and Reset Control Register, and the value that requests a system reset. */
const AIRCR = 0xe000ed0c;
const AIRCR_SYSRESETREQ = 0x05fa0004;

/**
 * Code in RAM that requests a system reset: it loads the AIRCR address and VECTKEY|SYSRESETREQ
 * as literals and stores one into the other. Clients such as stm32flash (`-R`) reset a part this
 * way; the emulator recognises the two literals in the first 64 bytes of the code.
 */
function requestsReset(t: BootloaderPart, pc: number): boolean {
  const code = t.readMemory(pc & ~3, 64) ?? t.readMemory(pc & ~3, 16);
  if (!code) return false;
  const v = new DataView(code.buffer, code.byteOffset, code.byteLength);
  for (let i = 0; i + 8 <= code.length; i += 4) {
    if (v.getUint32(i, true) === AIRCR && v.getUint32(i + 4, true) === AIRCR_SYSRESETREQ) return true;
  }
  return false;
}

/**
 * Go. Like the ROM, the part takes its stack pointer from `address` and its entry point from
 * `address + 4`. In RAM: code that requests a system reset (stm32flash `-R` uploads such a stub)
 * resets the part; anything else runs on the terminal's CodeRunner, and the part is in its hands
 * until the outcome: a system reset (back into the bootloader with RAM kept, BOOT0 still high),
 * a power loss, a fault (silent until the next reset), or a reset from outside (nothing more to
 * do). In flash: the application runs and the bootloader stops listening.
 */
async function go(t: BootloaderPart, address: number): Promise<void> {
  const vector = t.readMemory(address, 8)!;
  const entry = new DataView(vector.buffer, vector.byteOffset, 8).getUint32(4, true);
  if (t.ramOffset(address, 8) === null) {
    t.leaveBootloader('application');
    t.events.push(`${t.clock.now().toFixed(3)} go 0x${address.toString(16)}: application started (entry 0x${entry.toString(16)})`);
    t.notify({ type: 'go', address, into: 'application' });
    return;
  }
  if (requestsReset(t, entry)) {
    t.notify({ type: 'go', address, into: 'reset' });
    t.restart(t.bootPin ? 'bootloader' : 'application', `software reset (SYSRESETREQ) by code started at 0x${address.toString(16)}`);
    return;
  }
  t.leaveBootloader('agent');
  t.notify({ type: 'go', address, into: 'agent' });
  const outcome = await t.runner.go(t, address);
  switch (outcome.kind) {
    case 'reset':
      t.restart(t.bootPin ? 'bootloader' : 'application', `${outcome.why} by code started at 0x${address.toString(16)}`);
      return;
    case 'powerloss':
      if (outcome.error instanceof PowerLoss) t.powerLoss(outcome.error);
      else throw outcome.error;
      return;
    case 'fault':
      t.leaveBootloader('faulted');
      t.events.push(`${t.clock.now().toFixed(3)} go 0x${address.toString(16)}: faulted: ${outcome.why}`);
      t.notify({ type: 'fault', why: outcome.why });
      return;
    case 'interrupted':
      return; // reset from outside (NRST, power, hang-up): the terminal has restarted already
  }
}
