import type { Command } from 'commander';
import { listBoards } from '../../boards/load';
import { EXIT, PoswipeError } from '../../errors';
import { BootloaderClient } from '../../protocol/client';
import { hexPid } from '../../format/hex';
import { identifyPart, readIdentity } from '../../session/identify';
import { openPort, type EmuOptions } from '../../app/ports';
import { act, loadBoardOrExit, out, withEmuOptions } from '../common';

async function cmdInfo(o: EmuOptions & { port: string; board?: string; json?: boolean; baud?: string }): Promise<number> {
  const candidates = o.board ? [loadBoardOrExit(o.board)] : listBoards();
  const port = await openPort(o.port, o.board ? candidates[0] : null, o);
  try {
    const client = new BootloaderClient(port.transport);
    const part = await identifyPart(client);
    const pid = part.pid;
    const matches = candidates.filter((c) => c.productIds.includes(pid));
    const id = matches.length ? await readIdentity(client, matches[0], part) : null;
    const report = {
      port: port.transport.description,
      pid: hexPid(pid),
      bootloaderVersion: `${part.bootloaderVersion >> 4}.${part.bootloaderVersion & 0xf}`,
      commands: part.commands.map((c) => `0x${c.toString(16).padStart(2, '0')}`),
      boards: matches.map((m) => m.id),
      uid: id?.uid ?? null,
      readProtected: id?.readProtected ?? null,
      flashSize: id?.flashSizeRegister ?? null,
    };
    if (o.json) out(JSON.stringify(report, null, 2));
    else {
      out(`${report.port}: product ID ${report.pid}, bootloader ${report.bootloaderVersion}, commands ${report.commands.join(' ')}`);
      out(`  boards: ${report.boards.join(', ') || 'none known for this product ID'}`);
      if (id)
        out(
          `  unique ID ${report.uid ?? 'hidden'}${report.readProtected ? ' (read-protected: RDP level 1)' : ''}${report.flashSize ? `, flash ${report.flashSize / 1024} KiB` : ''}`,
        );
    }
    if (o.board && !matches.length)
      throw new PoswipeError(
        `product ID mismatch: board ${candidates[0].id} expects ${candidates[0].productIds.map(hexPid).join(' or ')}, the terminal answered ${hexPid(pid)}`,
        EXIT.DEVICE,
      );
    return EXIT.OK;
  } finally {
    await port.close();
  }
}

export function register(program: Command): void {
  withEmuOptions(
    program
      .command('info')
      .description('identify the terminal on a port')
      .requiredOption('--port <port>', 'serial device, or emu')
      .option('--board <board>', 'board id or file (required with --port emu)')
      .option('--baud <n>', 'line speed (default 115200)')
      .option('--json', 'JSON output'),
  ).action(act(async (o) => cmdInfo(o)));
}
