/**
 * The bench's audit log as a command opens it: the SQLite file from the options or the settings
 * file, and its fleet server, if any, to which every appended row is pushed in the background
 * (audit-sync.ts). Kept apart from audit.ts so that the log and the push do not import each other.
 */
import { AuditLog, auditPath, auditUrl } from './audit';
import { schedulePush } from './audit-sync';

/** Opens the bench's log with its fleet server, if any, from the options and the settings file. */
export function openAuditLog(o: { auditDb?: string; auditUrl?: string }, config: { auditDb?: string; auditUrl?: string }): AuditLog {
  const remote = auditUrl(o.auditUrl, config.auditUrl);
  return AuditLog.open(auditPath(o.auditDb, config.auditDb), remote, schedulePush);
}
