import type { Command } from 'commander';
import { EXIT, InputError } from '../../errors';
import { toCsv, type RowFilter } from '../../records/audit';
import { openAuditLog } from '../../records/audit-bench';
import { openAuditStore } from '../../records/audit-store';
import { redact } from '../../records/audit-pg';
import { pushPending } from '../../records/audit-sync';
import type { AuditRow } from '../../records/audit-row';
import { loadOperatorConfig } from '../../records/config';
import { act, out } from '../common';
import { isoOption } from './handover';

type StoreOptions = { auditDb?: string; auditUrl?: string; operatorConfig?: string };
const log = (l: string): void => void process.stderr.write(l + '\n');

async function rowsOf(o: StoreOptions, filter: RowFilter): Promise<{ rows: AuditRow[]; source: string }> {
  const { config } = loadOperatorConfig(o.operatorConfig);
  const store = await openAuditStore(o, config, log);
  try {
    return { rows: await store.list(filter), source: store.source };
  } finally {
    await store.close();
  }
}

function windowOf(o: { since?: string; until?: string }): RowFilter {
  return { since: isoOption(o.since, '--since') ?? undefined, until: isoOption(o.until, '--until') ?? undefined };
}

function line(r: AuditRow): string {
  return `${String(r.id).padStart(4)} ${r.started} ${r.command.padEnd(7)} ${(r.board ?? '-').padEnd(12)} ${(r.uid ?? '-').padEnd(24)} ${r.result.padEnd(12)} exit ${r.exitCode} ${r.host}${r.reason ? `  ${r.reason}` : ''}`;
}

async function cmdList(o: StoreOptions & { json?: boolean; since?: string; until?: string }): Promise<number> {
  const { rows, source } = await rowsOf(o, windowOf(o));
  if (o.json) out(JSON.stringify(rows, null, 2));
  else if (!rows.length) out(`no runs recorded in ${source}`);
  else {
    for (const r of rows) {
      out(line(r));
      if (r.certificatePath) out(`       certificate ${r.certificateId ?? ''} ${r.certificatePath}`);
      if (r.backupPath) out(`       backup ${r.backupPath}`);
    }
  }
  return EXIT.OK;
}

async function cmdExport(o: StoreOptions & { since?: string; until?: string }): Promise<number> {
  process.stdout.write(toCsv((await rowsOf(o, windowOf(o))).rows));
  return EXIT.OK;
}

async function cmdShow(uid: string, o: StoreOptions & { json?: boolean }): Promise<number> {
  if (!/^[0-9a-f]{8,48}$/.test(uid)) throw new InputError(`unique ID ${uid}: expected lowercase hex (as audit list shows it)`);
  const { rows, source } = await rowsOf(o, { uid });
  const cert = [...rows].reverse().find((r) => r.certificateJson);
  if (o.json) out(JSON.stringify({ uid, source, runs: rows, certificate: cert ? JSON.parse(cert.certificateJson as string) : null }, null, 2));
  else if (!rows.length) out(`no runs of unique ID ${uid} in ${source}`);
  else {
    out(`unique ID ${uid}: ${rows.length} run(s) in ${source}`);
    for (const r of rows) out(line(r));
    if (cert)
      out(
        `latest certificate: ${cert.certificateId} (bench ${cert.host}, ${cert.ended}, file ${cert.certificatePath}); audit show ${uid} --json holds its text`,
      );
    else out('no certificate: this terminal has not been sanitized');
  }
  return EXIT.OK;
}

async function cmdSync(o: StoreOptions & { all?: boolean; json?: boolean }): Promise<number> {
  const { config } = loadOperatorConfig(o.operatorConfig);
  const local = openAuditLog(o, config);
  const url = local.remote;
  const path = local.path;
  const queued = o.all ? local.queueAll() : 0;
  local.close();
  if (!url) throw new InputError('audit sync: no server: give --audit-url postgres://…, set POSWIPE_AUDIT_URL, or auditUrl in poswipe.json');
  const r = await pushPending(path, url);
  if (o.json) out(JSON.stringify({ server: redact(url), local: path, ...r, queuedByAll: queued }, null, 2));
  else out(`audit sync: ${r.inserted} run(s) added to ${redact(url)}, ${r.already} already there, ${r.remaining} still queued in ${path}`);
  return EXIT.OK;
}

function storeOptions(cmd: Command): Command {
  return cmd
    .option('--audit-db <file>', 'audit database (default: $POSWIPE_AUDIT_DB, else audit.sqlite in the config directory)')
    .option('--audit-url <postgres://…>', "the fleet's PostgreSQL audit store (default: $POSWIPE_AUDIT_URL, else auditUrl in poswipe.json)")
    .option('--operator-config <file>', 'settings file (default: poswipe.json in the config directory)');
}

export function register(program: Command): void {
  const audit = program
    .command('audit')
    .description('the audit log: one row per terminal session (the terminal inventory of PCI DSS 9.5.1.1); with --audit-url, every bench of the fleet');
  storeOptions(
    audit
      .command('list')
      .description('every recorded run')
      .option('--json', 'JSON output')
      .option('--since <ISO time>', 'runs that ended at or after this time')
      .option('--until <ISO time>', 'runs that ended before this time'),
  ).action(act(async (o) => cmdList(o)));
  storeOptions(
    audit
      .command('export')
      .description("every recorded run as CSV on stdout (the handover manifest's columns among them)")
      .requiredOption('--csv', 'CSV (the only export format)')
      .option('--since <ISO time>', 'runs that ended at or after this time')
      .option('--until <ISO time>', 'runs that ended before this time'),
  ).action(act(async (o) => cmdExport(o)));
  storeOptions(
    audit
      .command('show')
      .description("one terminal's history and its latest certificate, from any bench")
      .argument('<uid>', 'the unique ID (hex)')
      .option('--json', 'JSON output (with the certificate)'),
  ).action(act(async (uid: string, o) => cmdShow(uid, o)));
  storeOptions(
    audit
      .command('sync')
      .description("push this bench's queued runs to the fleet server (idempotent: by run id)")
      .option('--all', "queue every run of this bench's log first (a bench joining a fleet)")
      .option('--json', 'JSON output'),
  ).action(act(async (o) => cmdSync(o)));
}
