import { boardForProductId } from '../boards/load';
import type { Board } from '../boards/types';
import { DeviceError, InputError } from '../errors';
import { BootloaderClient } from '../protocol/client';
import { identifyPart } from '../session/identify';
import { openPort, type EmuOptions } from './ports';
import { hexPid } from '../format/hex';

/**
 * `--board auto`: asks the part on a serial port for its product ID and picks the board file.
 * When several files share the ID (a terminal board inheriting its part), the plain part wins and
 * the others are named, so nothing terminal-specific is assumed without being asked for.
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
  const matches = boardForProductId(pid);
  if (!matches.length) throw new DeviceError(`no board file for product ID ${hexPid(pid)} (see poswipe boards)`);
  const ids = new Set(matches.map((b) => b.id));
  const plain = matches.filter((b) => !b.inherits.some((i) => ids.has(i)));
  const chosen = (plain.length ? plain : matches)[0];
  const others = matches.filter((b) => b !== chosen).map((b) => b.id);
  note(`poswipe: --board auto: product ID ${hexPid(pid)} is ${chosen.id}${others.length ? ` (also matches ${others.join(', ')}: name one with --board to use it)` : ''}`);
  return chosen;
}
