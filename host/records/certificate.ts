/**
 * The certificate of sanitization (docs/certificate.md): built from a verified EraseOutcome, the
 * board and the operator's settings, with every field of the NIST SP 800-88 Rev. 1 sample
 * certificate (Appendix G) that the tool can know; signed with Ed25519; verified byte for byte.
 *
 * The file is `{ "certificate": {...}, "signature": {...} }` written as pretty canonical JSON.
 * The signature covers the canonical JSON of the whole document without `signature.value`, so
 * every byte of the file is covered: content by the signature, layout by the rule that the file
 * must be exactly the pretty canonical form of what it holds.
 */
import { createHash, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { Board } from '../boards/types';
import type { EraseOutcome } from '../session/erase';
import { canonicalJson, prettyJson } from './canonical-json';
import { decodeRecordText, layoutDifference } from './canonical-text';
import { digestSentence, engineOf, flashSizeOf, keysNote, methodAsExecuted, regionRows, witnessOf } from './certificate-facts';
import { say } from './certificate-text';
import type { OperatorConfig, Person } from './config';
import { keyId } from './keys';
import { hex32, hexPid } from '../format/hex';

export const CERT_FORMAT = 'poswipe-certificate';
/**
 * 2: the method as executed, per-region verification, the engine only where it ran, the flash
 * sizes and the witness (issue 15). `cert verify` still accepts version 1 files (docs/records.md).
 */
export const CERT_VERSION = 2;
export const CERT_VERSIONS_ACCEPTED: readonly number[] = [1, 2];
export const SIGNS = 'canonical JSON (RFC 8785: sorted keys, no whitespace, UTF-8) of this whole document without signature.value';

export function toolVersion(): string {
  // build/host/records/ -> the package root
  return (require('../../../package.json') as { version: string }).version;
}

/** What the certificate says about the backup taken before the erase. */
export interface BackupRecord {
  taken: boolean;
  path: string | null;
  sha256: string | null;
  encryption: string | null;
  regions: { name: string; address: number; size: number; sha256: string }[];
  /** why there is no backup, or what it holds */
  note: string;
}

export interface CertificateInput {
  outcome: EraseOutcome;
  board: Board;
  operator: OperatorConfig;
  backup: BackupRecord;
  started: Date;
  ended: Date;
  /** erase or flash */
  command: string;
}

export type SectorResult = 'erased' | 'protected' | 'failed';

export interface SectorRow {
  index: number;
  address: string;
  size: number;
  bank: number;
  regions: string[];
  result: SectorResult;
}

function personOf(p: Person): Record<string, string | null> {
  return { name: p.name ?? null, title: p.title ?? null, organization: p.organization ?? null, location: p.location ?? null, phone: p.phone ?? null };
}

/** One row per sector of the board: erased, protected (left alone) or failed. */
export function sectorRows(outcome: EraseOutcome, board: Board): SectorRow[] {
  const rows: SectorRow[] = [];
  const failed = new Set(outcome.failedSectors.map((f) => f.index));
  const failedAddr = outcome.failedSectors.map((f) => f.address);
  const add = (s: { index: number; address: number; size: number; bank: number }, result: SectorResult): void => {
    const regions = board.regions.filter((r) => r.address < s.address + s.size && s.address < r.address + r.size).map((r) => `${r.name} (${r.kind})`);
    const isFailed = result === 'erased' && (failed.has(s.index) || failedAddr.some((a) => a >= s.address && a < s.address + s.size));
    rows.push({ index: s.index, address: hex32(s.address), size: s.size, bank: s.bank, regions, result: isFailed ? 'failed' : result });
  };
  for (const s of outcome.plan.sectors) add(s, 'erased');
  for (const s of outcome.plan.skipped) add(s.sector, 'protected');
  return rows.sort((a, b) => a.index - b.index);
}

function iso(d: Date): string {
  return d.toISOString();
}

/** The `certificate` object (unsigned) for a verified outcome. */
export function buildCertificate(i: CertificateInput): Record<string, unknown> {
  const o = i.outcome;
  const method = methodAsExecuted(o);
  const flashSize = flashSizeOf(o);
  const flashBytes = o.flashSize.found;
  const sectors = sectorRows(o, i.board);
  const digests = createHash('sha256');
  for (const b of o.blocks) digests.update(Buffer.from(b.digest, 'hex'));
  const sampled = o.verify === 'sample' && !o.coverage.everyBlock;
  return {
    format: CERT_FORMAT,
    version: CERT_VERSION,
    id: randomUUID(),
    title: 'Certificate of Sanitization',
    result: o.verified ? 'SANITIZED' : 'NOT SANITIZED',
    reason: o.verified ? undefined : (o.reason ?? 'not verified'),
    basis: say('basis'),
    person: personOf(i.operator.operator),
    media: {
      makeModel: i.board.name,
      board: i.board.id,
      inherits: i.board.inherits,
      productId: hexPid(o.identity.pid),
      serialNumber: o.identity.uid,
      serialNumberSource: say('serialNumberSource'),
      propertyNumber: i.operator.media.propertyNumber ?? null,
      mediaType: say('mediaType', { kib: flashBytes / 1024, base: hex32(i.board.flash.base) }),
      flashBytes,
      flashSize,
      source: i.operator.media.source ?? null,
      classification: i.operator.media.classification ?? null,
      dataBackedUp: i.backup.taken && i.backup.regions.length > 0 ? 'yes' : 'no backup',
      backupLocation: i.backup.path,
      backupSha256: i.backup.sha256,
      backupEncryption: i.backup.encryption,
      backupRegions: i.backup.regions.map((r) => ({ name: r.name, address: hex32(r.address), size: r.size, sha256: r.sha256 })),
      backupNote: i.backup.note,
    },
    sanitization: {
      methodType: method.methodType,
      methodUsed: method.methodUsed,
      method: o.method,
      methodDetails: method.methodDetails,
      unlocked: o.unlocked,
      passes: o.passes.map((p) => ({
        name: p.name,
        kind: p.kind,
        pattern: p.pattern ?? null,
        seed: p.seed ?? null,
        blocks: p.blocks,
        failed: p.failed.length,
        verified: p.verified,
      })),
      keys: {
        regions: o.keys.regions.map((r) => ({ address: hex32(r.address), size: r.size })),
        zeroized: o.keys.zeroized,
        note: keysNote(o),
      },
      readoutUnprotect: o.unlocked ? say('readoutUnprotect') : null,
      tool: { name: 'poswipe', version: toolVersion(), command: i.command },
      engine: engineOf(o),
      verification: {
        method: sampled ? 'quick sampling' : 'full',
        mode: o.verify,
        coverage: o.coverage,
        blockSize: o.blockSize,
        blocksChecked: o.blocks.length,
        blocksFailed: o.failed.length,
        retries: o.retries,
        check: o.verification,
        digest: digestSentence(o.verification),
        witness: witnessOf(o),
        nonce: o.nonce,
        digestsSha256: digests.digest('hex'),
      },
      notSanitizable: o.plan.notSanitizable.map((r) => ({ address: hex32(r.address), size: r.size, reason: say('notSanitizable') })),
      postSanitizationClassification: i.operator.postClassification ?? null,
      notes: i.operator.notes ?? null,
    },
    sectors,
    regions: regionRows(o, i.board),
    destination: { type: i.operator.destination.type ?? null, details: i.operator.destination.details ?? null },
    timing: {
      started: iso(i.started),
      ended: iso(i.ended),
      durationSeconds: +((i.ended.getTime() - i.started.getTime()) / 1000).toFixed(3),
      phases: o.timings,
      terminalPhases: o.terminalTimings,
    },
    link: o.wire,
    validation: { ...personOf(i.operator.validation), signature: null, date: null },
  };
}

/** The document without `signature.value`: what the signature covers. */
function signedPart(doc: { certificate: unknown; signature: Record<string, unknown> }): unknown {
  const { value: _value, ...rest } = doc.signature;
  return { ...doc, signature: rest };
}

function sectionDigests(cert: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(cert).sort()) if (cert[k] !== undefined) out[k] = createHash('sha256').update(canonicalJson(cert[k]), 'utf8').digest('hex');
  return out;
}

/** Signs a certificate object; returns the file's text (pretty canonical JSON). */
export function signCertificate(cert: Record<string, unknown>, privateKey: KeyObject, signedAt = new Date()): string {
  const pub = createPublicKey(privateKey);
  const signature: Record<string, unknown> = {
    algorithm: 'Ed25519',
    keyId: keyId(pub),
    publicKey: pub.export({ type: 'spki', format: 'pem' }) as string,
    signs: SIGNS,
    sections: sectionDigests(cert),
    signedAt: signedAt.toISOString(),
  };
  const doc = { certificate: cert, signature };
  signature.value = sign(null, Buffer.from(canonicalJson(signedPart(doc)), 'utf8'), privateKey).toString('hex');
  return prettyJson(doc);
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * The signature's key checks, for certificates and the other signed documents alike: the embedded
 * public key must be readable and match `keyId`, and `keyId` must be the trusted key's.
 */
export function checkSignerKey(sig: Record<string, unknown>, trusted: KeyObject, check: (name: string, ok: boolean, detail: string) => void): void {
  let embeddedId: string | null = null;
  try {
    if (typeof sig.publicKey === 'string') embeddedId = keyId(createPublicKey(sig.publicKey));
  } catch {
    embeddedId = null;
  }
  const trustedId = keyId(trusted);
  check(
    'signature.publicKey',
    embeddedId !== null && embeddedId === sig.keyId,
    embeddedId === null ? 'not a readable public key' : embeddedId === sig.keyId ? 'matches keyId' : `does not match keyId ${String(sig.keyId)}`,
  );
  check(
    'signature.keyId',
    sig.keyId === trustedId,
    sig.keyId === trustedId ? `the trusted key ${trustedId}` : `signed by ${String(sig.keyId)}, not by the trusted key ${trustedId}`,
  );
}

export type VerifyResult =
  { status: 'malformed'; problem: string } | { status: 'valid' | 'invalid'; checks: Check[]; certificate: Record<string, unknown> | null };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  return `line ${before.split('\n').length}, column ${pos - before.lastIndexOf('\n')}`;
}

/**
 * Checks a certificate file against a trusted public key. `malformed` when the file is not JSON
 * or not a certificate at all (exit 2); otherwise every check is listed, and the certificate is
 * valid only when all pass (exit 0, else exit 1).
 */
export function verifyCertificate(bytes: Uint8Array, trusted: KeyObject): VerifyResult {
  const decoded = decodeRecordText(bytes);
  if ('problem' in decoded) return { status: 'malformed', problem: decoded.problem };
  const text = decoded.text;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    return {
      status: 'malformed',
      problem: `not valid JSON${m ? ` at byte ${m[1]} (${lineCol(text, Number(m[1]))})` : ''}: ${(e as Error).message.replace(/ in JSON at position.*$/, '')}`,
    };
  }
  if (!isObj(doc) || (!('certificate' in doc) && !('signature' in doc)))
    return { status: 'malformed', problem: 'not a poswipe certificate (no "certificate" and "signature" fields)' };

  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string): boolean => {
    checks.push({ name, ok, detail });
    return ok;
  };
  const cert = isObj(doc.certificate) ? doc.certificate : null;
  const sig = isObj(doc.signature) ? doc.signature : null;
  const extra = Object.keys(doc).filter((k) => k !== 'certificate' && k !== 'signature');
  check(
    'document',
    cert !== null && sig !== null && extra.length === 0,
    cert === null
      ? '"certificate" is missing or not an object'
      : sig === null
        ? '"signature" is missing or not an object: this is not a signed certificate (a NOT SANITIZED failure report carries none)'
        : extra.length
          ? `unexpected field(s) ${extra.join(', ')}`
          : 'certificate and signature present',
  );

  // layout: the file must be exactly the pretty canonical form of what it holds
  const slip = layoutDifference(text, prettyJson(doc));
  check('layout', slip === null, slip ?? 'the file is byte for byte the canonical form');

  if (sig) {
    check('signature.algorithm', sig.algorithm === 'Ed25519', sig.algorithm === 'Ed25519' ? 'Ed25519' : `${JSON.stringify(sig.algorithm)} is not Ed25519`);
    check('signature.signs', sig.signs === SIGNS, sig.signs === SIGNS ? 'the documented scheme' : 'the description of what is signed was edited');
    checkSignerKey(sig, trusted, check);
    if (cert && isObj(sig.sections)) {
      const now = sectionDigests(cert);
      const recorded = sig.sections as Record<string, unknown>;
      const edited = Object.keys(now).filter((k) => recorded[k] !== now[k]);
      const removed = Object.keys(recorded).filter((k) => !(k in now));
      const parts = [
        ...edited.map((k) => (k in recorded ? `certificate.${k} was edited` : `certificate.${k} was added`)),
        ...removed.map((k) => `certificate.${k} was removed`),
      ];
      check('sections', parts.length === 0, parts.length ? parts.join('; ') : `${Object.keys(now).length} section digests match`);
    } else check('sections', false, 'signature.sections is missing');
    const value = typeof sig.value === 'string' && /^[0-9a-f]{128}$/.test(sig.value) ? Buffer.from(sig.value, 'hex') : null;
    if (!value) check('signature.value', false, 'not 64 bytes of lowercase hex');
    else {
      let ok = false;
      try {
        ok = verify(null, Buffer.from(canonicalJson(signedPart(doc as { certificate: unknown; signature: Record<string, unknown> })), 'utf8'), trusted, value);
      } catch {
        ok = false;
      }
      check(
        'signature.value',
        ok,
        ok
          ? 'Ed25519 signature valid for the trusted key'
          : 'the Ed25519 signature does not match the document (edited after signing, or signed by another key)',
      );
    }
  } else check('signature', false, 'missing');

  if (cert) {
    check(
      'certificate.result',
      cert.result === 'SANITIZED',
      cert.result === 'SANITIZED' ? 'SANITIZED' : `${JSON.stringify(cert.result)}: not a certificate of sanitization`,
    );
    const known = cert.format === CERT_FORMAT && typeof cert.version === 'number' && CERT_VERSIONS_ACCEPTED.includes(cert.version);
    check(
      'certificate.format',
      known,
      `${String(cert.format)} version ${String(cert.version)}${known ? '' : ` (accepted: ${CERT_FORMAT} versions ${CERT_VERSIONS_ACCEPTED.join(', ')})`}`,
    );
  }
  return { status: checks.every((c) => c.ok) ? 'valid' : 'invalid', checks, certificate: cert };
}

/** The failure report of a run that did not verify: never signed, marked NOT SANITIZED everywhere. */
export function buildFailureReport(i: CertificateInput, report: Record<string, unknown>): string {
  const o = i.outcome;
  return prettyJson({
    NOT_SANITIZED:
      'This terminal was NOT sanitized. This is a failure report, not a certificate: it carries no signature and must not be filed as proof of sanitization. Send the device to Destroy, or erase it again.',
    result: 'NOT SANITIZED',
    format: 'poswipe-failure-report',
    version: 1,
    reason: o.reason ?? 'not verified',
    board: i.board.id,
    makeModel: i.board.name,
    productId: hexPid(o.identity.pid),
    serialNumber: o.identity.uid,
    person: personOf(i.operator.operator),
    sectors: sectorRows(o, i.board),
    backup: { taken: i.backup.taken, path: i.backup.path, sha256: i.backup.sha256, note: i.backup.note },
    timing: { started: iso(i.started), ended: iso(i.ended) },
    tool: { name: 'poswipe', version: toolVersion(), command: i.command },
    report,
  });
}

/** What is known of a run that stopped with an error after it began to change the terminal. */
export interface StoppedRun {
  board: Board;
  operator: OperatorConfig;
  backup: BackupRecord;
  started: Date;
  ended: Date;
  command: string;
  /** the phase the session was in when it stopped (connect, backup, unlock, upload, keys, a pass name ...) */
  phase: string;
  pid: string | null;
  uid: string | null;
  reason: string;
  exitCode: number;
}

/**
 * The failure report of a run that stopped with an error (interrupted, the link lost, a file that
 * could not be written) after it began to change the terminal: the same format as buildFailureReport,
 * with no per-sector verdict, since none was reached.
 */
export function buildStoppedReport(i: StoppedRun): string {
  return prettyJson({
    NOT_SANITIZED:
      'This terminal was NOT sanitized. This is a failure report, not a certificate: it carries no signature and must not be filed as proof of sanitization. The run stopped before its verdict; the flash may be partly erased. Erase it again, or send the device to Destroy.',
    result: 'NOT SANITIZED',
    format: 'poswipe-failure-report',
    version: 1,
    reason: i.reason,
    stoppedDuring: i.phase,
    exitCode: i.exitCode,
    board: i.board.id,
    makeModel: i.board.name,
    productId: i.pid,
    serialNumber: i.uid,
    person: personOf(i.operator.operator),
    sectors: null,
    backup: { taken: i.backup.taken, path: i.backup.path, sha256: i.backup.sha256, note: i.backup.note },
    timing: { started: iso(i.started), ended: iso(i.ended) },
    tool: { name: 'poswipe', version: toolVersion(), command: i.command },
  });
}
