/**
 * Reading the audit log, whichever backend holds it: one interface, the bench's SQLite (default)
 * or the fleet's PostgreSQL (--audit-url, $POSWIPE_AUDIT_URL or auditUrl). Writing always goes
 * through the bench's SQLite (audit.ts), which queues for the server (audit-sync.ts).
 *
 * With a server, reading first pushes this bench's queue, then reads the server (every bench's
 * rows). A server that cannot be reached is reported on stderr and this bench's own log is read
 * instead (`source` says which was read).
 */
import { DeviceError } from '../errors';
import { AuditLog, auditPath, auditUrl, type RowFilter } from './audit';
import { PgAuditStore, redact } from './audit-pg';
import type { AuditRow } from './audit-row';
import { pushPending } from './audit-sync';

export interface AuditStore {
  /** what is read: "sqlite <path>" or "postgres <url without password>" */
  readonly source: string;
  list(filter?: RowFilter): Promise<AuditRow[]>;
  close(): Promise<void>;
}

export class SqliteAuditStore implements AuditStore {
  constructor(private readonly log: AuditLog) {}
  get source(): string {
    return `sqlite ${this.log.path}`;
  }
  async list(filter: RowFilter = {}): Promise<AuditRow[]> {
    return this.log.list(filter);
  }
  async close(): Promise<void> {
    this.log.close();
  }
}

class PgStore implements AuditStore {
  constructor(private readonly pg: PgAuditStore) {}
  get source(): string {
    return `postgres ${redact(this.pg.url)}`;
  }
  list(filter: RowFilter = {}): Promise<AuditRow[]> {
    return this.pg.list(filter);
  }
  close(): Promise<void> {
    return this.pg.close();
  }
}

/** The store to read, per the options and the settings file (see the module comment). */
export async function openAuditStore(
  o: { auditDb?: string; auditUrl?: string },
  config: { auditDb?: string; auditUrl?: string },
  log: (line: string) => void,
): Promise<AuditStore> {
  const path = auditPath(o.auditDb, config.auditDb);
  const url = auditUrl(o.auditUrl, config.auditUrl);
  const local = AuditLog.open(path, null);
  if (!url) return new SqliteAuditStore(local);
  try {
    local.close();
    await pushPending(path, url);
    return new PgStore(await PgAuditStore.open(url));
  } catch (e) {
    if (!(e instanceof DeviceError) && !/ECONN|ENOENT|timeout|terminat/i.test((e as Error).message)) throw e;
    const fallback = AuditLog.open(path, null);
    log(
      `poswipe: audit: ${(e as Error).message.split('\n')[0]}: showing this bench's own log ${path} (${fallback.pendingCount()} run(s) not yet on the server)`,
    );
    return new SqliteAuditStore(fallback);
  }
}
