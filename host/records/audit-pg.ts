/**
 * The fleet's audit store on PostgreSQL (node-postgres): the same `runs` table as the bench's
 * SQLite (audit-schema.ts), migrated under an advisory lock, rows inserted idempotently by run id
 * (`ON CONFLICT (run_id) DO NOTHING`), so that two benches pushing at once, or one bench pushing
 * twice, leave each run exactly once.
 *
 * URL: postgres://user[:password]@host[:port]/database, or a Unix socket with
 * postgres://user@/database?host=/run/postgresql. Every wait is bounded: connecting
 * (POSWIPE_AUDIT_CONNECT_MS, default 3000 ms) and every statement (10 s).
 */
import type { Client as PgClient } from 'pg';
import { DeviceError } from '../errors';
import { MIGRATIONS, MIGRATIONS_TABLE, SCHEMA_VERSION, WRITTEN, rowFrom, rowValues, whereClause, type RowFilter } from './audit-schema';
import type { AuditRow } from './audit-row';

type Pg = typeof import('pg');
const pg = (): Pg => require('pg') as Pg;

/** any number: the key of the lock that serialises migrations across benches */
const MIGRATION_LOCK = 0x70737770; // "pswp"
const STATEMENT_MS = 10_000;

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}

export class PgAuditStore {
  private constructor(
    private readonly client: PgClient,
    readonly url: string,
  ) {}

  /** Connects and migrates; a server that cannot be reached is a DeviceError (exit 3) naming it. */
  static async open(url: string, o: { migrate?: boolean; upTo?: number } = {}): Promise<PgAuditStore> {
    const connectMs = Number(process.env.POSWIPE_AUDIT_CONNECT_MS ?? 3000);
    const client = new (pg().Client)({
      connectionString: url,
      connectionTimeoutMillis: connectMs,
      statement_timeout: STATEMENT_MS,
      query_timeout: STATEMENT_MS + 1000,
      application_name: 'poswipe',
    });
    client.on('error', () => {
      // a connection lost while idle: the next query says so
    });
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => undefined);
      throw new DeviceError(`audit server ${redact(url)}: cannot connect within ${connectMs} ms: ${(e as Error).message}`);
    }
    const store = new PgAuditStore(client, url);
    if (o.migrate !== false) {
      try {
        await store.migrate(o.upTo);
      } catch (e) {
        await store.close();
        throw e instanceof DeviceError ? e : new DeviceError(`audit server ${redact(url)}: migration failed: ${(e as Error).message}`);
      }
    }
    return store;
  }

  /** Applies the missing migrations in one transaction, under an advisory lock; returns the versions applied. */
  async migrate(upTo = SCHEMA_VERSION): Promise<number[]> {
    const applied: number[] = [];
    await this.client.query('BEGIN');
    try {
      await this.client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await this.client.query(MIGRATIONS_TABLE);
      const have = new Set((await this.client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)));
      for (const m of MIGRATIONS) {
        if (m.version > upTo || have.has(m.version)) continue;
        for (const sql of m.pg) await this.client.query(sql);
        await this.client.query('INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
        applied.push(m.version);
      }
      await this.client.query('COMMIT');
    } catch (e) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
    return applied;
  }

  async schemaVersions(): Promise<number[]> {
    return (await this.client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => Number(r.version));
  }

  /** Inserts rows that the server does not have yet (by run id), in one transaction; returns the run ids it inserted. */
  async insert(rows: AuditRow[]): Promise<{ inserted: string[]; already: string[] }> {
    const inserted: string[] = [];
    const already: string[] = [];
    const cols = WRITTEN.map(([, c]) => c);
    const sql = `INSERT INTO runs (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT (run_id) DO NOTHING RETURNING run_id`;
    await this.client.query('BEGIN');
    try {
      for (const r of rows) {
        const res = await this.client.query(sql, rowValues(r));
        (res.rowCount ? inserted : already).push(r.runId);
      }
      await this.client.query('COMMIT');
    } catch (e) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
    return { inserted, already };
  }

  async list(filter: RowFilter = {}): Promise<AuditRow[]> {
    const w = whereClause(filter, 'pg');
    return (await this.client.query(`SELECT * FROM runs${w.sql} ORDER BY ended, id`, w.values)).rows.map(rowFrom);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
