import type { Command } from 'commander';
import { EXIT } from '../../errors';
import { AuditLog, auditPath, toCsv } from '../../records/audit';
import { loadOperatorConfig } from '../../records/config';
import { act, out } from '../common';

function open(o: { auditDb?: string; operatorConfig?: string }): AuditLog {
  const { config } = loadOperatorConfig(o.operatorConfig);
  return AuditLog.open(auditPath(o.auditDb, config.auditDb));
}

async function cmdList(o: { auditDb?: string; json?: boolean }): Promise<number> {
  const log = open(o);
  try {
    const rows = log.list();
    if (o.json) out(JSON.stringify(rows, null, 2));
    else if (!rows.length) out(`no runs recorded in ${log.path}`);
    else {
      for (const r of rows) {
        out(`${String(r.id).padStart(4)} ${r.started} ${r.command.padEnd(7)} ${(r.board ?? '-').padEnd(12)} ${(r.uid ?? '-').padEnd(24)} ${r.result.padEnd(12)} exit ${r.exitCode}${r.reason ? `  ${r.reason}` : ''}`);
        if (r.certificatePath) out(`       certificate ${r.certificatePath}`);
        if (r.backupPath) out(`       backup ${r.backupPath}`);
      }
    }
    return EXIT.OK;
  } finally {
    log.close();
  }
}

async function cmdExport(o: { auditDb?: string; csv?: boolean }): Promise<number> {
  const log = open(o);
  try {
    process.stdout.write(toCsv(log.list()));
    return EXIT.OK;
  } finally {
    log.close();
  }
}

export function register(program: Command): void {
  const audit = program.command('audit').description('the audit log: one row per terminal session (the terminal inventory of PCI DSS 9.5.1.1)');
  audit
    .command('list')
    .description('every recorded run')
    .option('--json', 'JSON output')
    .option('--audit-db <file>', 'audit database (default: $POSWIPE_AUDIT_DB, else audit.sqlite in the config directory)')
    .action(act(async (o) => cmdList(o)));
  audit
    .command('export')
    .description('every recorded run as CSV on stdout')
    .requiredOption('--csv', 'CSV (the only export format)')
    .option('--audit-db <file>', 'audit database (default: $POSWIPE_AUDIT_DB, else audit.sqlite in the config directory)')
    .action(act(async (o) => cmdExport(o)));
}
