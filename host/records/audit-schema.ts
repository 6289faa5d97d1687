/**
 * The audit schema, one for both backends (SQLite on the bench, PostgreSQL for a fleet), as
 * numbered migrations. Each backend keeps `schema_migrations (version, name, applied)` and applies
 * the missing ones in order, inside one transaction (PostgreSQL: under an advisory lock, so two
 * benches starting at once migrate once).
 *
 *   1  runs: one row per terminal session (the columns of the first poswipe audit log)
 *   2  run_id (a UUID: what a sync is idempotent by), certificate_id, certificate_json and
 *      failure_report_json (the files' text, stored with the row), indexes on run_id and ended
 *
 * A SQLite database made before migrations existed has `runs` and no `schema_migrations`: it is
 * version 1, and is recorded as such before version 2 is applied. The bench's queue of rows not
 * yet pushed to PostgreSQL (`outbox`) is local only: it is part of the SQLite side of version 2.
 */
import type { AuditRow } from './audit-row';

export type Dialect = 'sqlite' | 'pg';

/** [row field, column, SQLite type, PostgreSQL type, the migration that added it] */
export const COLUMNS: [keyof AuditRow, string, string, string, number][] = [
  ['id', 'id', 'INTEGER PRIMARY KEY AUTOINCREMENT', 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY', 1],
  ['started', 'started', 'TEXT NOT NULL', 'TEXT NOT NULL', 1],
  ['ended', 'ended', 'TEXT NOT NULL', 'TEXT NOT NULL', 1],
  ['command', 'command', 'TEXT NOT NULL', 'TEXT NOT NULL', 1],
  ['board', 'board', 'TEXT', 'TEXT', 1],
  ['port', 'port', 'TEXT', 'TEXT', 1],
  ['pid', 'pid', 'TEXT', 'TEXT', 1],
  ['uid', 'uid', 'TEXT', 'TEXT', 1],
  ['operator', 'operator', 'TEXT', 'TEXT', 1],
  ['method', 'method', 'TEXT', 'TEXT', 1],
  ['verify', 'verify', 'TEXT', 'TEXT', 1],
  ['result', 'result', 'TEXT NOT NULL', 'TEXT NOT NULL', 1],
  ['exitCode', 'exit_code', 'INTEGER NOT NULL', 'INTEGER NOT NULL', 1],
  ['reason', 'reason', 'TEXT', 'TEXT', 1],
  ['certificatePath', 'certificate_path', 'TEXT', 'TEXT', 1],
  ['certificateSha256', 'certificate_sha256', 'TEXT', 'TEXT', 1],
  ['failureReportPath', 'failure_report_path', 'TEXT', 'TEXT', 1],
  ['backupPath', 'backup_path', 'TEXT', 'TEXT', 1],
  ['backupSha256', 'backup_sha256', 'TEXT', 'TEXT', 1],
  ['timings', 'timings_json', 'TEXT NOT NULL', 'TEXT NOT NULL', 1],
  ['host', 'host', 'TEXT', 'TEXT', 1],
  ['toolVersion', 'tool_version', 'TEXT', 'TEXT', 1],
  ['runId', 'run_id', 'TEXT', 'TEXT', 2],
  ['certificateId', 'certificate_id', 'TEXT', 'TEXT', 2],
  ['certificateJson', 'certificate_json', 'TEXT', 'TEXT', 2],
  ['failureReportJson', 'failure_report_json', 'TEXT', 'TEXT', 2],
];

export interface Migration {
  version: number;
  name: string;
  sqlite: string[];
  pg: string[];
}

function createRuns(d: Dialect): string {
  return `CREATE TABLE runs (${COLUMNS.filter((c) => c[4] === 1)
    .map(([, col, lite, pg]) => `${col} ${d === 'sqlite' ? lite : pg}`)
    .join(', ')})`;
}

function addColumns(version: number, d: Dialect): string[] {
  return COLUMNS.filter((c) => c[4] === version).map(([, col, lite, pg]) => `ALTER TABLE runs ADD COLUMN ${col} ${d === 'sqlite' ? lite : pg}`);
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'runs',
    sqlite: [createRuns('sqlite'), 'CREATE INDEX runs_uid ON runs (uid)'],
    pg: [createRuns('pg'), 'CREATE INDEX runs_uid ON runs (uid)'],
  },
  {
    version: 2,
    name: 'run ids, certificates and failure reports with their rows; the bench outbox',
    sqlite: [
      ...addColumns(2, 'sqlite'),
      // rows written before run ids existed get one of their own
      'UPDATE runs SET run_id = lower(hex(randomblob(16))) WHERE run_id IS NULL',
      'CREATE UNIQUE INDEX runs_run_id ON runs (run_id)',
      'CREATE INDEX runs_ended ON runs (ended)',
      'CREATE TABLE outbox (run_id TEXT PRIMARY KEY, queued TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)',
    ],
    pg: [
      ...addColumns(2, 'pg'),
      'UPDATE runs SET run_id = md5(random()::text || clock_timestamp()::text || id::text) WHERE run_id IS NULL',
      'ALTER TABLE runs ALTER COLUMN run_id SET NOT NULL',
      'CREATE UNIQUE INDEX runs_run_id ON runs (run_id)',
      'CREATE INDEX runs_ended ON runs (ended)',
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export const MIGRATIONS_TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)';

/** Columns a row is written with (every one but the backend's own id). */
export const WRITTEN = COLUMNS.filter(([k]) => k !== 'id');

/** A row's values in WRITTEN order. */
export function rowValues(row: AuditRow): unknown[] {
  return WRITTEN.map(([k]) => (k === 'timings' ? JSON.stringify(row.timings ?? {}) : (row[k] ?? null)));
}

/** A row from a database record (either backend). */
export function rowFrom(r: Record<string, unknown>): AuditRow {
  const out: Record<string, unknown> = {};
  for (const [k, c] of COLUMNS) {
    const v = r[c];
    if (k === 'timings') out[k] = JSON.parse(String(v ?? '{}'));
    else if (k === 'id' || k === 'exitCode') out[k] = v === null || v === undefined ? v : Number(v);
    else out[k] = v ?? null;
  }
  return out as unknown as AuditRow;
}

/** A time filter on `ended` (ISO 8601; since inclusive, until exclusive) and/or one terminal. */
export interface RowFilter {
  since?: string;
  until?: string;
  uid?: string;
}

function where(f: RowFilter, param: (i: number) => string): { sql: string; values: string[] } {
  const parts: string[] = [];
  const values: string[] = [];
  const add = (cond: (p: string) => string, v: string): void => {
    values.push(v);
    parts.push(cond(param(values.length)));
  };
  if (f.since) add((p) => `ended >= ${p}`, f.since);
  if (f.until) add((p) => `ended < ${p}`, f.until);
  if (f.uid) add((p) => `uid = ${p}`, f.uid);
  return { sql: parts.length ? ` WHERE ${parts.join(' AND ')}` : '', values };
}

/** The WHERE clause of a filter, for either backend ($1 … for PostgreSQL, ? for SQLite). */
export function whereClause(f: RowFilter, dialect: 'sqlite' | 'pg'): { sql: string; values: string[] } {
  return where(f, (i) => (dialect === 'pg' ? `$${i}` : '?'));
}
