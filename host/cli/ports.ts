import { existsSync, readFileSync, writeFileSync, renameSync, appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Board } from '../boards/types';
import { EmulatedTerminal, type TerminalOptions } from '../emulator/terminal';
import { parseFaults } from '../emulator/faults';
import { DeviceError, InputError } from '../errors';
import { EmulatedTransport } from '../transport/emulated';
import type { Transport } from '../transport/types';

export interface EmuOptions {
  emuImage?: string;
  emuFault?: string[];
  emuSeed?: string;
  emuRdp?: string;
  emuBaud?: string;
  emuLog?: string;
  emuTrust?: string;
  realtime?: boolean;
}

export interface OpenedPort {
  transport: Transport;
  terminal: EmulatedTerminal | null;
  /** the line's baud rate (the serial port's, or the emulated terminal's): the agent keeps it */
  baud: number;
  /** saves the emulated flash back to --emu-image (atomically), closes the link */
  close(): Promise<void>;
}

function intOption(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(`${name} "${text}": expected an integer from ${min} to ${max}`);
  return n;
}

/** Builds an emulated terminal of `board` from the `--emu-*` options (`extra` adds what the options do not cover, e.g. bitsPerByte). */
export function createEmulatedTerminal(board: Board, o: EmuOptions, extra: Partial<TerminalOptions> = {}): EmulatedTerminal {
  const seed = intOption('--emu-seed', o.emuSeed, 1, 0, 0xffffffff);
  const rdp = o.emuRdp === undefined ? undefined : (intOption('--emu-rdp', o.emuRdp, 0, 0, 1) as 0 | 1);
  const baud = intOption('--emu-baud', o.emuBaud, 115200, 1200, 4000000);
  const faults = parseFaults(o.emuFault ?? []);
  let image: Uint8Array | undefined;
  if (o.emuImage && existsSync(o.emuImage)) {
    try {
      image = new Uint8Array(readFileSync(o.emuImage));
    } catch (err) {
      throw new InputError(`--emu-image ${o.emuImage}: cannot read: ${(err as Error).message}`);
    }
    if (image.length !== board.flash.size) {
      throw new InputError(`--emu-image ${o.emuImage}: ${image.length} bytes, but board ${board.id} has ${board.flash.size} bytes of flash`);
    }
  }
  let log: ((line: string) => void) | undefined;
  if (o.emuLog) {
    mkdirSync(dirname(o.emuLog), { recursive: true });
    const file = o.emuLog;
    log = (line) => appendFileSync(file, line + '\n');
  }
  let trust: string[] = [];
  if (o.emuTrust) {
    if (!existsSync(o.emuTrust)) throw new InputError(`--emu-trust ${o.emuTrust}: no such file`);
    trust = [readFileSync(o.emuTrust, 'utf8')];
  }
  return new EmulatedTerminal(board, { image, faults, seed, rdp, baud, log, trust, ...extra });
}

/** Writes the emulated flash to `path` through a temporary file and a rename. */
export function saveImageAtomically(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/** `emu` opens an in-process emulated terminal of `board`; anything else is a serial device. */
export async function openPort(port: string, board: Board | null, o: EmuOptions & { baud?: string }): Promise<OpenedPort> {
  if (port === 'emu') {
    if (!board) throw new InputError('--port emu needs --board to know which terminal to emulate');
    const terminal = createEmulatedTerminal(board, o);
    const transport = new EmulatedTransport(terminal, { realtime: o.realtime });
    return {
      transport,
      terminal,
      baud: terminal.baud,
      close: async () => {
        await transport.close();
        if (o.emuImage) saveImageAtomically(o.emuImage, terminal.flash.bytes);
      },
    };
  }
  if (!existsSync(port)) throw new DeviceError(`serial port ${port} does not exist (use --port emu for an emulated terminal)`);
  const baudRate = intOption('--baud', o.baud, 115200, 1200, 4000000);
  // the native serial binding is loaded only when a real port is used
  const { SerialTransport } = await import('../transport/serial');
  const transport = await SerialTransport.open(port, { baudRate });
  return { transport, terminal: null, baud: baudRate, close: () => transport.close() };
}
