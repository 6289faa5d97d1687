/**
 * `npm run soak`: a seeded soak campaign of the real erase path against faulty emulated terminals.
 *
 *   node build/bench/soak.js [--sessions <n>] [--seed <s>] [--json] [--max-seconds <t>]
 *                            [--workers <n>] [--only <session seed>] [--keep] [--verbose]
 *
 * Every session derives from one 32-bit session seed (itself derived from --seed and the session's
 * index, or given with --only to replay one session alone): a shipped board, a method, and a random
 * combination of emulator faults (line drops and bit flips up to 1 %, a NACKed command, stuck
 * bytes, a failing sector, power loss at a random flash operation, read protection with or
 * without --unlock, a lying agent that reports the expected digests and erases nothing:
 * `fake-digests`, which must never end verified). The session runs `poswipe erase --port emu --json ...` in process (the
 * commander program of host/cli/main.ts, in a worker thread so that its stdout and stderr can be
 * captured), with its own flash image file, backup, certificate folder and audit database. Then
 * the outcome is checked independently of the tool's own verdict:
 *
 *   exit 0   the saved flash is blank (erased value) outside the protected regions, the protected
 *            regions are byte for byte what they were (blank too with --include-protected or
 *            --unlock, which mass-erases the part) and are exactly the report's skipped sectors,
 *            the certificate verifies against the signing key and names the terminal, the backup
 *            decrypts to exactly the original `data` regions; anything else is a FALSE SUCCESS
 *   exit ≠0  the code is 1, 3 or 4 and the run names its reason (report.reason, or the
 *            `poswipe: error:` line); no certificate was written (else FALSE SUCCESS); a refusal
 *            (exit 4) left the flash untouched; a backup file that exists decrypts and matches,
 *            and a data region that changed has one (else LOST BACKUP)
 *   always   exactly one audit row with the run's exit code; no partial file left next to the
 *            backup
 *
 * The campaign prints a table of outcomes per exit code, per fault, per board and per method, the
 * most frequent reasons, and every violation with its session seed (`--only <seed>` replays it);
 * `--json` prints one object instead. It stops by itself: after --sessions sessions, or when
 * --max-seconds have passed (sessions already started finish). A session that takes longer than
 * SESSION_TIMEOUT_S or kills its worker is a violation too.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { listBoards, sectorsOf } from '../host/boards/load';
import type { Board } from '../host/boards/types';
import { MAX_FLASH_SIZE_KIB } from '../host/emulator/faults';
import { initialImage } from '../host/emulator/image';
import { Rng, hashString } from '../host/emulator/rng';
import { METHOD_SPECS, METHODS, type MethodName } from '../host/plan/methods';
import { backupRegionsOf, openBackup } from '../host/records/backup';
import { verifyCertificate } from '../host/records/certificate';
import { writeNewKeyPair } from '../host/records/keys';
import { readIdentityFile, writeNewAgeIdentity } from '../host/records/age-keys';

/** a session that takes longer than this (real seconds) is a hang */
export const SESSION_TIMEOUT_S = 180;

export const FAULT_KINDS = [
  'none',
  'drop',
  'flip',
  'nack',
  'stuck',
  'erase-fail',
  'powerloss',
  'rdp',
  'rdp+unlock',
  'no-backup',
  'include-protected',
  'fake-digests',
  'flash-size',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** commands a NACK fault is put on (every one the erase path can send) */
const NACK_COMMANDS = ['get', 'get-id', 'read', 'write', 'go', 'erase', 'extended-erase', 'get-checksum', 'readout-unprotect'];

export interface SessionPlan {
  seed: number;
  board: string;
  method: MethodName;
  /** --emu-fault specs */
  faults: string[];
  /** what the session has, for the per-fault table (a session counts under each of its kinds) */
  kinds: FaultKind[];
  rdp: boolean;
  unlock: boolean;
  backup: boolean;
  includeProtected: boolean;
}

export interface SessionResult {
  plan: SessionPlan;
  exit: number;
  /** the run's own reason when it did not end verified */
  reason: string | null;
  falseSuccess: boolean;
  lostBackup: boolean;
  /** every broken rule (empty for a good session) */
  problems: string[];
  seconds: number;
}

export interface GroupCounts {
  sessions: number;
  verified: number;
  failed: number;
  exit: Record<string, number>;
  violations: number;
}

export interface SoakSummary {
  seed: number;
  requested: number;
  sessions: number;
  verified: number;
  failed: number;
  falseSuccess: number;
  lostBackups: number;
  /** session seeds of every session that broke a rule (replay with --only <seed>) */
  violations: number[];
  violationDetails: { seed: number; board: string; method: string; faults: string[]; exit: number; problems: string[] }[];
  outcomes: Record<string, number>;
  perFault: Record<string, GroupCounts>;
  perBoard: Record<string, GroupCounts>;
  perMethod: Record<string, GroupCounts>;
  reasons: Record<string, number>;
  seconds: number;
  sessionsPerSecond: number;
  stoppedByTime: boolean;
  workers: number;
}

export interface SoakOptions {
  sessions: number;
  seed: number;
  maxSeconds: number;
  workers?: number;
  /** replay these session seeds instead of deriving them from `seed` */
  only?: number[];
  /** keep every session's folder (violating sessions' folders are always kept) */
  keep?: boolean;
  /** one line per session on stderr */
  verbose?: boolean;
  /** where the campaign's folders go (default: a new folder under the OS temp dir, removed unless something is kept) */
  workDir?: string;
  log?: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------
// planning: everything from the session seed

export function sessionSeed(campaignSeed: number, index: number): number {
  return hashString(`poswipe-soak:${campaignSeed}:${index}`);
}

let boardCache: Board[] | null = null;
export function shippedBoards(): Board[] {
  return (boardCache ??= listBoards());
}

/** flash operations a clean run of `method` on `board` makes (measured with --emu-log: sector erases plus 4 KiB agent programs or 256-byte Write Memory chunks) */
function flashOps(board: Board, method: MethodName): number {
  const passes = METHOD_SPECS[method].passes;
  const erases = passes.filter((p) => p.kind === 'erase').length;
  const programs = passes.filter((p) => p.kind === 'program').length;
  const unit = board.agent ? 4096 : 256;
  return (
    sectorsOf(board).length * erases +
    (board.flash.size / unit) * programs +
    board.regions.filter((r) => r.kind === 'keys').reduce((s, r) => s + Math.ceil(r.size / unit), 0)
  );
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/** a rate from 1e-5 to 1e-2, log-uniform */
function rate(rng: Rng): string {
  return (10 ** (-5 + 3 * rng.float())).toPrecision(3);
}

/** an address in the flash: half the time inside one of the board's regions or at a sector start (where it matters most) */
function flashAddress(rng: Rng, board: Board): number {
  const r = rng.float();
  if (r < 0.35 && board.regions.length) {
    const reg = board.regions[rng.below(board.regions.length)];
    return reg.address + rng.below(reg.size);
  }
  if (r < 0.5) {
    const sectors = sectorsOf(board);
    return sectors[rng.below(sectors.length)].address + rng.below(64);
  }
  return board.flash.base + rng.below(board.flash.size);
}

export function planSession(seed: number): SessionPlan {
  const rng = new Rng(seed);
  const boards = shippedBoards();
  const board = boards[rng.below(boards.length)];
  const method = METHODS[rng.below(METHODS.length)] as MethodName;
  const faults: string[] = [];
  const kinds = new Set<FaultKind>();
  let rdp = false;
  let unlock = false;
  // a board with no data regions has nothing to back up: --backup would be refused (docs/cli.md)
  let backup = backupRegionsOf(board).length > 0;
  let includeProtected = false;
  // about one session in five has no fault at all: the verified path must stay verified
  if (rng.float() >= 0.2) {
    if (rng.float() < 0.25) {
      faults.push(`drop=${rate(rng)}`);
      kinds.add('drop');
    }
    if (rng.float() < 0.25) {
      faults.push(`flip=${rate(rng)}`);
      kinds.add('flip');
    }
    if (rng.float() < 0.1) {
      faults.push(`nack@${NACK_COMMANDS[rng.below(NACK_COMMANDS.length)]}`);
      kinds.add('nack');
    }
    if (rng.float() < 0.25) {
      const n = 1 + rng.below(2);
      for (let i = 0; i < n; i++) faults.push(`stuck@${hex(flashAddress(rng, board))}`);
      kinds.add('stuck');
    }
    if (rng.float() < 0.15) {
      faults.push(`erase-fail@${hex(flashAddress(rng, board))}`);
      kinds.add('erase-fail');
    }
    if (rng.float() < 0.2) {
      const ops = flashOps(board, method);
      faults.push(`powerloss@${1 + rng.below(Math.ceil(ops * 1.05))}`);
      kinds.add('powerloss');
    }
    if (rng.float() < 0.1) {
      // a lying flash-size register: under-reporting (a part marked smaller than its die) must still
      // be erased whole, over-reporting is refused
      const kib = board.flash.size / 1024;
      const claims = [kib / 4, kib / 2, kib * 2].filter((k) => Number.isInteger(k) && k >= 1 && k <= MAX_FLASH_SIZE_KIB);
      faults.push(`flash-size=${claims[rng.below(claims.length)]}`);
      kinds.add('flash-size');
    }
    if (rng.float() < 0.12) {
      rdp = true;
      unlock = rng.float() < 0.5;
      kinds.add(unlock ? 'rdp+unlock' : 'rdp');
    }
    // a simulated lying terminal: the agent's digests all match and nothing is erased; only the
    // ROM witness can tell. Not with --unlock, whose mass erase is the ROM's own and real.
    if (board.agent && !unlock && rng.float() < 0.1) {
      faults.push('fake-digests');
      kinds.add('fake-digests');
    }
  }
  if (unlock || rng.float() < 0.08) {
    // an unlocked part mass-erases itself before anything can be read: the run is --no-backup
    backup = false;
    kinds.add('no-backup');
  }
  if (board.regions.some((r) => r.kind === 'protected') && rng.float() < 0.15) {
    includeProtected = true;
    kinds.add('include-protected');
  }
  if (kinds.size === 0 || [...kinds].every((k) => k === 'no-backup' || k === 'include-protected')) kinds.add('none');
  return { seed, board: board.id, method, faults, kinds: [...kinds], rdp, unlock, backup, includeProtected };
}

// ---------------------------------------------------------------------------------------------
// one session (in a worker thread)

export interface CampaignFiles {
  root: string;
  signKey: string;
  signPub: string;
  backupKey: string;
  backupPub: string;
  configDir: string;
}

/**
 * The flash after a verified run: the protected regions as they were (unless --include-protected,
 * or --unlock: Readout Unprotect mass-erases the whole part), everything else erased; and the
 * report's `skipped` sectors are exactly those kept regions.
 */
function erasedEverywhere(after: Uint8Array, original: Uint8Array, board: Board, plan: SessionPlan, report: Record<string, unknown> | null): string[] {
  const problems: string[] = [];
  const base = board.flash.base;
  const keep = plan.includeProtected || plan.unlock ? [] : board.regions.filter((r) => r.kind === 'protected');
  const span = (rs: { address: number; size: number }[]): string =>
    rs
      .map((r) => [r.address, r.address + r.size])
      .sort((a, b) => a[0] - b[0])
      .reduce<number[][]>((m, r) => (m.length && m[m.length - 1][1] === r[0] ? ((m[m.length - 1][1] = r[1]), m) : [...m, r]), [])
      .map(([a, e]) => `${hex(a)}-${hex(e)}`)
      .join(',');
  const skipped = Array.isArray(report?.skipped)
    ? (report!.skipped as { address: string; size: number }[]).map((x) => ({ address: parseInt(x.address, 16), size: x.size }))
    : [];
  if (span(skipped) !== span(keep)) problems.push(`the report says it kept [${span(skipped)}], the protected regions to keep are [${span(keep)}]`);
  let firstBad = -1;
  let badCount = 0;
  for (let i = 0; i < after.length; i++) {
    const a = base + i;
    const kept = keep.some((r) => a >= r.address && a < r.address + r.size);
    const ok = kept ? after[i] === original[i] : after[i] === board.flash.erasedValue;
    if (!ok) {
      if (firstBad < 0) firstBad = a;
      badCount++;
    }
  }
  if (badCount) problems.push(`flash not as certified: ${badCount} byte(s) wrong (not erased, or a protected byte changed), first at ${hex(firstBad)}`);
  return problems;
}

/** Checks a backup file against the original image: null when it decrypts to exactly the data regions. */
async function backupProblem(file: string, files: CampaignFiles, board: Board, original: Uint8Array, uid: string | null): Promise<string | null> {
  try {
    const b = await openBackup(file, {
      identities: () => ({ identities: readIdentityFile(files.backupKey, 'soak backup identity'), source: files.backupKey }),
    });
    const regions = backupRegionsOf(board);
    if (b.header.board !== board.id) return `backup names board ${b.header.board}`;
    if (uid !== null && b.header.uid !== uid) return `backup names uid ${b.header.uid}, the terminal is ${uid}`;
    if (b.header.regions.length !== regions.length) return `backup holds ${b.header.regions.length} region(s), the board has ${regions.length} data region(s)`;
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i];
      const h = b.header.regions[i];
      if (h.address !== r.address || h.size !== r.size)
        return `backup region ${i} is ${hex(h.address)}+${h.size}, expected ${r.name} ${hex(r.address)}+${r.size}`;
      const want = original.subarray(r.address - board.flash.base, r.address - board.flash.base + r.size);
      if (!Buffer.from(b.data[i]).equals(Buffer.from(want))) return `backup region ${r.name} does not hold the original bytes`;
    }
    return null;
  } catch (e) {
    return `backup does not open: ${(e as Error).message}`;
  }
}

function dataChanged(after: Uint8Array, original: Uint8Array, board: Board): string[] {
  const base = board.flash.base;
  return backupRegionsOf(board)
    .filter(
      (r) =>
        !Buffer.from(after.subarray(r.address - base, r.address - base + r.size)).equals(
          Buffer.from(original.subarray(r.address - base, r.address - base + r.size)),
        ),
    )
    .map((r) => r.name);
}

type MainFn = (argv: string[]) => Promise<number>;

/** Runs the CLI in this thread with stdout and stderr captured. */
async function runCliCaptured(main: MainFn, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const ow = process.stdout.write;
  const ew = process.stderr.write;
  const capture = (sink: string[]) =>
    function (chunk: unknown, ...rest: unknown[]): boolean {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    };
  process.stdout.write = capture(out) as typeof process.stdout.write;
  process.stderr.write = capture(err) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

export async function runSession(plan: SessionPlan, files: CampaignFiles, main: MainFn, keep = false): Promise<SessionResult> {
  const t0 = Date.now();
  const board = shippedBoards().find((b) => b.id === plan.board)!;
  const dir = join(files.root, `s${plan.seed}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const image = join(dir, 'flash.bin');
  const backup = join(dir, 'backups', 'terminal.pwbk');
  const certDir = join(dir, 'certificates');
  const audit = join(dir, 'audit.sqlite');
  const original = initialImage(board, plan.seed);
  writeFileSync(image, original);
  const argv = [
    'erase',
    '--board',
    board.id,
    '--port',
    'emu',
    '--method',
    plan.method,
    '--json',
    '--emu-image',
    image,
    '--emu-seed',
    String(plan.seed),
    '--cert',
    certDir,
    '--sign-key',
    files.signKey,
    '--audit-db',
    audit,
    ...(plan.backup ? ['--backup', backup, '--recipient', files.backupPub] : ['--no-backup']),
    ...plan.faults.flatMap((f) => ['--emu-fault', f]),
    ...(plan.rdp ? ['--emu-rdp', '1'] : []),
    ...(plan.unlock ? ['--unlock'] : []),
    ...(plan.includeProtected ? ['--include-protected'] : []),
  ];
  const problems: string[] = [];
  let falseSuccess = false;
  let lostBackup = false;
  let run: { code: number; stdout: string; stderr: string };
  try {
    run = await runCliCaptured(main, argv);
  } catch (e) {
    run = { code: -1, stdout: '', stderr: `main threw: ${(e as Error).stack ?? String(e)}` };
    problems.push(`the CLI threw instead of returning an exit code: ${(e as Error).message}`);
  }
  let report: Record<string, unknown> | null = null;
  if (run.stdout.trim()) {
    try {
      report = JSON.parse(run.stdout) as Record<string, unknown>;
    } catch {
      problems.push('--json stdout is not one JSON object');
    }
  }
  const errorLine = /^poswipe: error: (.+)$/m.exec(run.stderr)?.[1]?.trim() ?? null;
  const after = existsSync(image) ? new Uint8Array(readFileSync(image)) : null;
  if (!after || after.length !== original.length) problems.push('the emulated flash image was not saved back whole');
  const certs = existsSync(certDir) ? readdirSync(certDir).filter((f) => f.endsWith('.cert.json')) : [];
  const uid = typeof report?.uid === 'string' ? report.uid : null;
  let reason: string | null = null;

  if (run.code === 0) {
    if (plan.faults.includes('fake-digests')) {
      problems.push('exit 0 on a terminal that erased nothing (fake-digests): the witness let a lying agent through');
      falseSuccess = true;
    }
    if (report?.verified !== true) {
      problems.push('exit 0 but the report does not say verified');
      falseSuccess = true;
    }
    if (after) {
      const bad = erasedEverywhere(after, original, board, plan, report);
      if (bad.length) {
        problems.push(...bad);
        falseSuccess = true;
      }
    }
    const certPath = typeof report?.certificate === 'string' ? report.certificate : null;
    if (!certPath || !existsSync(certPath)) {
      problems.push('exit 0 without a certificate file');
      falseSuccess = true;
    } else {
      const v = verifyCertificate(readFileSync(certPath), createPublicKey(readFileSync(files.signPub, 'utf8')));
      if (v.status !== 'valid') {
        problems.push(
          `the certificate does not verify: ${
            v.status === 'malformed'
              ? v.problem
              : v.checks
                  .filter((c) => !c.ok)
                  .map((c) => `${c.name}: ${c.detail}`)
                  .join('; ')
          }`,
        );
        falseSuccess = true;
      } else {
        const media = (v.certificate?.media ?? {}) as Record<string, unknown>;
        if (media.serialNumber !== uid || media.board !== board.id) {
          problems.push(`the certificate names ${String(media.board)} uid ${String(media.serialNumber)}, the run ${board.id} uid ${uid}`);
          falseSuccess = true;
        }
      }
    }
    if (certs.length !== 1) problems.push(`${certs.length} certificate files for one run`);
    if (plan.backup && !plan.unlock) {
      if (report?.backup !== backup) problems.push(`the report names backup ${String(report?.backup)}, expected ${backup}`);
      const p = existsSync(backup) ? await backupProblem(backup, files, board, original, uid) : 'no backup file after a verified run that asked for one';
      if (p) {
        problems.push(p);
        lostBackup = true;
      }
    }
  } else {
    if (![1, 3, 4].includes(run.code)) problems.push(`exit ${run.code}: not a documented outcome of a run with good inputs (1, 3 or 4)`);
    if (run.code === 1) {
      reason = typeof report?.reason === 'string' ? report.reason : null;
      if (report?.verified !== false) problems.push('exit 1 but the report does not say verified: false');
      if (!existsSync(certDir) || !readdirSync(certDir).some((f) => f.endsWith('.NOT-SANITIZED.json')))
        problems.push('exit 1 without a NOT-SANITIZED failure report');
    } else reason = errorLine;
    if (!reason || reason.length < 8) problems.push(`exit ${run.code} without a named reason (stderr: ${JSON.stringify(run.stderr.slice(-200))})`);
    if (certs.length) {
      problems.push(`a certificate was written for a run that exited ${run.code}: ${certs.join(', ')}`);
      falseSuccess = true;
    }
    if (run.code === 4 && after && !Buffer.from(after).equals(Buffer.from(original))) problems.push(`refused (exit 4: ${reason}) but the flash changed`);
    if (plan.backup && !plan.unlock && after) {
      if (existsSync(backup)) {
        const p = await backupProblem(backup, files, board, original, null);
        if (p) {
          problems.push(p);
          lostBackup = true;
        }
      } else {
        const changed = dataChanged(after, original, board);
        if (changed.length) {
          problems.push(`data region(s) ${changed.join(', ')} changed and there is no backup`);
          lostBackup = true;
        }
      }
    }
  }
  // the backup folder holds the backup or nothing: no partial file left behind
  const backupDir = join(dir, 'backups');
  if (existsSync(backupDir)) {
    const stray = readdirSync(backupDir).filter((f) => f !== 'terminal.pwbk');
    if (stray.length) problems.push(`left next to the backup: ${stray.join(', ')}`);
  }
  // one audit row, with the exit code
  if (run.code >= 0) {
    try {
      const db = new Database(audit, { readonly: true });
      try {
        const rows = db.prepare('SELECT exit_code AS code, reason FROM runs').all() as { code: number; reason: string | null }[];
        if (rows.length !== 1) problems.push(`${rows.length} audit rows for one run`);
        else if (rows[0].code !== run.code) problems.push(`the audit row says exit ${rows[0].code}, the run exited ${run.code}`);
      } finally {
        db.close();
      }
    } catch (e) {
      problems.push(`no audit row: ${(e as Error).message}`);
    }
  }
  if (problems.length)
    writeFileSync(
      join(dir, 'session.json'),
      JSON.stringify({ plan, argv, exit: run.code, problems, stdout: run.stdout, stderr: run.stderr.slice(-20000) }, null, 2),
    );
  else if (!keep) rmSync(dir, { recursive: true, force: true });
  return { plan, exit: run.code, reason, falseSuccess, lostBackup, problems, seconds: (Date.now() - t0) / 1000 };
}

interface WorkerInit {
  files: CampaignFiles;
  keep: boolean;
}

type ToWorker = { type: 'run'; seed: number } | { type: 'stop' };
type FromWorker = { type: 'ready' } | { type: 'done'; result: SessionResult };

function workerMain(): void {
  const init = workerData as WorkerInit;
  process.env.POSWIPE_CONFIG_DIR = init.files.configDir;
  delete process.env.POSWIPE_BACKUP_PASSPHRASE;
  delete process.env.POSWIPE_AUDIT_DB;
  const { main } = require('../host/cli/main') as { main: MainFn };
  const port = parentPort!;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'stop') {
      port.close();
      return;
    }
    void runSession(planSession(m.seed), init.files, main, init.keep).then((result) => port.postMessage({ type: 'done', result } satisfies FromWorker));
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

// ---------------------------------------------------------------------------------------------
// the campaign (main thread)

function emptyGroup(): GroupCounts {
  return { sessions: 0, verified: 0, failed: 0, exit: {}, violations: 0 };
}

function addTo(g: GroupCounts, r: SessionResult): void {
  g.sessions++;
  if (r.exit === 0) g.verified++;
  else g.failed++;
  g.exit[String(r.exit)] = (g.exit[String(r.exit)] ?? 0) + 1;
  if (r.problems.length) g.violations++;
}

/** A reason with its numbers taken out, so that like reasons count together. */
export function reasonClass(reason: string): string {
  return reason
    .replace(/\/[^\s:]+/g, '<path>')
    .replace(/0x[0-9a-f]+/gi, '<hex>')
    .replace(/\b[0-9a-f]{16,}\b/gi, '<hex>')
    .replace(/\b\d+(\.\d+)?\b/g, '<n>')
    .slice(0, 140);
}

function prepareFiles(workDir: string | undefined): CampaignFiles {
  const root = workDir ? resolve(workDir) : mkdtempSync(join(tmpdir(), 'poswipe-soak-'));
  mkdirSync(root, { recursive: true });
  const keys = join(root, 'keys');
  mkdirSync(keys, { recursive: true });
  const sign = existsSync(join(keys, 'sign.key.pem'))
    ? { privatePath: join(keys, 'sign.key.pem'), publicPath: join(keys, 'sign.pub.pem') }
    : writeNewKeyPair(join(keys, 'sign'), 'ed25519');
  const bk = existsSync(join(keys, 'backup.key.txt'))
    ? { privatePath: join(keys, 'backup.key.txt'), publicPath: join(keys, 'backup.pub.txt') }
    : writeNewAgeIdentity(join(keys, 'backup'));
  const configDir = join(root, 'config');
  mkdirSync(configDir, { recursive: true });
  return { root, signKey: sign.privatePath, signPub: sign.publicPath, backupKey: bk.privatePath, backupPub: bk.publicPath, configDir };
}

export async function runSoak(o: SoakOptions): Promise<SoakSummary> {
  const log = o.log ?? ((l: string) => void process.stderr.write(l + '\n'));
  const t0 = Date.now();
  const files = prepareFiles(o.workDir);
  const seeds = o.only ?? Array.from({ length: o.sessions }, (_, i) => sessionSeed(o.seed, i));
  const nWorkers = Math.max(1, Math.min(o.workers ?? Math.min(2, cpus().length), seeds.length));
  const results: SessionResult[] = [];
  let next = 0;
  let stoppedByTime = false;
  const deadline = t0 + o.maxSeconds * 1000;
  const workerFile = __filename;

  await new Promise<void>((resolveAll) => {
    let live = 0;
    const finish = (): void => {
      if (live === 0) resolveAll();
    };
    const startWorker = (): void => {
      const w = new Worker(workerFile, { workerData: { files, keep: o.keep ?? false } satisfies WorkerInit, stdout: true, stderr: true });
      // the worker's own stdout/stderr (captured per run, but anything else): drained, not shown
      w.stdout.resume();
      w.stderr.on('data', (d: Buffer) => o.verbose && process.stderr.write(d));
      live++;
      let current: number | null = null;
      let started = 0;
      let timer: NodeJS.Timeout | null = null;
      let dead = false;
      const giveNext = (): void => {
        if (timer) clearTimeout(timer);
        if (Date.now() >= deadline && next < seeds.length) stoppedByTime = true;
        if (next >= seeds.length || stoppedByTime) {
          current = null;
          w.postMessage({ type: 'stop' } satisfies ToWorker);
          return;
        }
        current = seeds[next++];
        started = Date.now();
        timer = setTimeout(() => {
          if (current === null) return;
          broken(`no answer after ${SESSION_TIMEOUT_S} s: the session hangs`);
          void w.terminate();
        }, SESSION_TIMEOUT_S * 1000);
        w.postMessage({ type: 'run', seed: current } satisfies ToWorker);
      };
      const broken = (why: string): void => {
        if (dead) return;
        dead = true;
        if (timer) clearTimeout(timer);
        if (current !== null) {
          const plan = planSession(current);
          record({ plan, exit: -1, reason: null, falseSuccess: false, lostBackup: false, problems: [why], seconds: (Date.now() - started) / 1000 });
          current = null;
          live--;
          startWorker(); // carry on with a fresh worker
          return;
        }
        live--;
        finish();
      };
      w.on('message', (m: FromWorker) => {
        if (m.type === 'ready') giveNext();
        else {
          record(m.result);
          giveNext();
        }
      });
      w.on('error', (e) => broken(`the worker died: ${e.stack ?? e.message}`));
      w.on('exit', () => {
        if (dead) return;
        if (current !== null) broken('the worker exited in the middle of a session');
        else {
          dead = true;
          live--;
          finish();
        }
      });
    };
    const record = (r: SessionResult): void => {
      results.push(r);
      if (o.verbose || r.problems.length) {
        const line = `session ${results.length} seed ${r.plan.seed}: ${r.plan.board} ${r.plan.method} [${r.plan.faults.join(' ')}${r.plan.rdp ? ` rdp=1${r.plan.unlock ? ' --unlock' : ''}` : ''}${r.plan.backup ? '' : ' --no-backup'}${r.plan.includeProtected ? ' --include-protected' : ''}] exit ${r.exit} ${r.seconds.toFixed(2)} s${r.reason ? `: ${r.reason}` : ''}`;
        log(r.problems.length ? `VIOLATION ${line}\n  ${r.problems.join('\n  ')}` : line);
      } else if (results.length % 500 === 0) log(`soak: ${results.length} sessions, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    };
    for (let i = 0; i < nWorkers; i++) startWorker();
  });

  const s: SoakSummary = {
    seed: o.seed,
    requested: seeds.length,
    sessions: results.length,
    verified: 0,
    failed: 0,
    falseSuccess: 0,
    lostBackups: 0,
    violations: [],
    violationDetails: [],
    outcomes: {},
    perFault: Object.fromEntries(FAULT_KINDS.map((k) => [k, emptyGroup()])),
    perBoard: {},
    perMethod: {},
    reasons: {},
    seconds: +((Date.now() - t0) / 1000).toFixed(1),
    sessionsPerSecond: 0,
    stoppedByTime,
    workers: nWorkers,
  };
  const order = new Map(seeds.map((x, i) => [x, i] as const));
  results.sort((a, b) => (order.get(a.plan.seed) ?? 0) - (order.get(b.plan.seed) ?? 0));
  for (const r of results) {
    if (r.exit === 0) s.verified++;
    else s.failed++;
    if (r.falseSuccess) s.falseSuccess++;
    if (r.lostBackup) s.lostBackups++;
    if (r.problems.length) {
      s.violations.push(r.plan.seed);
      s.violationDetails.push({
        seed: r.plan.seed,
        board: r.plan.board,
        method: r.plan.method,
        faults: [...r.plan.faults, ...(r.plan.rdp ? ['rdp=1'] : []), ...(r.plan.unlock ? ['--unlock'] : [])],
        exit: r.exit,
        problems: r.problems,
      });
    }
    s.outcomes[String(r.exit)] = (s.outcomes[String(r.exit)] ?? 0) + 1;
    for (const k of r.plan.kinds) addTo(s.perFault[k], r);
    addTo((s.perBoard[r.plan.board] ??= emptyGroup()), r);
    addTo((s.perMethod[r.plan.method] ??= emptyGroup()), r);
    if (r.exit !== 0) {
      const c = `exit ${r.exit}: ${reasonClass(r.reason ?? '(none)')}`;
      s.reasons[c] = (s.reasons[c] ?? 0) + 1;
    }
  }
  s.sessionsPerSecond = +(s.sessions / Math.max(0.001, s.seconds)).toFixed(2);
  if (!o.workDir && !o.keep && s.violations.length === 0) rmSync(files.root, { recursive: true, force: true });
  else log(`soak: session folders kept in ${files.root}`);
  return s;
}

// ---------------------------------------------------------------------------------------------
// the table

const EXIT_NAMES: Record<string, string> = {
  '0': 'verified',
  '1': 'verification failed',
  '2': 'bad input',
  '3': 'device or link error',
  '4': 'refused for safety',
  '-1': 'crashed or hung',
};

function groupTable(title: string, groups: Record<string, GroupCounts>): string[] {
  const codes = ['0', '1', '3', '4'];
  const extra = [...new Set(Object.values(groups).flatMap((g) => Object.keys(g.exit)))].filter((c) => !codes.includes(c)).sort();
  const cols = [...codes, ...extra];
  const lines = [`${title.padEnd(20)}${'sessions'.padStart(9)}${cols.map((c) => `exit ${c}`.padStart(9)).join('')}${'violations'.padStart(12)}`];
  for (const [k, g] of Object.entries(groups)) {
    if (!g.sessions) continue;
    lines.push(
      `${k.padEnd(20)}${String(g.sessions).padStart(9)}${cols.map((c) => String(g.exit[c] ?? 0).padStart(9)).join('')}${String(g.violations).padStart(12)}`,
    );
  }
  return lines;
}

export function formatSoak(s: SoakSummary): string {
  const lines: string[] = [];
  lines.push(
    `poswipe soak: seed ${s.seed}, ${s.sessions} of ${s.requested} session(s) in ${s.seconds} s (${s.sessionsPerSecond} per second, ${s.workers} worker(s))${s.stoppedByTime ? ' — stopped by --max-seconds' : ''}`,
  );
  lines.push('');
  lines.push('outcome                       sessions');
  for (const [code, n] of Object.entries(s.outcomes).sort())
    lines.push(`  exit ${code.padEnd(3)} ${(EXIT_NAMES[code] ?? '?').padEnd(21)}${String(n).padStart(8)}`);
  lines.push(`  false successes             ${String(s.falseSuccess).padStart(8)}`);
  lines.push(`  lost backups                ${String(s.lostBackups).padStart(8)}`);
  lines.push(`  sessions with violations    ${String(s.violations.length).padStart(8)}`);
  lines.push('');
  lines.push(...groupTable('fault', s.perFault));
  lines.push('');
  lines.push(...groupTable('board', s.perBoard));
  lines.push('');
  lines.push(...groupTable('method', s.perMethod));
  lines.push('');
  lines.push('most frequent reasons of failed sessions');
  for (const [r, n] of Object.entries(s.reasons)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15))
    lines.push(`${String(n).padStart(7)}  ${r}`);
  if (s.violationDetails.length) {
    lines.push('');
    lines.push('VIOLATIONS (replay one with --only <seed>)');
    for (const v of s.violationDetails) lines.push(`  seed ${v.seed}: ${v.board} ${v.method} [${v.faults.join(' ')}] exit ${v.exit}: ${v.problems.join('; ')}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// command line

function parseArgs(argv: string[]): SoakOptions & { json: boolean } {
  const o: SoakOptions & { json: boolean } = { sessions: 200, seed: 1, maxSeconds: 900, json: false };
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new Error(`${name} needs an integer >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--sessions') o.sessions = int(a, argv[++i], 1);
    else if (a === '--seed') o.seed = int(a, argv[++i], 0);
    else if (a === '--max-seconds') o.maxSeconds = int(a, argv[++i], 1);
    else if (a === '--workers') o.workers = int(a, argv[++i], 1);
    else if (a === '--only')
      o.only = [
        ...(o.only ?? []),
        ...String(argv[++i])
          .split(',')
          .map((x) => int(a, x, 0)),
      ];
    else if (a === '--work-dir') o.workDir = argv[++i];
    else if (a === '--json') o.json = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: npm run soak -- [--sessions <n>] [--seed <s>] [--json] [--max-seconds <t>] [--workers <n>] [--only <seed,...>] [--keep] [--verbose] [--work-dir <dir>]\n',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

async function cli(): Promise<void> {
  let o: ReturnType<typeof parseArgs>;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`soak: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const s = await runSoak(o);
  if (o.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
  else process.stdout.write(formatSoak(s) + '\n');
  process.exitCode = s.violations.length ? 1 : 0;
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.files) workerMain();
else if (require.main === module) void cli();
