import { ACK, CMD, NACK, SYNC, SPECIAL_ERASE, decodeAddressFrame, isCommandFrame, stm32Crc32, xorOf } from '../protocol/frames';
import { FLASH_STATUS, PowerLoss } from './flash';
import { runAgent } from './agent';
import type { EmulatedTerminal } from './terminal';

/**
 * The device side of the AN3155 USART bootloader, serving one emulated terminal forever. It reads
 * the line one byte at a time like the ROM code does, answers ACK/NACK, and acts on the flash
 * model, RAM and option bytes. Go into RAM that holds an agent load header starts the Wasm agent.
 */
export async function serveBootloader(t: EmulatedTerminal): Promise<never> {
  const next = (): Promise<number> => t.input.next();
  const read = async (n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await next());
    return out;
  };
  const ack = (): void => t.emit([ACK]);
  const nack = (): void => t.emit([NACK]);
  const readAddress = async (): Promise<number | null> => decodeAddressFrame(await read(5));

  const commands = (): number[] => {
    const list: number[] = [CMD.GET, CMD.GET_VERSION, CMD.GET_ID, CMD.READ_MEMORY, CMD.GO, CMD.WRITE_MEMORY, t.board.bootloader.eraseCommand, CMD.READOUT_PROTECT, CMD.READOUT_UNPROTECT];
    if (t.board.bootloader.getChecksum) list.push(CMD.GET_CHECKSUM);
    return list;
  };

  for (;;) {
    const b0 = await next();
    if (t.state !== 'bootloader') continue; // in reset or running the application: the ROM is not listening
    if (!t.synced) {
      if (b0 === SYNC) {
        t.synced = true;
        ack();
      }
      continue; // anything before the sync byte is noise to the autobaud detector
    }
    if (b0 === SYNC) {
      nack(); // a second 0x7F in an open session: this part answers NACK
      continue;
    }
    const b1 = await next();
    if (!isCommandFrame(b0, b1) || !commands().includes(b0) || t.faults.nack.includes(b0)) {
      nack();
      continue;
    }
    const locked = t.rdpLevel !== 0;
    try {
      switch (b0) {
        case CMD.GET: {
          ack();
          const list = commands();
          t.emit([list.length, t.board.bootloader.version, ...list]);
          ack();
          break;
        }
        case CMD.GET_VERSION: {
          ack();
          const [o1, o2] = t.board.bootloader.optionBytes;
          t.emit([t.board.bootloader.version, o1, o2]);
          ack();
          break;
        }
        case CMD.GET_ID: {
          ack();
          const pid = t.board.productIds[0];
          t.emit([1, pid >> 8, pid & 0xff]);
          ack();
          break;
        }
        case CMD.READ_MEMORY: {
          if (locked) {
            nack();
            break;
          }
          ack();
          const address = await readAddress();
          if (address === null) {
            nack();
            break;
          }
          ack();
          const [n, c] = await read(2);
          if ((n ^ c) !== 0xff) {
            nack();
            break;
          }
          const data = t.readMemory(address, n + 1);
          if (!data) {
            nack();
            break;
          }
          ack();
          t.emit(data);
          break;
        }
        case CMD.WRITE_MEMORY: {
          if (locked) {
            nack();
            break;
          }
          ack();
          const address = await readAddress();
          if (address === null || address % 4 !== 0) {
            nack();
            break;
          }
          ack();
          const n = await next();
          const rest = await read(n + 2);
          const data = Uint8Array.from(rest.slice(0, n + 1));
          if (((n ^ xorOf(data)) & 0xff) !== rest[n + 1]) {
            nack();
            break;
          }
          writeMemory(t, address, data) ? ack() : nack();
          break;
        }
        case CMD.GO: {
          if (locked) {
            nack();
            break;
          }
          ack();
          const address = await readAddress();
          if (address === null) {
            nack();
            break;
          }
          ack();
          go(t, address);
          break;
        }
        case CMD.EXTENDED_ERASE: {
          if (locked) {
            nack();
            break;
          }
          ack();
          const [hi, lo] = await read(2);
          const n = (hi << 8) | lo;
          if (n >= 0xfff0) {
            const x = await next();
            if (x !== (hi ^ lo)) {
              nack();
              break;
            }
            const sectors =
              n === SPECIAL_ERASE.MASS ? t.flash.sectors : n === SPECIAL_ERASE.BANK1 ? t.flash.sectors.filter((s) => s.bank === 1) : n === SPECIAL_ERASE.BANK2 ? t.flash.sectors.filter((s) => s.bank === 2) : [];
            if (!sectors.length) {
              nack();
              break;
            }
            t.flash.eraseSectors(sectors) === FLASH_STATUS.OK ? ack() : nack();
            break;
          }
          const raw = await read(2 * (n + 1) + 1);
          if (xorOf([hi, lo, ...raw.slice(0, -1)]) !== raw[raw.length - 1]) {
            nack();
            break;
          }
          const pages: number[] = [];
          for (let i = 0; i <= n; i++) pages.push((raw[2 * i] << 8) | raw[2 * i + 1]);
          ack2(t, erasePages(t, pages));
          break;
        }
        case CMD.ERASE: {
          if (locked) {
            nack();
            break;
          }
          ack();
          const n = await next();
          if (n === 0xff) {
            const x = await next();
            if (x !== 0x00) {
              nack();
              break;
            }
            t.flash.eraseSectors(t.flash.sectors) === FLASH_STATUS.OK ? ack() : nack();
            break;
          }
          const raw = await read(n + 2);
          if (xorOf([n, ...raw.slice(0, -1)]) !== raw[raw.length - 1]) {
            nack();
            break;
          }
          ack2(t, erasePages(t, raw.slice(0, -1)));
          break;
        }
        case CMD.READOUT_PROTECT: {
          ack();
          t.rdpLevel = 1;
          ack();
          t.restart('bootloader', 'readout protect set RDP level 1');
          break;
        }
        case CMD.READOUT_UNPROTECT: {
          ack();
          // the part erases its whole flash before it drops read protection
          t.flash.eraseSectors(t.flash.sectors);
          t.rdpLevel = 0;
          ack();
          t.restart('bootloader', 'readout unprotect: mass erase, RDP level 0');
          break;
        }
        case CMD.GET_CHECKSUM: {
          if (locked) {
            nack();
            break;
          }
          ack();
          const address = await readAddress();
          if (address === null || address % 4 !== 0) {
            nack();
            break;
          }
          ack();
          const length = decodeAddressFrame(await read(5));
          const data = length !== null && length > 0 && length % 4 === 0 ? t.readMemory(address, length) : null;
          if (!data) {
            nack();
            break;
          }
          ack();
          const crc = stm32Crc32(data);
          const out = [(crc >>> 24) & 0xff, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff];
          t.emit([ACK, ...out, xorOf(out)]);
          break;
        }
        default:
          nack();
      }
    } catch (err) {
      if (err instanceof PowerLoss) t.powerLoss(err);
      else throw err;
    }
  }
}

function ack2(t: EmulatedTerminal, ok: boolean): void {
  t.emit([ok ? ACK : NACK]);
}

function erasePages(t: EmulatedTerminal, pages: number[]): boolean {
  const sectors = pages.map((p) => t.flash.sectorByIndex(p));
  if (sectors.some((s) => s === undefined)) return false;
  for (const s of sectors) if (t.flash.eraseSector(s!) !== FLASH_STATUS.OK) return false;
  return true;
}

/** Write Memory: RAM above the bootloader's own area, or flash (programmed, NOR rules). */
function writeMemory(t: EmulatedTerminal, address: number, data: Uint8Array): boolean {
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

/** Go: into an agent load header in RAM starts the agent; into flash starts the application. */
function go(t: EmulatedTerminal, address: number): void {
  if (t.ramOffset(address, 16) !== null) {
    runAgent(t, address);
    return;
  }
  t.state = 'application';
  t.synced = false;
  t.events.push(`${t.clock.now().toFixed(3)} go 0x${address.toString(16)}: application started`);
}
