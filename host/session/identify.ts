import type { Board } from '../boards/types';
import { DeviceError, NackError, SafetyError } from '../errors';
import type { BootloaderClient } from '../protocol/client';
import { hexPid } from '../format/hex';

/** What the part says of itself before any memory is read. */
export interface Part {
  pid: number;
  bootloaderVersion: number;
  commands: number[];
}

export interface Identity extends Part {
  /** hex of the 96-bit unique ID, or null when read protection hides it */
  uid: string | null;
  readProtected: boolean;
  /** flash size in bytes read from the part's flash-size register, when readable */
  flashSizeRegister: number | null;
}

/** Opens the session and asks the part what it is: sync, Get, Get ID. */
export async function identifyPart(client: BootloaderClient): Promise<Part> {
  await client.sync();
  const info = await client.get();
  const pid = await client.getId();
  return { pid, bootloaderVersion: info.version, commands: info.commands };
}

/**
 * Connects and identifies the part: sync, Get, Get ID (must be one of the board's product IDs),
 * then the unique ID and flash size register.
 */
export async function identify(client: BootloaderClient, board: Board): Promise<Identity> {
  const part = await identifyPart(client);
  if (!board.productIds.includes(part.pid)) {
    throw new DeviceError(
      `product ID mismatch: board ${board.id} expects ${board.productIds.map(hexPid).join(' or ')}, the terminal answered ${hexPid(part.pid)}`,
    );
  }
  return readIdentity(client, board, part);
}

/**
 * The unique ID and flash size register of a part already known to be `board`. A Read Memory
 * refused with NACK after the part answered everything else means read protection (RDP level 1).
 */
export async function readIdentity(client: BootloaderClient, board: Board, part: Part): Promise<Identity> {
  let uid: string | null = null;
  let readProtected = false;
  let flashSizeRegister: number | null = null;
  try {
    const raw = await client.readMemoryConfirmed(board.uniqueId.address, board.uniqueId.bytes);
    uid = Buffer.from(raw).toString('hex');
    if (board.flash.sizeRegister !== null) {
      const reg = await client.readMemoryConfirmed(board.flash.sizeRegister, 2);
      flashSizeRegister = (reg[0] | (reg[1] << 8)) * 1024;
    }
  } catch (err) {
    if (!(err instanceof NackError)) throw err;
    readProtected = true;
  }
  return { ...part, uid, readProtected, flashSizeRegister };
}

export function refuseIfProtected(id: Identity, board: Board): void {
  if (id.readProtected) {
    throw new SafetyError(
      // a NACK to Read Memory is what read protection looks like, but a bootloader may refuse reads
      // for other reasons: say what was seen, and make --unlock (a mass erase) the operator's decision
      `the terminal (${board.id}) refuses Read Memory (NACK), as a read-protected part (RDP level 1) does; poswipe cannot tell read protection from another refusal. Check the part's protection with your vendor tools first: only if it is read-protected, pass --unlock to mass-erase it through Readout Unprotect (its data cannot be backed up)`,
    );
  }
}
