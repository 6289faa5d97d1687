/**
 * The records of one erase run (`erase` and `flash`): the backup taken in the session's
 * beforeErase hook, the signed certificate (JSON + PDF) of a verified run or the NOT SANITIZED
 * failure report of any other, and one audit row whatever happens. Everything that can be checked
 * without the terminal (keys, settings, audit database, backup target) is checked in `prepare`,
 * before the port is opened.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Board } from '../boards/types';
import { EXIT, InputError, SafetyError, errorLine, exitCodeOf, isLocalFileError } from '../errors';
import { probeWritableFile, probeWritableFolder } from '../files/write-probe';
import type { BootloaderClient } from '../protocol/client';
import type { EraseOutcome } from '../session/erase';
import { type Identity } from '../session/identify';
import { type AuditLog, appendFailure, auditPath, newRow, resultOf, type AuditRow } from './audit';
import { openAuditLog } from './audit-bench';
import type { BackupSecret } from './backup-age';
import { backupSecret, type BackupKeyOptions } from './backup-keys';
import { backupRegionsOf, checkBackupTarget, takeBackup, type BackupProgress, type BackupResult } from './backup';
import { buildCertificate, buildFailureReport, buildStoppedReport, signCertificate, toolVersion, type BackupRecord } from './certificate';
import { renderCertificatePdf } from './certificate-pdf';
import { say } from './certificate-text';
import { detachedOf, detachedPaths } from './detached';
import { applyOperatorOptions, loadOperatorConfig, type OperatorConfig, type OperatorOptions } from './config';
import { benchKey, keyId, loadPrivateKey } from './keys';
import { hexPid } from '../format/hex';
import { writeFileAtomic } from '../files/atomic-write';

/** The command-line options of the records (erase and flash share them). */
export interface RecordOptions extends OperatorOptions, BackupKeyOptions {
  /** a file, false for --no-backup, undefined for the default */
  backup?: string | false;
  /** certificate folder (default ./certificates) */
  cert?: string;
  signKey?: string;
  auditDb?: string;
  /** the fleet's PostgreSQL audit store (postgres://…) */
  auditUrl?: string;
}

export interface RunFacts {
  command: string;
  board: Board;
  port: string;
  method: string;
  verify: string;
}

/** 20250102T030405123Z: sortable, no characters that file systems dislike. */
export function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('.', '');
}

function sha256(b: Uint8Array | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** `dir/base + ext`, or with -2, -3 … when taken (default names only: explicit paths are never renamed). */
function freePath(dir: string, base: string, ext: string): string {
  for (let i = 1; ; i++) {
    const p = join(dir, `${base}${i > 1 ? `-${i}` : ''}${ext}`);
    if (!existsSync(p)) return p;
  }
}

/**
 * Writes a new file through a temporary one; never over an existing file. A local disk error
 * (full, read-only ...) is bad input on the folder the operator named: InputError naming the file.
 */
export function writeNewFile(path: string, data: Uint8Array | string, mode = 0o644): void {
  try {
    writeThroughTemp(path, data, mode);
  } catch (err) {
    if (isLocalFileError(err)) throw new InputError(`cannot write ${path}: ${errorLine(err)}`);
    throw err;
  }
}

/**
 * Writes a signed document (certificate, handover manifest) as new files: its PDF, its detached
 * form (detachedPaths) and last its JSON, so that a write that fails (disk full) leaves no signed
 * JSON behind; on failure the files this call wrote are removed again.
 */
export function writeSignedRecord(f: { jsonPath: string; text: string; pdfPath: string; pdf: Uint8Array }): void {
  writeNewFile(f.pdfPath, f.pdf);
  const detached = detachedPaths(f.jsonPath);
  const written = [f.pdfPath];
  try {
    const d = detachedOf(f.text);
    writeNewFile(detached.canonical, d.canonical);
    written.push(detached.canonical);
    writeNewFile(detached.sig, d.sig);
    written.push(detached.sig);
    writeNewFile(f.jsonPath, f.text);
  } catch (err) {
    for (const w of written) rmSync(w, { force: true }); // only what this call wrote
    throw err;
  }
}

function writeThroughTemp(path: string, data: Uint8Array | string, mode: number): void {
  writeFileAtomic(path, data, { replace: false, mode });
}

/**
 * The paths a run's records will be written to, probed without writing anything (no audit row,
 * no key created): for commands that open ports before they prepare each run's records (station).
 * Throws InputError (exit 2).
 */
export function checkRecordPaths(o: RecordOptions): void {
  const { config } = loadOperatorConfig(o.operatorConfig);
  probeWritableFile(auditPath(o.auditDb, config.auditDb), 'audit database', { mayExist: true });
  probeWritableFolder(resolve(o.cert ?? 'certificates'), '--cert');
  if (typeof o.backup === 'string') checkBackupTarget(resolve(o.backup));
  else if (o.backup !== false) probeWritableFolder(resolve('backups'), 'backup folder');
}

type BackupPlan = { kind: 'none'; note: string } | { kind: 'file'; explicit: string | null; secret: BackupSecret; dir: string };

/** Session phases that leave the flash as it was (upload writes the agent to RAM only): a run stopped in one changed nothing. */
const READ_ONLY_PHASES = new Set(['prepare', 'connect', 'backup', 'upload']);

export class EraseRecords {
  private backupResult: BackupResult | null = null;
  private phase = 'prepare';
  private touched = false;
  private recorded = false;
  readonly lines: string[] = [];
  certificatePath: string | null = null;
  pdfPath: string | null = null;
  failureReportPath: string | null = null;
  /** the backup's progress (bytes read from the terminal), for a progress bar */
  onBackupProgress: ((p: BackupProgress) => void) | null = null;

  private constructor(
    readonly facts: RunFacts,
    readonly audit: AuditLog,
    readonly row: AuditRow,
    readonly operator: OperatorConfig,
    private readonly backupPlan: BackupPlan,
    private readonly signKey: KeyObject,
    private readonly certDir: string,
    private readonly log: (line: string) => void,
    private readonly started: Date,
  ) {}

  /**
   * Opens the audit log, then checks everything else; a problem found after the audit log is open
   * is recorded (as bad input) before it is thrown.
   */
  static prepare(facts: RunFacts, o: RecordOptions, log: (line: string) => void = (l) => process.stderr.write(l + '\n')): EraseRecords {
    const started = new Date();
    const { config } = loadOperatorConfig(o.operatorConfig);
    const audit = openAuditLog(o, config);
    const operator = applyOperatorOptionsSafe(config, o, audit, facts, started);
    const row = newRow(
      facts.command,
      {
        board: facts.board.id,
        port: facts.port,
        method: facts.method,
        verify: facts.verify,
        operator: operator.operator.name ?? null,
        started: started.toISOString(),
      },
      toolVersion(),
    );
    try {
      const plan = planBackup(facts.board, o, operator, log);
      const signKey = signingKey(o, operator, log);
      const certDir = resolve(o.cert ?? 'certificates');
      probeWritableFolder(certDir, '--cert');
      return new EraseRecords(facts, audit, row, operator, plan, signKey, certDir, log, started);
    } catch (err) {
      recordFailure(audit, row, err);
      throw err;
    }
  }

  /** The session's beforeErase hook: the backup. Any failure stops the run before anything is written. */
  readonly beforeErase = async (ctx: { client: BootloaderClient; identity: Identity }): Promise<void> => {
    this.row.pid = hexPid(ctx.identity.pid);
    this.row.uid = ctx.identity.uid;
    const plan = this.backupPlan;
    if (plan.kind === 'none') {
      this.log(`backup: ${plan.note}`);
      return;
    }
    const path = plan.explicit ?? freePath(plan.dir, `${this.facts.board.id}-${ctx.identity.uid ?? 'unknown'}-${stamp(new Date())}`, '.pwbk');
    const regions = backupRegionsOf(this.facts.board);
    const kib = regions.reduce((s, r) => s + r.size, 0) / 1024;
    this.log(
      `backup: reading ${regions.length} data region(s) (${regions.map((r) => r.name).join(', ') || 'none'}; ${kib} KiB) from the terminal; keys are never backed up`,
    );
    try {
      this.backupResult = await takeBackup(ctx.client, this.facts.board, ctx.identity, {
        path,
        secret: plan.secret,
        tool: `poswipe ${toolVersion()}`,
        onProgress: (p) => this.onBackupProgress?.(p),
      });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new SafetyError(`backup failed, nothing was erased: ${msg}`);
    }
    const b = this.backupResult;
    this.row.backupPath = b.path;
    this.row.backupSha256 = b.sha256;
    this.log(
      `backup: wrote ${b.path} (${b.fileBytes} bytes, ${b.regions.length} region(s), encrypted: ${b.encryption}); ${b.lineSeconds.toFixed(1)} s on the line, ${(b.readSeconds + b.writeSeconds).toFixed(2)} s here; read back and checked`,
    );
  };

  private backupRecord(unlocked: boolean): BackupRecord {
    const b = this.backupResult;
    if (b) {
      return {
        taken: true,
        path: b.path,
        sha256: b.sha256,
        encryption: b.encryption,
        regions: b.regions,
        note: b.regions.length ? say('backupTaken', { names: b.regions.map((r) => r.name).join(', ') }) : say('backupHoldsNone'),
      };
    }
    if (unlocked) return { taken: false, path: null, sha256: null, encryption: null, regions: [], note: say('backupUnlocked') };
    return {
      taken: false,
      path: null,
      sha256: null,
      encryption: null,
      regions: [],
      note: this.backupPlan.kind === 'none' ? this.backupPlan.note : say('backupNone'),
    };
  }

  /**
   * After the session: the certificate (verified) or the failure report (anything else), then the
   * audit row. `report` is the JSON report without the record paths.
   */
  async finish(outcome: EraseOutcome, report: (paths: { certificate: string | null; backup: string | null }) => Record<string, unknown>): Promise<number> {
    const ended = new Date();
    this.row.pid = hexPid(outcome.identity.pid);
    this.row.uid = outcome.identity.uid;
    if (outcome.unlocked && this.backupPlan.kind === 'file' && this.backupPlan.explicit)
      this.log(`backup: NOT written to ${this.backupPlan.explicit}: the terminal was read-protected and Readout Unprotect erased it before it could be read`);
    const input = {
      outcome,
      board: this.facts.board,
      operator: this.operator,
      backup: this.backupRecord(outcome.unlocked),
      started: this.started,
      ended,
      command: this.facts.command,
    };
    const base = `${this.facts.board.id}-${outcome.identity.uid ?? 'unknown'}-${stamp(ended)}`;
    const code = outcome.verified ? EXIT.OK : EXIT.VERIFY_FAILED;
    if (outcome.verified) {
      const text = signCertificate(buildCertificate(input), this.signKey);
      const jsonPath = freePath(this.certDir, base, '.cert.json');
      const pdfPath = jsonPath.replace(/\.cert\.json$/, '.cert.pdf');
      const jsonSha256 = sha256(text);
      // the PDF and the detached signature first: a run that cannot write them all (disk full) must not leave a signed certificate behind
      writeSignedRecord({ jsonPath, text, pdfPath, pdf: await renderCertificatePdf({ document: JSON.parse(text), jsonSha256, jsonName: basename(jsonPath) }) });
      this.certificatePath = jsonPath;
      this.pdfPath = pdfPath;
      this.row.certificatePath = jsonPath;
      this.row.certificateSha256 = jsonSha256;
      this.row.certificateId = String((JSON.parse(text) as { certificate: { id: string } }).certificate.id);
      this.row.certificateJson = text;
      this.lines.push(`  certificate: ${jsonPath} (signed, key ${keyId(this.signKey)}) and ${this.pdfPath}`);
    } else {
      const path = freePath(this.certDir, base, '.NOT-SANITIZED.json');
      const text = buildFailureReport(input, report({ certificate: null, backup: this.backupResult?.path ?? null }));
      writeNewFile(path, text);
      this.failureReportPath = path;
      this.row.failureReportPath = path;
      this.row.failureReportJson = text;
      const pdf = await renderCertificatePdf({
        document: { certificate: buildCertificate(input), signature: null },
        jsonSha256: sha256(text),
        jsonName: basename(path),
      });
      const pdfPath = path.replace(/\.json$/, '.pdf');
      writeNewFile(pdfPath, pdf);
      this.lines.push(`  NOT SANITIZED: no certificate; failure report ${path} and ${pdfPath}`);
    }
    if (this.backupResult) this.lines.push(`  backup: ${this.backupResult.path}`);
    this.row.reason = outcome.reason;
    this.row.timings = {
      ...outcome.timings,
      ...(this.backupResult
        ? { backupRead: this.backupResult.readSeconds, backupWrite: this.backupResult.writeSeconds, backupLine: this.backupResult.lineSeconds }
        : {}),
    };
    this.record(code, ended);
    return code;
  }

  /** a backup file will be written before the erase (false with --no-backup, or nothing to keep) */
  get backupPlanned(): boolean {
    return this.backupPlan.kind === 'file';
  }

  get paths(): { certificate: string | null; backup: string | null; failureReport: string | null } {
    return { certificate: this.certificatePath, backup: this.backupResult?.path ?? null, failureReport: this.failureReportPath };
  }

  /**
   * The session's phases as they start: once one that writes to the terminal begins (anything
   * after connect and the backup), a run that stops with an error leaves a failure report.
   */
  notePhase(phase: string): void {
    this.phase = phase;
    if (!READ_ONLY_PHASES.has(phase)) this.touched = true;
  }

  /**
   * Records a run that ended in an error (refusal, device problem, bad input): the audit row, and
   * when the terminal may have been changed, a failure report (a report that cannot be written is
   * said on stderr; the audit row still names the first error).
   */
  fail(err: unknown): void {
    if (this.recorded) return;
    if (this.backupResult) {
      this.row.backupPath = this.backupResult.path;
      this.row.backupSha256 = this.backupResult.sha256;
    }
    if (this.touched && !this.failureReportPath && !this.certificatePath) {
      const ended = new Date();
      try {
        const path = freePath(this.certDir, `${this.facts.board.id}-${this.row.uid ?? 'unknown'}-${stamp(ended)}`, '.NOT-SANITIZED.json');
        // the same backup record as a finished run's; a failed run has no outcome to say whether it unlocked the part
        const backup = this.backupRecord(false);
        writeNewFile(
          path,
          buildStoppedReport({
            board: this.facts.board,
            operator: this.operator,
            backup,
            started: this.started,
            ended,
            command: this.facts.command,
            phase: this.phase,
            pid: this.row.pid,
            uid: this.row.uid,
            reason: errorLine(err),
            exitCode: exitCodeOf(err),
          }),
        );
        this.failureReportPath = path;
        this.row.failureReportPath = path;
        this.log(`  NOT SANITIZED: no certificate; failure report ${path}`);
      } catch (e) {
        this.log(`poswipe: also: the failure report could not be written: ${errorLine(e)}`);
      }
    }
    recordFailure(this.audit, this.row, err);
    this.recorded = true;
  }

  private record(code: number, ended: Date): void {
    if (this.recorded) return;
    this.row.exitCode = code;
    this.row.result = resultOf(code);
    this.row.ended = ended.toISOString();
    this.audit.append(this.row);
    this.recorded = true;
    this.audit.close();
  }
}

function recordFailure(audit: AuditLog, row: AuditRow, err: unknown): void {
  appendFailure(audit, row, err);
}

function applyOperatorOptionsSafe(config: OperatorConfig, o: RecordOptions, audit: AuditLog, facts: RunFacts, started: Date): OperatorConfig {
  try {
    return applyOperatorOptions(config, o);
  } catch (err) {
    recordFailure(
      audit,
      newRow(
        facts.command,
        { board: facts.board.id, port: facts.port, method: facts.method, verify: facts.verify, started: started.toISOString() },
        toolVersion(),
      ),
      err,
    );
    throw err;
  }
}

function planBackup(board: Board, o: RecordOptions, operator: OperatorConfig, log: (line: string) => void): BackupPlan {
  if (o.backup === false) {
    if (o.passphraseFile !== undefined || o.recipient !== undefined) log('poswipe: --no-backup: --passphrase-file and --recipient are ignored');
    return { kind: 'none', note: say('backupOptedOut') };
  }
  const explicit = typeof o.backup === 'string' ? resolve(o.backup) : null;
  if (backupRegionsOf(board).length === 0) {
    // an empty backup file would read as "backed up" while the erase destroys the whole flash
    if (explicit)
      throw new InputError(
        `--backup ${o.backup}: board ${board.id} declares no data regions, so there is nothing to back up and the erase clears the whole flash; name the regions to keep in a board file (regions of kind "data"), or pass --no-backup`,
      );
    return { kind: 'none', note: say('backupNoDataRegions', { board: board.id }) };
  }
  if (explicit) checkBackupTarget(explicit);
  else probeWritableFolder(resolve('backups'), 'backup folder');
  return { kind: 'file', explicit, secret: backupSecret(o, operator.backupRecipient, log), dir: resolve('backups') };
}

function signingKey(o: RecordOptions, operator: OperatorConfig, log: (line: string) => void): KeyObject {
  const path = o.signKey ?? operator.signKey;
  if (path) return loadPrivateKey(path, 'ed25519', o.signKey ? '--sign-key' : 'signKey');
  const bench = benchKey('signing');
  if (bench.created) log(`poswipe: created the bench signing key ${bench.privatePath}; certificates verify with its public key ${bench.publicPath}`);
  return bench.privateKey;
}
