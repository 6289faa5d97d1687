/** One audit row: one terminal session of erase, flash, station, backup or restore, whatever its end. */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { EXIT } from '../errors';

export const RESULTS = {
  [EXIT.OK]: 'ok',
  [EXIT.VERIFY_FAILED]: 'failed',
  [EXIT.USAGE]: 'bad-input',
  [EXIT.DEVICE]: 'device-error',
  [EXIT.SAFETY]: 'refused',
} as Record<number, string>;

export interface AuditRow {
  /** the backend's own row number (each backend numbers its rows) */
  id?: number;
  /** a UUID made when the run starts: the same run on every backend (a sync is idempotent by it) */
  runId: string;
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
  /** the certificate's own id (certificate.id, a UUID) */
  certificateId: string | null;
  /** the certificate file's text, byte for byte (cert verify works on it) */
  certificateJson: string | null;
  failureReportPath: string | null;
  failureReportJson: string | null;
  backupPath: string | null;
  backupSha256: string | null;
  /** seconds per phase */
  timings: Record<string, number>;
  started: string;
  ended: string;
  /** the bench: the host name of the machine that ran it */
  host: string;
  toolVersion: string;
}

/** A row's base fields for a session starting now. */
export function newRow(command: string, init: Partial<AuditRow> = {}, version = ''): AuditRow {
  const now = new Date().toISOString();
  return {
    runId: randomUUID(),
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
    certificateId: null,
    certificateJson: null,
    failureReportPath: null,
    failureReportJson: null,
    backupPath: null,
    backupSha256: null,
    timings: {},
    started: now,
    ended: now,
    host: process.env.POSWIPE_BENCH || hostname(),
    toolVersion: version,
    ...init,
  };
}

export function resultOf(exitCode: number): string {
  return RESULTS[exitCode] ?? 'error';
}
