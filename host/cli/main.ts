import { Command, CommanderError } from 'commander';
import { EXIT, ERROR_PREFIX, PoswipeError, errorLine, exitCodeOf, isLocalFileError } from '../errors';
import { firstUnknownOption } from './unknown-option';
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

/** What commander would have printed for a usage error, kept until main decides what to say. */
let pendingUsageError = '';

/** Every command lives in ./commands/<name>.ts and registers itself here. */
export function buildProgram(): Command {
  const program = new Command('poswipe')
    .description('Securely erase, verify and certify the flash of retired payment terminals (STM32 serial bootloader)')
    .version(VERSION)
    .exitOverride()
    // one error prefix for everything the tool prints: "poswipe: error: ..."
    .configureOutput({ outputError: (str) => void (pendingUsageError += str.replace(/^error:/, `${ERROR_PREFIX}`)) });
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

/**
 * The last resort: an error nobody caught (an event handler, a stream) is still one line with
 * the prefix and the documented code, never a stack trace (POSWIPE_DEBUG=1 shows the stack).
 */
function installLastResort(): void {
  const die = (err: unknown): void => {
    process.stderr.write(`${ERROR_PREFIX} ${errorLine(err)}\n`);
    if (process.env.POSWIPE_DEBUG) process.stderr.write(String((err as Error)?.stack) + '\n');
    process.exit(exitCodeOf(err));
  };
  if (!process.listenerCount('uncaughtException')) process.on('uncaughtException', die);
  if (!process.listenerCount('unhandledRejection')) process.on('unhandledRejection', die);
}

export async function main(argv: string[]): Promise<number> {
  installLastResort();
  const program = buildProgram();
  pendingUsageError = '';
  try {
    await program.parseAsync(argv, { from: 'user' });
    return takeActionCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.OK; // --help, --version
      const unknown = firstUnknownOption(program, argv);
      // commander checks required options first: an unknown option is the mistake to name
      if (unknown && err.code === 'commander.missingMandatoryOptionValue') process.stderr.write(`${ERROR_PREFIX} unknown option '${unknown}'\n`);
      else process.stderr.write(pendingUsageError || `${ERROR_PREFIX} ${errorLine(err)}\n`);
      pendingUsageError = '';
      return EXIT.USAGE;
    }
    // an error of the tool's own kinds says what it is about; anything else names the operation
    const foreseen = err instanceof PoswipeError || isLocalFileError(err);
    process.stderr.write(
      `${ERROR_PREFIX} ${foreseen ? '' : `${argv.filter((a) => !a.startsWith('-'))[0] ?? 'poswipe'}: unexpected error: `}${errorLine(err)}\n`,
    );
    if (process.env.POSWIPE_DEBUG) process.stderr.write(String((err as Error).stack) + '\n');
    return exitCodeOf(err);
  }
}
