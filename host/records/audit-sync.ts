/**
 * Pushing the bench's queued rows (the SQLite `outbox`) to the fleet server, idempotently by run
 * id: rows the server already has are taken off the queue like the ones it inserts, so a sync
 * that is repeated, or that runs in two processes at once, adds each run once.
 *
 * After every append the push runs in the background (schedulePush); the process does not exit
 * before it ends (bounded by the connect and statement timeouts of audit-pg.ts). A push that
 * fails leaves the rows queued and says so on stderr; `poswipe audit sync` or the next run
 * pushes them.
 */
import { AuditLog } from './audit';
import { PgAuditStore, redact } from './audit-pg';

export interface SyncResult {
  inserted: number;
  already: number;
  remaining: number;
}

const BATCH = 500;

/** Pushes every queued row of the SQLite log at `localPath` to `url`. Throws when the server cannot be reached (rows stay queued). */
export async function pushPending(localPath: string, url: string): Promise<SyncResult> {
  const local = AuditLog.open(localPath, null);
  try {
    let inserted = 0;
    let already = 0;
    if (local.pendingCount() === 0) return { inserted, already, remaining: 0 };
    const server = await PgAuditStore.open(url);
    try {
      for (;;) {
        const rows = local.pending(BATCH);
        if (!rows.length) break;
        let r: Awaited<ReturnType<PgAuditStore['insert']>>;
        try {
          r = await server.insert(rows);
        } catch (e) {
          local.markFailed(
            rows.map((x) => x.runId),
            (e as Error).message,
          );
          throw e;
        }
        local.markPushed([...r.inserted, ...r.already]);
        inserted += r.inserted.length;
        already += r.already.length;
        if (rows.length < BATCH) break;
      }
    } finally {
      await server.close();
    }
    return { inserted, already, remaining: local.pendingCount() };
  } finally {
    local.close();
  }
}

let chain: Promise<void> = Promise.resolve();

/** Pushes in the background after an append (one push at a time per process); reports a failure on stderr. */
export function schedulePush(localPath: string, url: string): void {
  chain = chain.then(async () => {
    try {
      await pushPending(localPath, url);
    } catch (e) {
      let queued = 0;
      try {
        const l = AuditLog.open(localPath, null);
        queued = l.pendingCount();
        l.close();
      } catch {
        // the count is only for the message
      }
      process.stderr.write(
        `poswipe: audit: ${(e as Error).message.split('\n')[0]}; ${queued} run(s) queued in ${localPath} for ${redact(url)}: \`poswipe audit sync\` or the next run pushes them\n`,
      );
    }
  });
}

/** Resolves when the background pushes started so far have ended (tests, the station on shutdown). */
export function pushesSettled(): Promise<void> {
  return chain;
}
