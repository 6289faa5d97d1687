import { boardForProductId } from '../boards/load';
import type { Board } from '../boards/types';
import { DeviceError, InputError, SafetyError } from '../errors';
import { BootloaderClient } from '../protocol/client';
import { hexPid } from '../format/hex';
import { identifyPart } from '../session/identify';
import { openPort, type EmuOptions } from './ports';

/**
 * The one board file among `matches` (the board files listing product ID `pid`), or a refusal.
 * Several files share an ID (a terminal board and the plain part it inherits): picking one would
 * guess which regions are protected, which are keys and which are data, and the wrong guess
 * erases a terminal's boot sector and keys with no backup (issue #15). So only a single match is
 * taken; several are a SafetyError (exit 4) naming them all, none a DeviceError. Pure.
 */
export function boardOfProductId(pid: number, matches: readonly Board[]): Board {
  if (!matches.length) throw new DeviceError(`no board file for product ID ${hexPid(pid)} (see poswipe boards)`);
  if (matches.length > 1) {
    const ids = matches.map((b) => b.id).sort();
    const ask = `name the terminal's board with --board ${ids[0]} (or another of them)`;
    throw new SafetyError(`product ID ${hexPid(pid)} matches several board files (${ids.join(', ')}): refused to guess; ${ask}`);
  }
  return matches[0];
}

/**
 * `--board auto`: asks the part on a serial port for its product ID and picks the board file
 * (boardOfProductId: exactly one file may match). The port is closed again before returning.
 */
export async function detectBoard(port: string, emu: EmuOptions & { baud?: string }, note: (line: string) => void): Promise<Board> {
  if (port === 'emu') throw new InputError('--board auto needs a serial port: an emulated terminal needs --board to know which part to emulate');
  const opened = await openPort(port, null, emu);
  let pid: number;
  try {
    pid = (await identifyPart(new BootloaderClient(opened.transport))).pid;
  } finally {
    await opened.close();
  }
  const chosen = boardOfProductId(pid, boardForProductId(pid));
  note(`poswipe: --board auto: product ID ${hexPid(pid)} is ${chosen.id}`);
  return chosen;
}
