/**
 * The audit log: one row per terminal session (erase, flash, backup, restore), whatever its end —
 * verified, failed, refused or broken off. SQLite through better-sqlite3, in WAL mode so that
 * several processes of one bench can append at once.
 *
 * Where: --audit-db <file>, else $POSWIPE_AUDIT_DB, else the settings file's auditDb, else
 * <config dir>/audit.sqlite.
 */
import { probeWritableFile } from '../files/write-probe';
import Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { EXIT, InputError, errorLine, exitCodeOf } from '../errors';
import { ensureConfigDir } from './config';

export const RESULTS = {
  [EXIT.OK]: 'ok',
  [EXIT.VERIFY_FAILED]: 'failed',
  [EXIT.USAGE]: 'bad-input',
  [EXIT.DEVICE]: 'device-error',
  [EXIT.SAFETY]: 'refused',
} as Record<number, string>;

export interface AuditRow {
  id?: number;
  command: string;
  board: string | null;
  port: string | null;
  pid: string | null;
  uid: string | null;
  operator: string | null;
  method: string | null;
  verify: string | null;
  /** ok (erase: sanitized), failed, refused, device-error, bad-input */
  result: string;
  exitCode: number;
  reason: string | null;
  certificatePath: string | null;
  certificateSha256: string | null;
  failureReportPath: string | null;
  backupPath: string | null;
  backupSha256: string | null;
  /** seconds per phase */
  timings: Record<string, number>;
  started: string;
  ended: string;
  host: string;
  toolVersion: string;
}

const COLUMNS: [keyof AuditRow, string, string][] = [
  ['id', 'id', 'INTEGER PRIMARY KEY AUTOINCREMENT'],
  ['started', 'started', 'TEXT NOT NULL'],
  ['ended', 'ended', 'TEXT NOT NULL'],
  ['command', 'command', 'TEXT NOT NULL'],
  ['board', 'board', 'TEXT'],
  ['port', 'port', 'TEXT'],
  ['pid', 'pid', 'TEXT'],
  ['uid', 'uid', 'TEXT'],
  ['operator', 'operator', 'TEXT'],
  ['method', 'method', 'TEXT'],
  ['verify', 'verify', 'TEXT'],
  ['result', 'result', 'TEXT NOT NULL'],
  ['exitCode', 'exit_code', 'INTEGER NOT NULL'],
  ['reason', 'reason', 'TEXT'],
  ['certificatePath', 'certificate_path', 'TEXT'],
  ['certificateSha256', 'certificate_sha256', 'TEXT'],
  ['failureReportPath', 'failure_report_path', 'TEXT'],
  ['backupPath', 'backup_path', 'TEXT'],
  ['backupSha256', 'backup_sha256', 'TEXT'],
  ['timings', 'timings_json', 'TEXT NOT NULL'],
  ['host', 'host', 'TEXT'],
  ['toolVersion', 'tool_version', 'TEXT'],
];

export function auditPath(option?: string, fromConfig?: string): string {
  if (option) return resolve(option);
  const env = process.env.POSWIPE_AUDIT_DB;
  if (env) return resolve(env);
  if (fromConfig) return resolve(fromConfig);
  return join(ensureConfigDir(), 'audit.sqlite');
}

export class AuditLog {
  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {}

  /** Opens (and creates) the database; a path that cannot be opened is bad input (exit 2). */
  static open(path: string): AuditLog {
    probeWritableFile(path, 'audit database', { mayExist: true });
    let db: Database.Database;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 10000');
      db.exec(`CREATE TABLE IF NOT EXISTS runs (${COLUMNS.map(([, c, t]) => `${c} ${t}`).join(', ')})`);
      db.exec('CREATE INDEX IF NOT EXISTS runs_uid ON runs (uid)');
    } catch (e) {
      throw new InputError(`audit database ${path}: cannot open: ${(e as Error).message}`);
    }
    return new AuditLog(db, path);
  }

  append(row: AuditRow): number {
    const cols = COLUMNS.filter(([k]) => k !== 'id');
    const stmt = this.db.prepare(`INSERT INTO runs (${cols.map(([, c]) => c).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
    const values = cols.map(([k]) => (k === 'timings' ? JSON.stringify(row.timings) : (row[k] ?? null)));
    return Number(stmt.run(...values).lastInsertRowid);
  }

  list(): AuditRow[] {
    const rows = this.db.prepare(`SELECT * FROM runs ORDER BY id`).all() as Record<string, unknown>[];
    return rows.map((r) => {
      const out: Record<string, unknown> = {};
      for (const [k, c] of COLUMNS) out[k] = k === 'timings' ? JSON.parse(String(r[c] ?? '{}')) : r[c];
      return out as unknown as AuditRow;
    });
  }

  close(): void {
    this.db.close();
  }
}

/** A row's base fields for a session starting now. */
export function newRow(command: string, init: Partial<AuditRow> = {}, version = ''): AuditRow {
  const now = new Date().toISOString();
  return {
    command,
    board: null,
    port: null,
    pid: null,
    uid: null,
    operator: null,
    method: null,
    verify: null,
    result: 'started',
    exitCode: -1,
    reason: null,
    certificatePath: null,
    certificateSha256: null,
    failureReportPath: null,
    backupPath: null,
    backupSha256: null,
    timings: {},
    started: now,
    ended: now,
    host: hostname(),
    toolVersion: version,
    ...init,
  };
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  // a cell that a spreadsheet would run as a formula is quoted with a leading apostrophe
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** RFC 4180 CSV, one header line, columns as in the database. */
export function toCsv(rows: AuditRow[]): string {
  const lines = [COLUMNS.map(([, c]) => c).join(',')];
  for (const r of rows) lines.push(COLUMNS.map(([k]) => csvCell(r[k])).join(','));
  return lines.join('\r\n') + '\r\n';
}

export function resultOf(exitCode: number): string {
  return RESULTS[exitCode] ?? 'error';
}

/** Fills a row from an error (4 refused, 3 device, 2 input …), appends it and closes the log. */
export function appendFailure(audit: AuditLog, row: AuditRow, err: unknown): void {
  const code = exitCodeOf(err);
  row.exitCode = code;
  row.result = resultOf(code);
  row.reason = errorLine(err);
  row.ended = new Date().toISOString();
  try {
    audit.append(row);
  } finally {
    audit.close();
  }
}

/**
 * Runs one session and appends its row whatever happens: `fn` fills the row and returns the exit
 * code; a thrown error is recorded with its exit code and rethrown.
 */
export async function audited(audit: AuditLog, row: AuditRow, fn: (row: AuditRow) => Promise<number>): Promise<number> {
  let code: number;
  try {
    code = await fn(row);
  } catch (err) {
    appendFailure(audit, row, err);
    throw err;
  }
  row.exitCode = code;
  row.result = resultOf(code);
  row.ended = new Date().toISOString();
  try {
    audit.append(row);
  } finally {
    audit.close();
  }
  return code;
}
