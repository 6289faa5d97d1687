import { Option, type Command } from 'commander';
import { loadEngineModule, checkModuleAbi } from '../../engine/module';
import { EXIT, InputError } from '../../errors';
import { METHODS, type MethodName } from '../../plan/methods';
import { eraseTerminal, type VerifyMode } from '../../session/erase';
import { openPort, type EmuOptions } from '../ports';
import { progressDisplay } from '../progress';
import { eraseReport, eraseSummary } from '../report';
import { act, loadBoardOrExit, out, withEmuOptions } from '../common';

async function cmdErase(o: EmuOptions & { board: string; port: string; method: string; verify: string; json?: boolean; includeProtected?: boolean; unlock?: boolean; backup?: string; noBackup?: boolean; baud?: string }): Promise<number> {
  const b = loadBoardOrExit(o.board);
  if (!METHODS.includes(o.method as MethodName)) throw new InputError(`unknown method "${o.method}" (use ${METHODS.join(', ')})`);
  if (o.verify !== 'full' && o.verify !== 'sample') throw new InputError(`unknown verification "${o.verify}" (use full or sample)`);
  const module = loadEngineModule('terminal');
  checkModuleAbi(module);
  const port = await openPort(o.port, b, o);
  const display = progressDisplay();
  try {
    const outcome = await eraseTerminal(port.transport, {
      board: b,
      method: o.method as MethodName,
      verify: o.verify as VerifyMode,
      includeProtected: o.includeProtected,
      unlock: o.unlock,
      module,
      onProgress: display.update,
    });
    display.stop();
    if (o.json) out(JSON.stringify(eraseReport(outcome, { board: b.id, certificate: null, backup: null }), null, 2));
    else out(eraseSummary(outcome, b.id));
    return outcome.verified ? EXIT.OK : EXIT.VERIFY_FAILED;
  } finally {
    display.stop();
    await port.close();
  }
}

export function register(program: Command): void {
  withEmuOptions(
    program
      .command('erase')
      .description('erase, verify and report one terminal')
      .requiredOption('--board <board>', 'board id or file')
      .requiredOption('--port <port>', 'serial device, or emu for an emulated terminal')
      .addOption(new Option('--method <method>', 'sanitization method: clear, purge or dod3').default('purge'))
      .addOption(new Option('--verify <mode>', 'full or sample').default('full'))
      .option('--include-protected', 'erase protected regions too')
      .option('--unlock', 'remove read protection (the part mass-erases itself)')
      .option('--baud <n>', 'line speed (default 115200)')
      .option('--json', 'one JSON report on stdout'),
  ).action(act(async (o) => cmdErase(o)));
}
