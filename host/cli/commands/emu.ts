import type { Command } from 'commander';
import { FAULT_HELP } from '../../emulator/faults';
import { PtyEndpoint } from '../../emulator/pty';
import { TerminalServer, formatSession, type SessionSummary } from '../../emulator/serve';
import { EXIT, InputError } from '../../errors';
import { hexPid } from '../../format/hex';
import { createEmulatedTerminal, saveImageAtomically, type EmuOptions } from '../../app/ports';
import { act, loadBoardOrExit, withEmuOptions } from '../common';

interface EmuCommandOptions extends EmuOptions {
  board: string;
  pty?: string;
  stdio?: boolean;
  exitAfter?: string;
  idle?: string;
  line?: string;
  hangupReset: boolean;
  json?: boolean;
  // short aliases of the --emu-* options
  image?: string;
  fault?: string[];
  seed?: string;
  rdp?: string;
  baud?: string;
  log?: string;
  trust?: string;
}

/** `--image` and `--emu-image` (etc.) are the same option; both given with different values is an error. */
function mergeAliases(o: EmuCommandOptions): EmuOptions {
  const pick = (long: keyof EmuOptions, short: keyof EmuCommandOptions): string | undefined => {
    const a = o[long] as string | undefined;
    const b = o[short] as string | undefined;
    if (a !== undefined && b !== undefined && a !== b)
      throw new InputError(`--${String(short)} and --emu-${String(short)} disagree ("${b}" and "${a}"): give one of them`);
    return a ?? b;
  };
  return {
    emuImage: pick('emuImage', 'image'),
    emuFault: [...(o.emuFault ?? []), ...(o.fault ?? [])],
    emuSeed: pick('emuSeed', 'seed'),
    emuRdp: pick('emuRdp', 'rdp'),
    emuBaud: pick('emuBaud', 'baud'),
    emuLog: pick('emuLog', 'log'),
    emuTrust: pick('emuTrust', 'trust'),
    realtime: o.realtime,
  };
}

function count(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) throw new InputError(`${name} "${text}": expected a whole number from ${min} up`);
  return n;
}

async function cmdEmu(o: EmuCommandOptions): Promise<number> {
  if (!o.pty === !o.stdio) throw new InputError('emu needs exactly one of --pty <path> or --stdio');
  const exitAfter = count('--exit-after', o.exitAfter, 0, 1);
  const idleMs = count('--idle', o.idle, 2000, 0);
  const line = (o.line ?? (o.pty ? '8n1' : '8e1')).toLowerCase();
  if (line !== '8n1' && line !== '8e1') throw new InputError(`--line "${o.line}": expected 8n1 or 8e1`);
  const board = loadBoardOrExit(o.board);
  const emu = mergeAliases(o);
  // everything the options say is checked (faults, image, trust key) before anything is opened
  const terminal = createEmulatedTerminal(board, emu, { bitsPerByte: line === '8n1' ? 10 : 11, byteStream: true });
  const report = (text: string): void => {
    (o.stdio ? process.stderr : process.stdout).write(text + '\n');
  };

  return new Promise<number>((resolve) => {
    let finished = false;
    let pty: PtyEndpoint | null = null;
    const onSession = (s: SessionSummary): void => {
      if (emu.emuImage) saveImageAtomically(emu.emuImage, terminal.flash.bytes);
      report(o.json ? JSON.stringify(s) : formatSession(s));
      if (exitAfter && s.index >= exitAfter) void finish(EXIT.OK);
    };
    const server = new TerminalServer(terminal, { idleMs, realtime: emu.realtime, hangupReset: o.hangupReset, onSession });

    const finish = async (code: number, why = 'stopped'): Promise<void> => {
      if (finished) return;
      finished = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      server.stop(why);
      if (emu.emuImage) saveImageAtomically(emu.emuImage, terminal.flash.bytes);
      if (pty) await pty.stop();
      if (o.stdio) {
        process.stdin.pause();
        process.stdin.destroy();
      }
      resolve(code);
    };
    const onSignal = (): void => void finish(EXIT.OK, 'stopped (signal)');
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);

    const describe = `${board.id} (product ID ${hexPid(board.productIds[0])}), ${line.toUpperCase()} at ${terminal.baud} baud, ${emu.realtime ? 'real time' : 'virtual clock'}`;
    if (o.stdio) {
      const conn = server.connect((bytes) => process.stdout.write(bytes));
      process.stdin.on('data', (chunk: Buffer) => conn.receive(new Uint8Array(chunk)));
      process.stdin.on('end', () => {
        conn.close('input ended');
        void finish(EXIT.OK, 'input ended');
      });
      process.stdout.on('error', () => void finish(EXIT.OK, 'output closed'));
      report(`poswipe emu: ${describe}, serving on standard input/output`);
      return;
    }
    pty = new PtyEndpoint(o.pty!);
    pty
      .start(
        (client) => {
          const conn = server.connect((bytes) => client.write(bytes));
          client.onData((bytes) => conn.receive(bytes));
          client.onClose(() => conn.close('port closed'));
        },
        (err) => {
          process.stderr.write(`poswipe: error: ${err.message}\n`);
          void finish(EXIT.DEVICE, 'pseudo-terminal failed');
        },
      )
      .then(
        () => report(`poswipe emu: ${describe}, serving on ${o.pty} (${pty!.device})`),
        (err: Error) => {
          process.stderr.write(`poswipe: error: ${err.message}\n`);
          void finish(err instanceof InputError ? EXIT.USAGE : EXIT.DEVICE, 'pseudo-terminal failed');
        },
      );
  });
}

export function register(program: Command): void {
  const cmd = program
    .command('emu')
    .description('serve an emulated terminal on a pseudo-terminal (for stm32flash and other clients) or on standard input/output')
    .requiredOption('--board <board>', 'board id or file')
    .option('--pty <path>', 'create a pseudo-terminal and link it at <path> (needs socat); clients open <path> like a serial port, 8N1')
    .option('--stdio', 'serve on standard input/output (session lines go to standard error)')
    .option('--exit-after <n>', 'stop after n sessions (default: run until interrupted)')
    .option('--idle <ms>', 'a session ends after this long without traffic (default 2000; 0 = never)')
    .option('--line <format>', 'bits per byte for the clock: 8n1 (10 bits, default on a pty) or 8e1 (11 bits, default on stdio)')
    .option(
      '--no-hangup-reset',
      'leave the part as it is when a client closes the pty (default: reset it into its bootloader, as an adapter dropping DTR/RTS on hangup does)',
    )
    .option('--json', 'one JSON object per session instead of a line');
  withEmuOptions(cmd);
  cmd
    .option('--image <file>', 'same as --emu-image')
    .option('--fault <spec>', 'same as --emu-fault (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--seed <n>', 'same as --emu-seed')
    .option('--rdp <level>', 'same as --emu-rdp')
    .option('--baud <n>', "same as --emu-baud (the clock's line speed; a pty ignores the speed a client sets)")
    .option('--log <file>', 'same as --emu-log')
    .option('--trust <public.pem>', 'same as --emu-trust')
    .addHelpText(
      'after',
      [
        '',
        'Faults (--emu-fault <spec> or --fault <spec>, repeatable, reproducible with --emu-seed):',
        ...FAULT_HELP.map((l) => `  ${l}`),
        '',
        'Each session (from the first sync to the client closing the port, going quiet, or the part',
        'resetting) prints one line: commands, bytes, flash operations, read protection changes.',
        'With --emu-image the flash is saved (atomically) after every session.',
        '',
        'Example: poswipe emu --board stm32f407 --pty /tmp/ttyEMU &  stm32flash -m 8n1 -b 115200 /tmp/ttyEMU',
      ].join('\n'),
    )
    .action(act(async (o: EmuCommandOptions) => cmdEmu(o)));
}
