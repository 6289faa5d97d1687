/**
 * The detached form of a signed document (a certificate, a handover manifest), written beside its
 * JSON file so that it can be checked with openssl alone (docs/records.md):
 *
 *   <name>.canonical.json   the exact bytes the Ed25519 signature covers: the canonical JSON
 *                           (RFC 8785) of the document without signature.value. It is the whole
 *                           record (every field but the signature's value), readable by any JSON tool.
 *   <name>.sig              the 64-byte Ed25519 signature, raw
 *
 *   openssl pkeyutl -verify -pubin -inkey signing.pub.pem -rawin -in <name>.canonical.json -sigfile <name>.sig
 *
 * `<name>` is the JSON file's name without `.json` (`…cert.json` → `…cert.canonical.json`, `…cert.sig`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { canonicalJson } from './canonical-json';
import type { Check } from './certificate';

export function detachedPaths(jsonPath: string): { canonical: string; sig: string } {
  const stem = jsonPath.replace(/\.json$/, '');
  return { canonical: `${stem}.canonical.json`, sig: `${stem}.sig` };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The signed bytes and the raw signature of a signed document's file text. */
export function detachedOf(text: string): { canonical: Buffer; sig: Buffer } {
  const doc = JSON.parse(text) as Record<string, unknown>;
  if (!isObj(doc.signature) || typeof doc.signature.value !== 'string') throw new TypeError('detachedOf: not a signed document');
  const { value, ...rest } = doc.signature;
  return { canonical: Buffer.from(canonicalJson({ ...doc, signature: rest }), 'utf8'), sig: Buffer.from(value as string, 'hex') };
}

/**
 * When the detached files are beside `jsonPath`, checks that they are the document's (one check,
 * `detached`); when they are not, no check (they are a convenience: the JSON file is the record).
 */
export function checkDetached(jsonPath: string, text: string): Check | null {
  const p = detachedPaths(jsonPath);
  const have = [p.canonical, p.sig].filter((f) => existsSync(f));
  if (!have.length) return null;
  let mine: { canonical: Buffer; sig: Buffer };
  try {
    mine = detachedOf(text);
  } catch {
    return { name: 'detached', ok: false, detail: 'the document has no signature value to compare the detached files with' };
  }
  const problems: string[] = [];
  if (!existsSync(p.canonical)) problems.push(`${p.canonical} is missing`);
  else if (!readFileSync(p.canonical).equals(mine.canonical)) problems.push(`${p.canonical} is not the document's canonical form`);
  if (!existsSync(p.sig)) problems.push(`${p.sig} is missing`);
  else if (!readFileSync(p.sig).equals(mine.sig)) problems.push(`${p.sig} is not the document's signature`);
  return problems.length
    ? { name: 'detached', ok: false, detail: problems.join('; ') }
    : { name: 'detached', ok: true, detail: 'the .canonical.json and .sig files beside it are the signed bytes and the signature' };
}
