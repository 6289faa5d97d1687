import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EXIT, InputError } from '../../errors';
import { withBootloader } from '../../records/connect';
import { audited, newRow } from '../../records/audit';
import { openAuditLog } from '../../records/audit-bench';
import { decryptionKeys, type BackupKeyOptions } from '../../records/backup-keys';
import { openBackup } from '../../records/backup';
import { toolVersion } from '../../records/certificate';
import { loadOperatorConfig } from '../../records/config';
import { checkBackupFitsBoard, restoreRegions } from '../../records/restore';
import { openPort, type EmuOptions } from '../../app/ports';
import { act, loadBoardOrExit, out, withEmuOptions } from '../common';
import { withAuditOption, withQuietOption } from '../record-options';
import { progressDisplay, progressWanted } from '../progress';
import { hexPid } from '../../format/hex';

const log = (l: string): void => void process.stderr.write(l + '\n');

async function cmdRestore(
  o: EmuOptions &
    BackupKeyOptions & {
      board: string;
      port: string;
      in: string;
      force?: boolean;
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
  const row = newRow('restore', { board: board.id, port: o.port, operator: config.operator.name ?? null, backupPath: resolve(o.in) }, toolVersion());
  return audited(audit, row, async () => {
    // everything about the file is checked before the terminal is touched (a bad file is still audited)
    const backup = await openBackup(o.in, decryptionKeys(o));
    row.backupSha256 = backup.sha256;
    checkBackupFitsBoard(backup.header, board, o.in);
    if (!backup.header.regions.length) throw new InputError(`backup ${o.in}: holds no data regions, so there is nothing to restore`);
    const port = await openPort(o.port, board, o);
    try {
      return await withBootloader(
        port.transport,
        board,
        async (client, identity) => {
          row.pid = hexPid(identity.pid);
          row.uid = identity.uid;
          log(
            `restore: ${o.in} (${backup.header.regions.length} region(s), taken ${backup.header.created} from uid ${backup.header.uid}) to ${board.id} uid ${identity.uid ?? 'hidden'}`,
          );
          const display = progressDisplay(progressWanted(o.quiet));
          let r;
          try {
            r = await restoreRegions(client, board, identity, backup, {
              force: o.force,
              file: o.in,
              onProgress: (p) => display.update({ ...p, unit: 'bytes' }),
            });
          } finally {
            display.stop();
          }
          row.timings = { restore: r.seconds };
          if (r.forced) row.reason = `forced: backup taken from uid ${backup.header.uid}`;
          const report = {
            restored: true,
            backup: o.in,
            board: board.id,
            pid: hexPid(identity.pid),
            uid: identity.uid,
            backupUid: backup.header.uid,
            forced: r.forced,
            regions: r.regions.map((x) => ({
              name: x.name,
              address: `0x${x.address.toString(16).padStart(8, '0')}`,
              size: x.size,
              sha256: x.sha256,
              verified: x.verified,
            })),
            seconds: r.seconds,
            wire: port.transport.stats(),
          };
          if (o.json) out(JSON.stringify(report, null, 2));
          else {
            out(`RESTORED: ${o.in} -> ${board.id} uid ${identity.uid}${r.forced ? ` (FORCED: the backup is of uid ${backup.header.uid})` : ''}`);
            for (const x of report.regions)
              out(
                `  ${x.name.padEnd(14)} ${x.address} ${String(x.size).padStart(8)} bytes  read back, sha256 ${x.sha256} ${x.verified ? 'matches' : 'DIFFERS'}`,
              );
            out(`  ${r.seconds.toFixed(2)} s`);
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
        program
          .command('restore')
          .description('write a backup back to a terminal of the same board, then verify it by digest')
          .requiredOption('--board <board>', 'board id or file')
          .requiredOption('--port <port>', 'serial device, or emu for an emulated terminal')
          .requiredOption('--in <file>', 'the backup file')
          .option('--force', 'write it even though the terminal is not the one the backup came from')
          .option('--passphrase-file <file>', 'passphrase of a passphrase-encrypted backup (or set POSWIPE_BACKUP_PASSPHRASE)')
          .option('--key <identity>', 'age identity file that opens the backup (default: backup.key.txt in the config directory)')
          .option('--operator-config <file>', 'operator settings (default: poswipe.json in the config directory)')
          .option('--baud <n>', 'line speed (default 115200)')
          .option('--reset <sequence>', "DTR/RTS sequence into the bootloader (default: the board's; none: do not reset)")
          .option('--json', 'one JSON report on stdout'),
      ),
    ),
  ).action(act(async (o) => cmdRestore(o)));
}
