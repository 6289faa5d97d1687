/**
 * The bench's audit log: one row per terminal session (erase, flash, station, backup, restore),
 * whatever its end. SQLite through better-sqlite3, in WAL mode so that several processes of one
 * bench can append at once; the schema and its migrations are audit-schema.ts.
 *
 * Where: --audit-db <file>, else $POSWIPE_AUDIT_DB, else the settings file's auditDb, else
 * <config dir>/audit.sqlite. With a fleet server (--audit-url, $POSWIPE_AUDIT_URL or auditUrl,
 * audit-pg.ts) every row is still written here first, with its run id in the `outbox`, and pushed
 * to the server at once in the background (audit-sync.ts); a row the server did not take stays
 * queued until `poswipe audit sync` or a later run pushes it.
 */
import { probeWritableFile } from '../files/write-probe';
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError, errorLine, exitCodeOf } from '../errors';
import { ensureConfigDir } from './config';
import { COLUMNS, MIGRATIONS, MIGRATIONS_TABLE, WRITTEN, rowFrom, rowValues, whereClause, type RowFilter } from './audit-schema';
import { resultOf, type AuditRow } from './audit-row';

export { RESULTS, newRow, resultOf, type AuditRow } from './audit-row';
export { whereClause, type RowFilter } from './audit-schema';

export function auditPath(option?: string, fromConfig?: string): string {
  if (option) return resolve(option);
  const env = process.env.POSWIPE_AUDIT_DB;
  if (env) return resolve(env);
  if (fromConfig) return resolve(fromConfig);
  return join(ensureConfigDir(), 'audit.sqlite');
}

/** The fleet server's URL, or null: --audit-url, else $POSWIPE_AUDIT_URL, else the settings file's auditUrl. */
export function auditUrl(option?: string, fromConfig?: string): string | null {
  const v = option || process.env.POSWIPE_AUDIT_URL || fromConfig || '';
  if (!v) return null;
  if (!/^postgres(ql)?:\/\//.test(v)) throw new InputError(`audit URL ${v.replace(/:[^:@/]*@/, ':***@')}: expected postgres://… or postgresql://…`);
  return v;
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Applies the missing migrations in one IMMEDIATE transaction (one process migrates, the others wait). */
export function migrateSqlite(db: Database.Database, upTo = MIGRATIONS[MIGRATIONS.length - 1].version): number[] {
  const applied: number[] = [];
  db.transaction(() => {
    const legacy = tableExists(db, 'runs') && !tableExists(db, 'schema_migrations');
    db.exec(MIGRATIONS_TABLE);
    if (legacy)
      db.prepare('INSERT INTO schema_migrations (version, name, applied) VALUES (1, ?, ?)').run(
        `${MIGRATIONS[0].name} (found, made before migrations)`,
        new Date().toISOString(),
      );
    const have = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (m.version > upTo || have.has(m.version)) continue;
      for (const sql of m.sqlite) db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    }
  }).immediate();
  return applied;
}

export class AuditLog {
  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
    /** the fleet server rows are pushed to, or null */
    readonly remote: string | null,
    /** starts the background push after an append that queued a row (audit-bench.ts gives audit-sync's) */
    private readonly onQueued: ((path: string, url: string) => void) | null = null,
  ) {}

  /** Opens (and creates, and migrates) the database; a path that cannot be opened is bad input (exit 2). */
  static open(path: string, remote: string | null = null, onQueued: ((path: string, url: string) => void) | null = null): AuditLog {
    probeWritableFile(path, 'audit database', { mayExist: true });
    let db: Database.Database;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 10000');
      migrateSqlite(db);
    } catch (e) {
      throw new InputError(`audit database ${path}: cannot open: ${(e as Error).message}`);
    }
    return new AuditLog(db, path, remote, onQueued);
  }

  /** Appends a row (and queues it for the server, pushed in the background); returns its local id. */
  append(row: AuditRow): number {
    const stmt = this.db.prepare(`INSERT INTO runs (${WRITTEN.map(([, c]) => c).join(', ')}) VALUES (${WRITTEN.map(() => '?').join(', ')})`);
    const id = this.db.transaction(() => {
      const n = Number(stmt.run(...rowValues(row)).lastInsertRowid);
      if (this.remote) this.db.prepare('INSERT OR IGNORE INTO outbox (run_id, queued) VALUES (?, ?)').run(row.runId, new Date().toISOString());
      return n;
    })();
    if (this.remote) this.onQueued?.(this.path, this.remote);
    return id;
  }

  list(filter: RowFilter = {}): AuditRow[] {
    const w = whereClause(filter, 'sqlite');
    return (this.db.prepare(`SELECT * FROM runs${w.sql} ORDER BY id`).all(...w.values) as Record<string, unknown>[]).map(rowFrom);
  }

  /** Rows queued for the server, oldest first (at most `limit`). */
  pending(limit = 1000): AuditRow[] {
    return (
      this.db.prepare(`SELECT runs.* FROM runs JOIN outbox ON outbox.run_id = runs.run_id ORDER BY runs.id LIMIT ?`).all(limit) as Record<string, unknown>[]
    ).map(rowFrom);
  }

  pendingCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  }

  /** The server has these runs: off the queue. */
  markPushed(runIds: string[]): void {
    const del = this.db.prepare('DELETE FROM outbox WHERE run_id = ?');
    this.db.transaction(() => runIds.forEach((r) => del.run(r)))();
  }

  markFailed(runIds: string[], error: string): void {
    const upd = this.db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE run_id = ?');
    this.db.transaction(() => runIds.forEach((r) => upd.run(error, r)))();
  }

  /** Queues every local row that is not queued (audit sync --all: a bench that joins a fleet). */
  queueAll(): number {
    return this.db.prepare('INSERT OR IGNORE INTO outbox (run_id, queued) SELECT run_id, ? FROM runs').run(new Date().toISOString()).changes;
  }

  schemaVersions(): number[] {
    return (this.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
  }

  close(): void {
    this.db.close();
  }
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  // a cell that a spreadsheet would run as a formula is quoted with a leading apostrophe
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** the columns of `audit export --csv`: every column but the stored files' text */
export const CSV_COLUMNS = COLUMNS.filter(([k]) => k !== 'certificateJson' && k !== 'failureReportJson');

/** RFC 4180 CSV, one header line, columns as in the database (the stored certificate and report texts left out). */
export function toCsv(rows: AuditRow[]): string {
  const lines = [CSV_COLUMNS.map(([, c]) => c).join(',')];
  for (const r of rows) lines.push(CSV_COLUMNS.map(([k]) => csvCell(r[k])).join(','));
  return lines.join('\r\n') + '\r\n';
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
