// Options with fixed values are checked by commander (.choices) before any command runs: exit 2,
// one line naming the value and the allowed ones, and nothing opened or written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers';

test('keys new --type rsa: exit 2 naming the allowed types, no key written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poswipe-choices-'));
  const r = runCli(['keys', 'new', '--out', join(dir, 'k'), '--type', 'rsa']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /'rsa' is invalid\. Allowed choices are ed25519, age, x25519\.$/m);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.equal(existsSync(join(dir, 'k.key.pem')), false);
});

test('erase --board auto --method shred and station --method shred: exit 2 before any port is opened', () => {
  for (const args of [
    ['erase', '--board', 'auto', '--port', '/dev/poswipe-no-such-port', '--method', 'shred'],
    ['station', '--port', 'emu', '--board', 'stm32f407', '--method', 'shred'],
  ]) {
    const r = runCli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /'shred' is invalid\. Allowed choices are clear, purge, dod3\./);
    assert.doesNotMatch(r.stderr, /no-such-port/);
  }
});
