import type { Command } from 'commander';
import { BoardError, loadBoard } from '../boards/load';
import type { Board } from '../boards/types';
import { FAULT_HELP } from '../emulator/faults';
import { EXIT, InputError } from '../errors';

/** The exit code of the last action that ran (commander does not pass return values on). */
let lastActionCode: number = EXIT.OK;

export function takeActionCode(): number {
  const c = lastActionCode;
  lastActionCode = EXIT.OK;
  return c;
}

/** Wraps an action so that its resolved exit code is kept for `main`. */
export function act<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    lastActionCode = await fn(...args);
  };
}

export function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

/** Loads a board by id or path; a bad board file is bad input (exit 2) with its first problem. */
export function loadBoardOrExit(idOrPath: string): Board {
  try {
    return loadBoard(idOrPath);
  } catch (err) {
    if (err instanceof BoardError) throw new InputError(err.message.split('\n')[0]);
    // a file nested thousands of levels deep overflows the stack of the resolver: still a bad board file
    if (err instanceof RangeError) throw new InputError(`board ${idOrPath}: cannot be read as a board file: ${err.message} (nested too deeply?)`);
    throw err;
  }
}

/** Adds the `--emu-*` options that apply wherever the port is `emu`. */
export function withEmuOptions(cmd: Command): Command {
  return cmd
    .option('--emu-image <file>', 'emulated flash contents (loaded when the file exists, saved back after the run)')
    .option('--emu-fault <spec>', 'inject a fault (repeatable): ' + FAULT_HELP.map((l) => l.split(/\s{2,}/)[0]).join(', '), (v: string, prev: string[] = []) => [...prev, v])
    .option('--emu-seed <n>', 'seed of the emulated terminal (image, unique ID, faults)')
    .option('--emu-rdp <level>', 'read protection level at start (0 or 1)')
    .option('--emu-baud <n>', 'emulated line speed (default 115200)')
    .option('--emu-log <file>', 'append one line per flash operation')
    .option('--emu-trust <public.pem>', 'simulated secure boot: Go into RAM runs only agent images signed by this key (docs/emulator.md)')
    .option('--realtime', 'the emulated terminal takes real time instead of virtual time');
}
