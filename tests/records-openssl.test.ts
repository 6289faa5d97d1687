/**
 * docs/records.md's recipe, run as written with Debian's openssl on a certificate poswipe wrote:
 * Ed25519 over the detached canonical bytes, no poswipe code in the check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers';
import { noOpenssl, opensslVerify } from './openssl';

test('a certificate checks with openssl alone: the recipe of docs/records.md accepts it and rejects one changed byte', { skip: noOpenssl }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'poswipe-openssl-'));
  const cfg = join(dir, 'cfg');
  const env = { POSWIPE_CONFIG_DIR: cfg, POSWIPE_AUDIT_DB: '', POSWIPE_AUDIT_URL: '', XDG_CONFIG_HOME: join(dir, 'xdg') };
  const e = runCli(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--json'], { cwd: dir, env });
  assert.equal(e.code, 0, e.stderr);
  const cert = JSON.parse(e.stdout).certificate as string;
  const stem = cert.replace(/\.json$/, '');
  const canonical = `${stem}.canonical.json`;
  const sig = `${stem}.sig`;
  assert.deepEqual(
    readdirSync(join(dir, 'certificates'))
      .sort()
      .map((f) => f.replace(/^.*\.cert\./, '*.cert.')),
    ['*.cert.canonical.json', '*.cert.json', '*.cert.pdf', '*.cert.sig'],
  );
  const pub = join(cfg, 'signing.pub.pem');

  const ok = opensslVerify(pub, canonical, sig);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /Signature Verified Successfully/);

  // the canonical file is the certificate itself (all but the signature's value), and the .sig is its value
  const doc = JSON.parse(readFileSync(cert, 'utf8'));
  const signed = JSON.parse(readFileSync(canonical, 'utf8'));
  assert.equal(readFileSync(sig).toString('hex'), doc.signature.value);
  delete doc.signature.value;
  assert.deepEqual(signed, doc);
  assert.equal(signed.certificate.result, 'SANITIZED');

  const bytes = readFileSync(canonical);
  for (const at of [0, Math.floor(bytes.length / 2), bytes.length - 1]) {
    const edited = Buffer.from(bytes);
    edited[at] ^= 0x01;
    const f = join(dir, `edited-${at}.json`);
    writeFileSync(f, edited);
    const bad = opensslVerify(pub, f, sig);
    assert.notEqual(bad.code, 0, `byte ${at} changed: ${bad.out}`);
    assert.match(bad.out, /Signature Verification Failure/);
  }
  // another key: refused
  const other = runCli(['keys', 'new', '--out', join(dir, 'other')], { cwd: dir, env });
  assert.equal(other.code, 0, other.stderr);
  assert.notEqual(opensslVerify(join(dir, 'other.pub.pem'), canonical, sig).code, 0);

  // cert verify checks the detached files too
  assert.equal(runCli(['cert', 'verify', cert, '--trust', pub], { cwd: dir, env }).code, 0);
  copyFileSync(sig, `${sig}.orig`);
  const s = readFileSync(sig);
  s[10] ^= 1;
  writeFileSync(sig, s);
  const v = runCli(['cert', 'verify', cert, '--trust', pub], { cwd: dir, env });
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, /FAILED detached: .*\.sig is not the document's signature/);
});
