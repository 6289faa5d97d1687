import type { Command } from 'commander';
import { EXIT, InputError } from '../../errors';
import { refuseIfProtected } from '../../session/identify';
import { withBootloader } from '../../records/connect';
import { audited, newRow } from '../../records/audit';
import { openAuditLog } from '../../records/audit-bench';
import { backupSecret, type BackupKeyOptions } from '../../records/backup-keys';
import { backupRegionsOf, checkBackupTarget, takeBackup } from '../../records/backup';
import { toolVersion } from '../../records/certificate';
import { loadOperatorConfig } from '../../records/config';
import { openPort, type EmuOptions } from '../../app/ports';
import { act, loadBoardOrExit, out, withEmuOptions } from '../common';
import { withAuditOption, withBackupEncryptionOptions, withQuietOption } from '../record-options';
import { progressDisplay, progressWanted } from '../progress';
import { hexPid } from '../../format/hex';

const log = (l: string): void => void process.stderr.write(l + '\n');

async function cmdBackup(
  o: EmuOptions &
    BackupKeyOptions & {
      board: string;
      port: string;
      out: string;
      json?: boolean;
      quiet?: boolean;
      baud?: string;
      reset?: string;
      auditDb?: string;
      auditUrl?: string;
      operatorConfig?: string;
    },
): Promise<number> {
  const board = loadBoardOrExit(o.board);
  const { config } = loadOperatorConfig(o.operatorConfig);
  const audit = openAuditLog(o, config);
  const row = newRow('backup', { board: board.id, port: o.port, operator: config.operator.name ?? null }, toolVersion());
  return audited(audit, row, async () => {
    if (!backupRegionsOf(board).length)
      throw new InputError(
        `backup: board ${board.id} declares no data regions, so there is nothing to back up; name the regions to keep in a board file (regions of kind "data")`,
      );
    checkBackupTarget(o.out);
    const secret = backupSecret(o, config.backupRecipient, log);
    const port = await openPort(o.port, board, o);
    try {
      return await withBootloader(
        port.transport,
        board,
        async (client, identity) => {
          row.pid = hexPid(identity.pid);
          row.uid = identity.uid;
          refuseIfProtected(identity, board);
          const regions = backupRegionsOf(board);
          log(
            `backup: reading ${regions.length} data region(s) (${regions.map((r) => r.name).join(', ')}; ${regions.reduce((s, r) => s + r.size, 0) / 1024} KiB); keys are never backed up`,
          );
          const display = progressDisplay(progressWanted(o.quiet));
          let b;
          try {
            b = await takeBackup(client, board, identity, {
              path: o.out,
              secret,
              tool: `poswipe ${toolVersion()}`,
              onProgress: (p) => display.update({ phase: 'backup', done: p.done, total: p.total, note: p.region, unit: 'bytes' }),
            });
          } finally {
            display.stop();
          }
          row.backupPath = b.path;
          row.backupSha256 = b.sha256;
          row.timings = { read: b.readSeconds, write: b.writeSeconds, line: b.lineSeconds };
          const report = {
            backup: b.path,
            sha256: b.sha256,
            board: board.id,
            pid: hexPid(identity.pid),
            uid: identity.uid,
            fileBytes: b.fileBytes,
            dataBytes: b.dataBytes,
            encryption: b.encryption,
            regions: b.regions.map((r) => ({ name: r.name, address: `0x${r.address.toString(16).padStart(8, '0')}`, size: r.size, sha256: r.sha256 })),
            timings: { read: b.readSeconds, write: b.writeSeconds, line: b.lineSeconds },
            wire: port.transport.stats(),
          };
          if (o.json) out(JSON.stringify(report, null, 2));
          else {
            out(`BACKED UP: ${board.id} pid ${report.pid} uid ${identity.uid} -> ${b.path}`);
            for (const r of report.regions) out(`  ${r.name.padEnd(14)} ${r.address} ${String(r.size).padStart(8)} bytes  sha256 ${r.sha256}`);
            out(
              `  ${b.fileBytes} bytes, encrypted (${b.encryption}); read ${b.readSeconds.toFixed(2)} s (${b.lineSeconds.toFixed(1)} s on the line), written and checked ${b.writeSeconds.toFixed(2)} s`,
            );
          }
          return EXIT.OK;
        },
        o.reset,
      );
    } finally {
      await port.close();
    }
  });
}

export function register(program: Command): void {
  withEmuOptions(
    withQuietOption(
      withAuditOption(
        withBackupEncryptionOptions(
          program
            .command('backup')
            .description("back up a terminal's data regions (never its keys) to an encrypted file")
            .requiredOption('--board <board>', 'board id or file')
            .requiredOption('--port <port>', 'serial device, or emu for an emulated terminal')
            .requiredOption('--out <file>', 'the backup file to write (never overwritten)')
            .option('--operator-config <file>', 'operator settings (default: poswipe.json in the config directory)')
            .option('--baud <n>', 'line speed (default 115200)')
            .option('--reset <sequence>', "DTR/RTS sequence into the bootloader (default: the board's; none: do not reset)")
            .option('--json', 'one JSON report on stdout'),
        ),
      ),
    ),
  ).action(act(async (o) => cmdBackup(o)));
}
