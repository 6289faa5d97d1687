import type { Command } from 'commander';
import { FAULT_HELP } from '../emulator/faults';
import { EXIT } from '../errors';

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

// the board loader every front end uses (app/board.ts); the commands import it from here
export { loadBoardOrExit } from '../app/board';

/** Adds the `--emu-*` options that apply wherever the port is `emu`. */
export function withEmuOptions(cmd: Command): Command {
  return cmd
    .option('--emu-image <file>', 'emulated flash contents (loaded when the file exists, saved back after the run)')
    .option(
      '--emu-fault <spec>',
      'inject a fault (repeatable): ' + FAULT_HELP.map((l) => l.split(/\s{2,}/)[0]).join(', '),
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--emu-seed <n>', 'seed of the emulated terminal (image, unique ID, faults)')
    .option('--emu-rdp <level>', 'read protection level at start (0 or 1)')
    .option('--emu-baud <n>', 'emulated line speed (default 115200)')
    .option('--emu-log <file>', 'append one line per flash operation')
    .option('--emu-trust <public.pem>', 'simulated secure boot: Go into RAM runs only agent images signed by this key (docs/emulator.md)')
    .option('--realtime', 'the emulated terminal takes real time instead of virtual time');
}
