/**
 * A signed JSON document of the records other than the certificate (the handover manifest),
 * signed and checked the way a certificate is (docs/records.md):
 *
 *   { "<body>": {…}, "signature": { algorithm, keyId, publicKey, sections, signedAt, signs, value } }
 *
 * The signature is Ed25519 over the canonical JSON (RFC 8785) of the whole document without
 * signature.value; the file is that canonical form with a two-space indent and a final newline,
 * and must be byte for byte so (layout). `sections` holds the SHA-256 of each part of the body,
 * to say which part was edited. certificate.ts does the same for `certificate`.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, prettyJson } from './canonical-json';
import { decodeRecordText, layoutDifference } from './canonical-text';
import { SIGNS, checkSignerKey, type Check } from './certificate';
import { keyId } from './keys';

export type SignedVerify = { status: 'malformed'; problem: string } | { status: 'valid' | 'invalid'; checks: Check[]; body: Record<string, unknown> | null };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sectionDigests(body: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(body).sort()) if (body[k] !== undefined) out[k] = createHash('sha256').update(canonicalJson(body[k]), 'utf8').digest('hex');
  return out;
}

function signedPart(doc: Record<string, unknown>): unknown {
  const { value: _value, ...rest } = doc.signature as Record<string, unknown>;
  return { ...doc, signature: rest };
}

/** Signs `body` under the key `bodyKey`; returns the file's text. */
export function signDocument(bodyKey: string, body: Record<string, unknown>, privateKey: KeyObject, signedAt = new Date()): string {
  const pub = createPublicKey(privateKey);
  const signature: Record<string, unknown> = {
    algorithm: 'Ed25519',
    keyId: keyId(pub),
    publicKey: pub.export({ type: 'spki', format: 'pem' }) as string,
    signs: SIGNS,
    sections: sectionDigests(body),
    signedAt: signedAt.toISOString(),
  };
  const doc: Record<string, unknown> = { [bodyKey]: body, signature };
  signature.value = sign(null, Buffer.from(canonicalJson(signedPart(doc)), 'utf8'), privateKey).toString('hex');
  return prettyJson(doc);
}

/** The top-level body key of a signed document's text ("certificate", "handover"), or null. */
export function bodyKeyOf(bytes: Uint8Array): string | null {
  try {
    // a byte-order mark must not hide the kind of document: the verifier then refuses it by name
    const doc = JSON.parse(
      Buffer.from(bytes)
        .toString('utf8')
        .replace(/^\uFEFF/, ''),
    );
    if (!isObj(doc)) return null;
    return Object.keys(doc).find((k) => k !== 'signature') ?? null;
  } catch {
    return null;
  }
}

/**
 * Checks a signed document against a trusted key: every check listed, valid only when all pass.
 * `checkBody` adds the checks of the body itself (its format, version …).
 */
export function verifySignedDocument(
  bytes: Uint8Array,
  trusted: KeyObject,
  bodyKey: string,
  checkBody: (body: Record<string, unknown>) => Check[],
): SignedVerify {
  const decoded = decodeRecordText(bytes);
  if ('problem' in decoded) return { status: 'malformed', problem: decoded.problem };
  const text = decoded.text;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { status: 'malformed', problem: `not valid JSON: ${(e as Error).message}` };
  }
  if (!isObj(doc) || !(bodyKey in doc)) return { status: 'malformed', problem: `not a poswipe ${bodyKey} document (no "${bodyKey}" field)` };
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string): void => void checks.push({ name, ok, detail });
  const body = isObj(doc[bodyKey]) ? (doc[bodyKey] as Record<string, unknown>) : null;
  const sig = isObj(doc.signature) ? doc.signature : null;
  const extra = Object.keys(doc).filter((k) => k !== bodyKey && k !== 'signature');
  check(
    'document',
    body !== null && sig !== null && extra.length === 0,
    body === null
      ? `"${bodyKey}" is missing or not an object`
      : sig === null
        ? '"signature" is missing or not an object'
        : extra.length
          ? `unexpected field(s) ${extra.join(', ')}`
          : `${bodyKey} and signature present`,
  );
  const slip = layoutDifference(text, prettyJson(doc));
  check('layout', slip === null, slip ?? 'the file is byte for byte the canonical form');
  if (sig) {
    check('signature.algorithm', sig.algorithm === 'Ed25519', String(sig.algorithm));
    check('signature.signs', sig.signs === SIGNS, sig.signs === SIGNS ? 'the documented scheme' : 'the description of what is signed was edited');
    checkSignerKey(sig, trusted, check);
    if (body && isObj(sig.sections)) {
      const now = sectionDigests(body);
      const recorded = sig.sections as Record<string, unknown>;
      const parts = [
        ...Object.keys(now)
          .filter((k) => recorded[k] !== now[k])
          .map((k) => (k in recorded ? `${bodyKey}.${k} was edited` : `${bodyKey}.${k} was added`)),
        ...Object.keys(recorded)
          .filter((k) => !(k in now))
          .map((k) => `${bodyKey}.${k} was removed`),
      ];
      check('sections', parts.length === 0, parts.length ? parts.join('; ') : `${Object.keys(now).length} section digests match`);
    } else check('sections', false, 'signature.sections is missing');
    const value = typeof sig.value === 'string' && /^[0-9a-f]{128}$/.test(sig.value) ? Buffer.from(sig.value, 'hex') : null;
    let ok = false;
    if (value) {
      try {
        ok = verify(null, Buffer.from(canonicalJson(signedPart(doc)), 'utf8'), trusted, value);
      } catch {
        ok = false;
      }
    }
    check(
      'signature.value',
      ok,
      !value
        ? 'not 64 bytes of lowercase hex'
        : ok
          ? 'Ed25519 signature valid for the trusted key'
          : 'the Ed25519 signature does not match the document (edited after signing, or signed by another key)',
    );
  } else check('signature', false, 'missing');
  if (body) checks.push(...checkBody(body));
  return { status: checks.every((c) => c.ok) ? 'valid' : 'invalid', checks, body };
}
