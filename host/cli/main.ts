import { Command, CommanderError, Option } from 'commander';
import { BoardError, listBoards, loadBoard } from '../boards/load';
import { boardSummaryLine, boardToJson, describeBoard } from '../boards/format';
import type { Board } from '../boards/types';
import { loadEngineModule, checkModuleAbi } from '../engine/module';
import { FAULT_HELP } from '../emulator/faults';
import { EXIT, InputError, PoswipeError, exitCodeOf } from '../errors';
import { BootloaderClient } from '../protocol/client';
import { METHODS, type MethodName } from '../plan/methods';
import { eraseTerminal, type VerifyMode } from '../session/erase';
import { hexPid, identify } from '../session/identify';
import { openPort, type EmuOptions } from './ports';
import { progressDisplay } from './progress';
import { eraseReport, eraseSummary } from './report';

const VERSION: string = require('../../../package.json').version;

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

function board(idOrPath: string): Board {
  try {
    return loadBoard(idOrPath);
  } catch (err) {
    if (err instanceof BoardError) throw new InputError(err.message.split('\n')[0]);
    throw err;
  }
}

function withEmuOptions(cmd: Command): Command {
  return cmd
    .option('--emu-image <file>', 'emulated flash contents (loaded when the file exists, saved back after the run)')
    .option('--emu-fault <spec>', 'inject a fault (repeatable): ' + FAULT_HELP.map((l) => l.split(/\s{2,}/)[0]).join(', '), (v: string, prev: string[] = []) => [...prev, v])
    .option('--emu-seed <n>', 'seed of the emulated terminal (image, unique ID, faults)')
    .option('--emu-rdp <level>', 'read protection level at start (0 or 1)')
    .option('--emu-baud <n>', 'emulated line speed (default 115200)')
    .option('--emu-log <file>', 'append one line per flash operation')
    .option('--emu-trust <public.pem>', 'the emulated agent runs only modules signed by this key')
    .option('--realtime', 'the emulated terminal takes real time instead of virtual time');
}

async function cmdErase(o: EmuOptions & { board: string; port: string; method: string; verify: string; json?: boolean; includeProtected?: boolean; unlock?: boolean; backup?: string; noBackup?: boolean; baud?: string }): Promise<number> {
  const b = board(o.board);
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

async function cmdInfo(o: EmuOptions & { port: string; board?: string; json?: boolean; baud?: string }): Promise<number> {
  const candidates = o.board ? [board(o.board)] : listBoards();
  const port = await openPort(o.port, o.board ? candidates[0] : null, o);
  try {
    const client = new BootloaderClient(port.transport);
    await client.sync();
    const info = await client.get();
    const pid = await client.getId();
    const matches = candidates.filter((c) => c.productIds.includes(pid));
    const id = matches.length ? await identify(client, matches[0]) : null;
    const report = {
      port: port.transport.description,
      pid: hexPid(pid),
      bootloaderVersion: `${info.version >> 4}.${info.version & 0xf}`,
      commands: info.commands.map((c) => `0x${c.toString(16).padStart(2, '0')}`),
      boards: matches.map((m) => m.id),
      uid: id?.uid ?? null,
      readProtected: id?.readProtected ?? null,
      flashSize: id?.flashSizeRegister ?? null,
    };
    if (o.json) out(JSON.stringify(report, null, 2));
    else {
      out(`${report.port}: product ID ${report.pid}, bootloader ${report.bootloaderVersion}, commands ${report.commands.join(' ')}`);
      out(`  boards: ${report.boards.join(', ') || 'none known for this product ID'}`);
      if (id) out(`  unique ID ${report.uid ?? 'hidden'}${report.readProtected ? ' (read-protected: RDP level 1)' : ''}${report.flashSize ? `, flash ${report.flashSize / 1024} KiB` : ''}`);
    }
    if (o.board && !matches.length) throw new PoswipeError(`product ID mismatch: board ${candidates[0].id} expects ${candidates[0].productIds.map(hexPid).join(' or ')}, the terminal answered ${hexPid(pid)}`, EXIT.DEVICE);
    return EXIT.OK;
  } finally {
    await port.close();
  }
}

export function buildProgram(): Command {
  const program = new Command('poswipe')
    .description('Securely erase, verify and certify the flash of retired payment terminals (STM32 serial bootloader)')
    .version(VERSION)
    .showHelpAfterError(false)
    .exitOverride();

  const boards = program.command('boards').description('list board files').option('--json', 'JSON output');
  boards.action(act(async (o: { json?: boolean }) => {
    const list = listBoards();
    if (o.json) out(JSON.stringify(list.map((b) => ({ id: b.id, name: b.name, productIds: b.productIds.map(hexPid), flashSize: b.flash.size, agent: b.agent !== null })), null, 2));
    else for (const b of list) out(boardSummaryLine(b));
    return EXIT.OK;
  }));
  boards
    .command('show <board>')
    .description('one board, resolved')
    .option('--json', 'JSON output')
    .action(
      act(async (id: string, o: { json?: boolean }) => {
        const b = board(id);
        out(o.json ? JSON.stringify(boardToJson(b), null, 2) : describeBoard(b));
        return EXIT.OK;
      }),
    );

  withEmuOptions(
    program
      .command('info')
      .description('identify the terminal on a port')
      .requiredOption('--port <port>', 'serial device, or emu')
      .option('--board <board>', 'board id or file (required with --port emu)')
      .option('--baud <n>', 'line speed (default 115200)')
      .option('--json', 'JSON output'),
  ).action(act(async (o) => cmdInfo(o)));

  withEmuOptions(
    program
      .command('erase')
      .description('erase, verify and report one terminal')
      .requiredOption('--board <board>', 'board id or file')
      .requiredOption('--port <port>', 'serial device, or emu for an emulated terminal')
      .addOption(new Option('--method <method>', 'sanitization method').default('purge'))
      .addOption(new Option('--verify <mode>', 'full or sample').default('full'))
      .option('--include-protected', 'erase protected regions too')
      .option('--unlock', 'remove read protection (the part mass-erases itself)')
      .option('--baud <n>', 'line speed (default 115200)')
      .option('--json', 'one JSON report on stdout'),
  ).action(act(async (o) => cmdErase(o)));

  return program;
}

let lastActionCode: number = EXIT.OK;

/** Wraps an action so that its resolved exit code is kept for `main`. */
function act<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    lastActionCode = await fn(...args);
  };
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  lastActionCode = EXIT.OK;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return lastActionCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.OK; // --help, --version
      return EXIT.USAGE; // commander has printed the problem
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`poswipe: error: ${msg.split('\n')[0]}\n`);
    if (process.env.POSWIPE_DEBUG) process.stderr.write(String((err as Error).stack) + '\n');
    // anything unforeseen happened while talking to the terminal: a device-side failure, never success
    return err instanceof PoswipeError ? exitCodeOf(err) : EXIT.DEVICE;
  }
}
