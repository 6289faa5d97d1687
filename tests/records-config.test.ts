import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../host/errors';
import { applyOperatorOptions, configDir, parseOperatorConfig } from '../host/records/config';
import { AuditLog, newRow, toCsv } from '../host/records/audit';
import { benchKey, keyId } from '../host/records/keys';

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved: Record<string, string | undefined> = {};
  for (const k of Object.keys(vars)) {
    saved[k] = process.env[k];
    if (vars[k] === undefined) delete process.env[k];
    else process.env[k] = vars[k];
  }
  try {
    return fn();
  } finally {
    for (const k of Object.keys(saved)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

test('config directory: POSWIPE_CONFIG_DIR, else XDG_CONFIG_HOME/poswipe, else ~/.config/poswipe', () => {
  assert.equal(withEnv({ POSWIPE_CONFIG_DIR: '/x/cfg', XDG_CONFIG_HOME: '/y' }, configDir), '/x/cfg');
  assert.equal(withEnv({ POSWIPE_CONFIG_DIR: undefined, XDG_CONFIG_HOME: '/y' }, configDir), '/y/poswipe');
  assert.equal(withEnv({ POSWIPE_CONFIG_DIR: undefined, XDG_CONFIG_HOME: undefined }, configDir), join(homedir(), '.config', 'poswipe'));
});

test('operator settings: fields parsed, paths relative to the file, unknown fields and bad types refused, options override', () => {
  const c = parseOperatorConfig(
    JSON.stringify({ operator: { name: 'A', phone: '1' }, destination: { type: 'manufacturer' }, signKey: 'k/s.key.pem' }),
    '/etc/poswipe/poswipe.json',
  );
  assert.equal(c.operator.name, 'A');
  assert.equal(c.signKey, '/etc/poswipe/k/s.key.pem');
  assert.throws(
    () => parseOperatorConfig('{"operater": {}}', 'p.json'),
    (e: Error) => e instanceof InputError && /unknown field "operater"/.test(e.message),
  );
  assert.throws(() => parseOperatorConfig('{"operator": {"name": 3}}', 'p.json'), /operator\.name: expected a string/);
  assert.throws(() => parseOperatorConfig('{"destination": {"type": "moon"}}', 'p.json'), /destination\.type "moon"/);
  assert.throws(() => parseOperatorConfig('{', 'p.json'), /not valid JSON/);
  const o = applyOperatorOptions(c, { operatorName: 'B', destination: 'other', notes: 'n' });
  assert.equal(o.operator.name, 'B');
  assert.equal(o.operator.phone, '1');
  assert.equal(o.destination.type, 'other');
  assert.equal(o.notes, 'n');
});

test('bench keys are created once, private key 0600, then reused', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'poswipe-keys-')), 'cfg');
  withEnv({ POSWIPE_CONFIG_DIR: dir }, () => {
    const a = benchKey('signing');
    assert.equal(a.created, true);
    assert.equal(statSync(a.privatePath).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const b = benchKey('signing');
    assert.equal(b.created, false);
    assert.equal(keyId(a.privateKey), keyId(b.privateKey));
    assert.equal(benchKey('backup').privateKey.asymmetricKeyType, 'x25519');
  });
});

test('audit log: rows round-trip, CSV quotes and defuses formulas', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'poswipe-audit-')), 'a.sqlite');
  const log = AuditLog.open(path);
  log.append({
    ...newRow('erase', { board: 'acme-t400', uid: 'ab', reason: '=HYPERLINK("x"), "quoted"' }, '0.1.0'),
    result: 'ok',
    exitCode: 0,
    timings: { total: 1.5 },
  });
  log.close();
  const again = AuditLog.open(path);
  const rows = again.list();
  again.close();
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0].timings, { total: 1.5 });
  const csv = toCsv(rows).split('\r\n');
  assert.ok(csv[1].includes(`"'=HYPERLINK(""x""), ""quoted"""`), csv[1]);
  const file = join(mkdtempSync(join(tmpdir(), 'poswipe-audit-')), 'a-file');
  writeFileSync(file, 'x');
  assert.throws(
    () => AuditLog.open(join(file, 'audit.sqlite')),
    (e: Error) => e instanceof InputError && /audit database .*a-file is a file, not a folder/.test(e.message),
  );
});
