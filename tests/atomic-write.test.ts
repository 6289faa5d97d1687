import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../host/files/atomic-write';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'poswipe-atomic-'));

test('replace: the new contents over the old, no temporary file left, missing folders made', () => {
  const dir = fresh();
  const file = join(dir, 'sub', 'image.bin');
  writeFileAtomic(file, Uint8Array.of(1, 2, 3), { replace: true });
  writeFileAtomic(file, 'second', { replace: true });
  assert.equal(readFileSync(file, 'utf8'), 'second');
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['image.bin']);
});

test('no replace: an existing file is refused with EEXIST and kept as it was; the mode is applied', () => {
  const dir = fresh();
  const file = join(dir, 'bench.key.pem');
  writeFileAtomic(file, 'first', { replace: false, mode: 0o600 });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.throws(
    () => writeFileAtomic(file, 'second', { replace: false }),
    (e: NodeJS.ErrnoException) => e.code === 'EEXIST',
  );
  assert.equal(readFileSync(file, 'utf8'), 'first');
  assert.deepEqual(readdirSync(dir), ['bench.key.pem']);
});

test('a target that cannot be replaced (a folder) fails and leaves no temporary file', () => {
  const dir = fresh();
  mkdirSync(join(dir, 'out'));
  writeFileSync(join(dir, 'out', 'inside'), 'x');
  assert.throws(() => writeFileAtomic(join(dir, 'out'), 'data', { replace: true }));
  assert.deepEqual(readdirSync(dir), ['out']);
});
