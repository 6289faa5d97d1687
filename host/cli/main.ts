import { Command, CommanderError } from 'commander';
import { EXIT, PoswipeError, exitCodeOf } from '../errors';
import { takeActionCode } from './common';
import { register as registerBoards } from './commands/boards';
import { register as registerBuild } from './commands/build';
import { register as registerErase } from './commands/erase';
import { register as registerFlash } from './commands/flash';
import { register as registerEmu } from './commands/emu';
import { register as registerInfo } from './commands/info';
import { register as registerPorts } from './commands/ports';
import { register as registerBackup } from './commands/backup';
import { register as registerRestore } from './commands/restore';
import { register as registerCert } from './commands/cert';
import { register as registerKeys } from './commands/keys';
import { register as registerAudit } from './commands/audit';
import { register as registerHandover } from './commands/handover';
import { register as registerStation } from './commands/station';

const VERSION: string = require('../../../package.json').version;

/** Every command lives in ./commands/<name>.ts and registers itself here. */
export function buildProgram(): Command {
  const program = new Command('poswipe')
    .description('Securely erase, verify and certify the flash of retired payment terminals (STM32 serial bootloader)')
    .version(VERSION)
    .exitOverride();
  registerBoards(program);
  registerInfo(program);
  registerPorts(program);
  registerErase(program);
  registerBuild(program);
  registerFlash(program);
  registerEmu(program);
  registerBackup(program);
  registerRestore(program);
  registerCert(program);
  registerKeys(program);
  registerAudit(program);
  registerHandover(program);
  registerStation(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return takeActionCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.OK; // --help, --version
      return EXIT.USAGE; // commander has printed the problem
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`poswipe: error: ${msg.split('\n')[0]}\n`);
    if (process.env.POSWIPE_DEBUG) process.stderr.write(String((err as Error).stack) + '\n');
    // anything unforeseen while talking to the terminal is a device-side failure, never success
    return err instanceof PoswipeError ? exitCodeOf(err) : EXIT.DEVICE;
  }
}
