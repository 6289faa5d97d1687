import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers';

/** A bench of its own: config directory (keys, audit database) and working directory in a temp folder. */
function bench(): { dir: string; cfg: string; run: (args: string[], env?: NodeJS.ProcessEnv) => ReturnType<typeof runCli> } {
  const dir = mkdtempSync(join(tmpdir(), 'poswipe-bench-'));
  const cfg = join(dir, 'cfg');
  const env = { POSWIPE_CONFIG_DIR: cfg, POSWIPE_AUDIT_DB: '', POSWIPE_BACKUP_PASSPHRASE: '', XDG_CONFIG_HOME: join(dir, 'xdg') };
  return { dir, cfg, run: (args, extra = {}) => runCli(args, { cwd: dir, env: { ...env, ...extra } }) };
}

const sha256 = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const files = (dir: string, suffix: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(suffix)) : []);

test("the README's quick start works with no options: certificate (JSON + PDF) written, bench key created and named", () => {
  const b = bench();
  const r = b.run(['erase', '--board', 'stm32f407', '--port', 'emu']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^VERIFIED/);
  assert.ok(r.stderr.includes(join(b.cfg, 'signing.key.pem')), r.stderr);
  assert.match(r.stderr, /declares no data regions: nothing to back up/);
  const certs = join(b.dir, 'certificates');
  assert.equal(files(certs, '.cert.json').length, 1);
  assert.equal(files(certs, '.cert.pdf').length, 1);
  const v = b.run(['cert', 'verify', join(certs, files(certs, '.cert.json')[0]), '--trust', join(b.cfg, 'signing.pub.pem')]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^VALID/);
});

test('audit log: one row per run, verified, refused (rdp=1 without --unlock, exit 4) and failed (stuck byte, exit 1)', () => {
  const b = bench();
  const ok = b.run(['erase', '--board', 'acme-t400', '--port', 'emu', '--json', '--operator-name', 'Dana Whitfield']);
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout);
  assert.equal(report.verified, true);
  assert.ok(existsSync(report.certificate) && existsSync(report.backup), ok.stdout);
  assert.match(ok.stderr, /backup\.key\.txt \(age X25519/);

  const refused = b.run(['erase', '--board', 'acme-t400', '--port', 'emu', '--emu-rdp', '1']);
  assert.equal(refused.code, 4, refused.stderr);
  assert.match(refused.stderr, /read-protected/);

  const failed = b.run(['erase', '--board', 'acme-t400', '--port', 'emu', '--method', 'clear', '--emu-fault', 'stuck@0x08012345', '--no-backup']);
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stdout, /NOT SANITIZED: no certificate; failure report/);
  const certs = join(b.dir, 'certificates');
  assert.equal(files(certs, '.cert.json').length, 1, 'only the verified run has a certificate');
  const reports = files(certs, '.NOT-SANITIZED.json');
  assert.equal(reports.length, 1);
  assert.equal(files(certs, '.NOT-SANITIZED.pdf').length, 1, 'and its PDF, marked NOT SANITIZED');
  assert.equal(files(certs, '.cert.pdf').length, 1);
  const fr = JSON.parse(readFileSync(join(certs, reports[0]), 'utf8'));
  assert.equal(fr.result, 'NOT SANITIZED');
  assert.equal(fr.signature, undefined);

  const list = b.run(['audit', 'list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout);
  assert.deepEqual(
    rows.map((x: { result: string; exitCode: number }) => [x.result, x.exitCode]),
    [
      ['ok', 0],
      ['refused', 4],
      ['failed', 1],
    ],
  );
  assert.equal(rows[0].operator, 'Dana Whitfield');
  assert.equal(rows[0].certificatePath, report.certificate);
  assert.equal(rows[0].certificateSha256, sha256(report.certificate));
  assert.equal(rows[0].backupSha256, sha256(report.backup));
  assert.match(rows[0].uid, /^[0-9a-f]{24}$/);
  assert.ok(rows[0].timings.total > 0 && rows[0].timings.backupLine > 0, JSON.stringify(rows[0].timings));
  assert.match(rows[1].reason, /read-protected/);
  assert.equal(rows[1].certificatePath, null);
  assert.match(rows[2].reason, /not blank/);
  assert.equal(rows[2].failureReportPath, join(certs, reports[0]));

  const csv = b.run(['audit', 'export', '--csv']);
  assert.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdout.trim().split('\r\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0], /^id,started,ended,command,board,port,pid,uid,operator/);
  const human = b.run(['audit', 'list']);
  assert.equal(
    human.stdout
      .trim()
      .split('\n')
      .filter((l) => /^\s*\d+ 20/.test(l)).length,
    3,
  );
});

test('cert verify from the command line: edited bytes exit 1 naming the check, not JSON exit 2, wrong key exit 1', () => {
  const b = bench();
  const e = b.run(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--json']);
  assert.equal(e.code, 0, e.stderr);
  const cert: string = JSON.parse(e.stdout).certificate;
  const trust = join(b.cfg, 'signing.pub.pem');
  const bytes = readFileSync(cert);
  const text = bytes.toString('utf8');
  const positions = [
    text.indexOf('"SANITIZED"') + 3,
    text.indexOf('"serialNumber"') + 20,
    text.indexOf('"value"') + 15,
    bytes.length - 40,
    text.indexOf('"nonce"') + 12,
  ];
  for (const p of positions) {
    const f = join(b.dir, `flip-${p}.json`);
    const copy = Buffer.from(bytes);
    copy[p] ^= 0x01;
    writeFileSync(f, copy);
    const r = b.run(['cert', 'verify', f, '--trust', trust]);
    assert.equal(r.code, 1, `byte ${p}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^INVALID/);
    assert.match(r.stdout, /FAILED (signature\.value|sections|layout|certificate\.result)/);
  }
  const broken = join(b.dir, 'broken.json');
  writeFileSync(broken, bytes.subarray(0, 100));
  const m = b.run(['cert', 'verify', broken, '--trust', trust]);
  assert.equal(m.code, 2, m.stdout + m.stderr);
  assert.match(m.stderr, /malformed: not valid JSON/);
  const other = b.run(['keys', 'new', '--out', join(b.dir, 'other')]);
  assert.equal(other.code, 0, other.stderr);
  const w = b.run(['cert', 'verify', cert, '--trust', join(b.dir, 'other.pub.pem')]);
  assert.equal(w.code, 1);
  assert.match(w.stdout, /FAILED signature\.keyId: signed by sha256:[0-9a-f]+, not by the trusted key/);
});

test('keys new writes a 0600 private key and a public key, refuses to overwrite; erase signs with --sign-key', () => {
  const b = bench();
  const prefix = join(b.dir, 'keys', 'bench1');
  const k = b.run(['keys', 'new', '--out', prefix]);
  assert.equal(k.code, 0, k.stderr);
  assert.equal(statSync(`${prefix}.key.pem`).mode & 0o777, 0o600);
  assert.match(readFileSync(`${prefix}.pub.pem`, 'utf8'), /BEGIN PUBLIC KEY/);
  const twice = b.run(['keys', 'new', '--out', prefix]);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /already exists/);
  const e = b.run(['erase', '--board', 'stm32f407', '--port', 'emu', '--method', 'clear', '--sign-key', `${prefix}.key.pem`, '--json', '--cert', 'out/certs']);
  assert.equal(e.code, 0, e.stderr);
  const cert = JSON.parse(e.stdout).certificate as string;
  assert.ok(cert.startsWith(join(b.dir, 'out', 'certs')));
  assert.doesNotMatch(e.stderr, /created the bench signing key/);
  assert.equal(b.run(['cert', 'verify', cert, '--trust', `${prefix}.pub.pem`]).code, 0);
  const x = b.run(['keys', 'new', '--out', join(b.dir, 'r'), '--type', 'x25519']);
  assert.equal(x.code, 0, x.stderr);
  const bad = b.run(['erase', '--board', 'stm32f407', '--port', 'emu', '--sign-key', join(b.dir, 'r.key.pem')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /x25519 key, expected ed25519/);
});
