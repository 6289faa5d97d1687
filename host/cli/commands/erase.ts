import { Option, type Command } from 'commander';
import { chooseEngine, precheckEngine } from '../../agent/pinned';
import { METHODS, type MethodName } from '../../plan/methods';
import type { VerifyMode } from '../../session/erase';
import { checkVerifyMode } from '../../session/verify-mode';
import type { EmuOptions } from '../../app/ports';
import { runEraseCommand } from '../erase-output';
import { detectBoard } from '../../app/detect';
import { act, loadBoardOrExit, withEmuOptions } from '../common';
import { recordOptionsOf, withRecordOptions } from '../record-options';
import { checkRecordPaths, type RecordOptions } from '../../records/erase-records';

async function cmdErase(
  o: EmuOptions &
    RecordOptions & {
      board: string;
      port: string;
      method: string;
      verify: string;
      json?: boolean;
      quiet?: boolean;
      includeProtected?: boolean;
      unlock?: boolean;
      baud?: string;
      reset?: string;
      fastClock?: boolean;
      engine?: string;
      agent?: string;
    },
): Promise<number> {
  if (o.board === 'auto') {
    // detection opens the port: what can be checked without it is checked first
    // commander has checked --method against METHODS (.choices) before this runs
    checkVerifyMode(o.method as MethodName, o.verify);
    checkRecordPaths(recordOptionsOf(o));
    // and the pinned engine and agents (the board's agent kind is checked once it is known)
    precheckEngine({ engineFile: o.engine, agentFile: o.agent });
  }
  const b = o.board === 'auto' ? await detectBoard(o.port, o, (l) => process.stderr.write(l + '\n')) : loadBoardOrExit(o.board);
  checkVerifyMode(o.method as MethodName, o.verify);
  const chosen = chooseEngine(b, { engineFile: o.engine, agentFile: o.agent, port: o.port });
  return runEraseCommand({
    board: b,
    port: o.port,
    emu: o,
    method: o.method as MethodName,
    verify: o.verify as VerifyMode,
    includeProtected: o.includeProtected,
    unlock: o.unlock,
    json: o.json,
    quiet: o.quiet,
    module: chosen.module,
    agent: chosen.agent,
    engine: chosen.engine,
    modelEngine: chosen.modelEngine,
    records: recordOptionsOf(o),
    reset: o.reset,
    fastClock: o.fastClock,
  });
}

export function register(program: Command): void {
  withEmuOptions(
    withRecordOptions(
      program
        .command('erase')
        .description('erase, verify and report one terminal')
        .requiredOption('--board <board>', 'board id or file, or auto (from the product ID; serial ports only)')
        .requiredOption('--port <port>', 'serial device, or emu for an emulated terminal')
        .addOption(new Option('--method <method>', 'sanitization method: clear, purge or dod3').choices([...METHODS]).default('purge'))
        .addOption(new Option('--verify <mode>', 'full or sample').default('full'))
        .option('--include-protected', 'erase protected regions too')
        .option('--reset <sequence>', "DTR/RTS sequence into the bootloader (default: the board's; none: do not reset)")
        .option('--unlock', 'remove read protection (the part mass-erases itself)')
        .option('--baud <n>', 'line speed (default 115200)')
        .option(
          '--fast-clock',
          'ask the agent to raise the core clock with the PLL before the jobs (F4 168, F2 120, L4 80 MHz): the hashing takes a tenth of the time; not yet tried on silicon',
        )
        .option('--engine <file>', 'run this engine module, not the pinned build/terminal.wasm (with --agent, or on the model with --port emu); marked custom')
        .option('--agent <file>', 'with --engine: the agent binary built with that engine (uploaded instead of the committed one)')
        .option('--json', 'one JSON report on stdout'),
    ),
  ).action(act(async (o) => cmdErase(o)));
}
