import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers';

function bench(): { dir: string; cfg: string; run: (args: string[], env?: NodeJS.ProcessEnv) => ReturnType<typeof runCli> } {
  const dir = mkdtempSync(join(tmpdir(), 'poswipe-age-'));
  const cfg = join(dir, 'cfg');
  const env = { POSWIPE_CONFIG_DIR: cfg, POSWIPE_AUDIT_DB: '', POSWIPE_AUDIT_URL: '', POSWIPE_BACKUP_PASSPHRASE: '', XDG_CONFIG_HOME: join(dir, 'xdg') };
  return { dir, cfg, run: (args, extra = {}) => runCli(args, { cwd: dir, env: { ...env, ...extra } }) };
}

test('keys new --type age, backup --recipient age1…, restore --key <identity>; an old-format backup is refused in one line', () => {
  const b = bench();
  const k = b.run(['keys', 'new', '--out', 'vault', '--type', 'age']);
  assert.equal(k.code, 0, k.stderr);
  assert.equal(statSync(join(b.dir, 'vault.key.txt')).mode & 0o777, 0o600);
  const identity = readFileSync(join(b.dir, 'vault.key.txt'), 'utf8');
  const recipient = readFileSync(join(b.dir, 'vault.pub.txt'), 'utf8').trim();
  assert.match(identity, /^# created: .*\n# public key: age1[0-9a-z]{58}\nAGE-SECRET-KEY-1[0-9A-Z]{58}\n$/);
  assert.ok(identity.includes(recipient));

  const img = join(b.dir, 'flash.bin');
  const bk = b.run(['backup', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--out', 'v.pwbk', '--recipient', recipient, '--json']);
  assert.equal(bk.code, 0, bk.stderr);
  assert.equal(JSON.parse(bk.stdout).encryption, 'age X25519 (1 recipient)');
  // this bench's own identity (none yet) does not open it: the message says what to give
  const none = b.run(['restore', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--in', 'v.pwbk']);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /--key <identity>/);
  const ok = b.run(['restore', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--in', 'v.pwbk', '--key', 'vault.key.txt']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^RESTORED/);

  // a recipient file works like the literal key; a PEM key is refused by name
  const byFile = b.run(['backup', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--out', 'f.pwbk', '--recipient', 'vault.pub.txt']);
  assert.equal(byFile.code, 0, byFile.stderr);
  writeFileSync(join(b.dir, 'old.pub.pem'), '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEA\n-----END PUBLIC KEY-----\n');
  const pem = b.run(['backup', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--out', 'p.pwbk', '--recipient', 'old.pub.pem']);
  assert.equal(pem.code, 2);
  assert.match(pem.stderr, /a PEM key, not an age recipient/);

  writeFileSync(
    join(b.dir, 'old.pwbk'),
    Buffer.concat([Buffer.from([0x89, 0x50, 0x57, 0x42, 0x4b, 0x0d, 0x0a, 0x1a]), Buffer.from('{"format":"poswipe-backup","version":1}')]),
  );
  const old = b.run(['restore', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--in', 'old.pwbk', '--key', 'vault.key.txt']);
  assert.equal(old.code, 2);
  assert.equal(old.stderr.trim().split('\n').length, 1, old.stderr);
  assert.match(old.stderr, /old\.pwbk: a poswipe backup in the old format \(version 1, AES-256-GCM\): this poswipe reads only age backups/);
});

test('a bench of the version 1 format keeps its X25519 key: backup.key.pem becomes the age identity, and --key takes the PEM too', () => {
  const b = bench();
  const k = b.run(['keys', 'new', '--out', join(b.cfg, 'backup'), '--type', 'x25519']);
  assert.equal(k.code, 0, k.stderr);
  const img = join(b.dir, 'flash.bin');
  const bk = b.run(['backup', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--out', 'b.pwbk']);
  assert.equal(bk.code, 0, bk.stderr);
  assert.match(bk.stderr, /created the bench backup identity .*backup\.key\.txt/);
  const byPem = b.run(['restore', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--in', 'b.pwbk', '--key', join(b.cfg, 'backup.key.pem')]);
  assert.equal(byPem.code, 0, byPem.stderr);
  const signing = b.run(['keys', 'new', '--out', 'sign']);
  assert.equal(signing.code, 0);
  const wrongKind = b.run(['restore', '--board', 'acme-t400', '--port', 'emu', '--emu-image', img, '--in', 'b.pwbk', '--key', 'sign.key.pem']);
  assert.equal(wrongKind.code, 2);
  assert.match(wrongKind.stderr, /a ed25519 key: backups take an age identity/);
});
