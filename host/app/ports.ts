import { existsSync, appendFileSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../files/atomic-write';
import type { Board } from '../boards/types';
import { EmulatedTerminal, type TerminalOptions } from '../emulator/terminal';
import { parseFaults } from '../emulator/faults';
import { DeviceError, InputError, errorLine } from '../errors';
import { EmulatedTransport } from '../transport/emulated';
import { readInputFile } from '../files/read-bounded';
import { probeWritableFile } from '../files/write-probe';
import { loadPublicKey } from '../records/keys';
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
  const faults = parseFaults(o.emuFault ?? [], board);
  // every file the emulator will write is probed before anything is read from or sent to it
  if (o.emuImage !== undefined) probeWritableFile(o.emuImage, '--emu-image', { mayExist: true });
  if (o.emuLog !== undefined) probeWritableFile(o.emuLog, '--emu-log', { mayExist: true });
  let image: Uint8Array | undefined;
  if (o.emuImage && existsSync(o.emuImage)) {
    // one byte over the flash size is enough to tell a wrong image from a right one
    image = new Uint8Array(readInputFile(o.emuImage, '--emu-image', 'image', board.flash.size + 1));
    if (image.length !== board.flash.size) {
      throw new InputError(
        `--emu-image ${o.emuImage}: ${image.length > board.flash.size ? 'more than ' : ''}${image.length} bytes, but board ${board.id} has ${board.flash.size} bytes of flash`,
      );
    }
  }
  let log: ((line: string) => void) | undefined;
  if (o.emuLog) {
    mkdirSync(dirname(o.emuLog), { recursive: true });
    const file = o.emuLog;
    let broken = false;
    // the log is a QA aid: a disk that fills up mid-run stops the log (said once), never the erase
    log = (line) => {
      if (broken) return;
      try {
        appendFileSync(file, line + '\n');
      } catch (err) {
        broken = true;
        process.stderr.write(`poswipe: warning: --emu-log ${file}: cannot append, logging stopped: ${errorLine(err)}\n`);
      }
    };
  }
  let trust: string[] = [];
  if (o.emuTrust !== undefined) {
    // a file that is not an Ed25519 public key is bad input here, not a refusal by the agent later
    const key = loadPublicKey(o.emuTrust, 'ed25519', '--emu-trust');
    trust = [key.export({ type: 'spki', format: 'pem' }) as string];
  }
  return new EmulatedTerminal(board, { image, faults, seed, rdp, baud, log, trust, ...extra });
}

/** Writes the emulated flash to `path` through a temporary file, fsync and a rename. */
export function saveImageAtomically(path: string, bytes: Uint8Array): void {
  try {
    writeFileAtomic(path, bytes, { replace: true });
  } catch (err) {
    throw new InputError(`--emu-image ${path}: cannot save the emulated flash: ${errorLine(err)}`);
  }
}

/** Linux's memory devices (/dev/null, /dev/zero, /dev/full, /dev/random ...): character devices, never a serial line. */
const LINUX_MEM_MAJOR = 1;

/**
 * A serial port must name a character device that can be a serial line: an empty name, a regular
 * file, a folder or /dev/null is bad usage (exit 2); a path that does not exist is a device problem
 * (the adapter is unplugged: exit 3).
 */
export function checkSerialPortPath(port: string): void {
  if (port.trim() === '') throw new InputError('--port: empty port name (a serial device such as /dev/ttyUSB0, or emu for an emulated terminal)');
  let st: Stats;
  try {
    st = statSync(port);
  } catch {
    throw new DeviceError(`serial port ${port} does not exist (use --port emu for an emulated terminal)`);
  }
  const not = (what: string): InputError =>
    new InputError(`--port ${port}: ${what}, not a serial device (such as /dev/ttyUSB0; or emu for an emulated terminal)`);
  if (st.isDirectory()) throw not('a folder');
  if (st.isFile()) throw not('a regular file');
  if (!st.isCharacterDevice()) throw not('a pipe, socket or block device');
  if (process.platform === 'linux' && Math.floor(st.rdev / 256) % 4096 === LINUX_MEM_MAJOR) throw not('a memory device (like /dev/null)');
}

/**
 * `emu` opens an in-process emulated terminal of `board` (`extra`: what the options do not cover,
 * e.g. the model's engine for `--engine`); anything else is a serial device.
 */
export async function openPort(
  port: string,
  board: Board | null,
  o: EmuOptions & { baud?: string },
  extra: Partial<TerminalOptions> = {},
): Promise<OpenedPort> {
  if (port === 'emu') {
    if (!board) throw new InputError('--port emu needs --board to know which terminal to emulate');
    const terminal = createEmulatedTerminal(board, o, extra);
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
  checkSerialPortPath(port);
  const baudRate = intOption('--baud', o.baud, 115200, 1200, 4000000);
  // the native serial binding is loaded only when a real port is used
  const { SerialTransport } = await import('../transport/serial');
  const transport = await SerialTransport.open(port, { baudRate });
  return { transport, terminal: null, baud: baudRate, close: () => transport.close() };
}
