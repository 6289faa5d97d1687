/**
 * A short run of every fuzz target of bench/fuzz.ts (fast-check), a few thousand cases in all. The
 * long run is `npm run fuzz -- --cases 100000`. POSWIPE_FUZZ_SEED picks another seed.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Buffer } from 'node:buffer';
import { InputError } from '../host/errors';
import { MAGIC, parseBackup } from '../host/records/backup-format';
import { cleanupFuzz, runTarget, TARGETS, applyBytes, applyJson } from '../bench/fuzz';

const SEED = Number(process.env.POSWIPE_FUZZ_SEED ?? 20250101);
const CASES: Record<string, number> = { frames: 1500, client: 500, emulator: 500, boards: 400, image: 600, backup: 400, certificate: 300 };

after(() => cleanupFuzz());

test('the mutators change what they are told to and nothing else', () => {
  const src = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  assert.deepEqual([...applyBytes(src, [{ k: 'flip', pos: 9, bit: 0 }])], [1, 3, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...applyBytes(src, [{ k: 'truncate', pos: 3 }])], [1, 2, 3]);
  assert.deepEqual([...applyBytes(src, [{ k: 'delete', pos: 6, n: 5 }])], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...src], [1, 2, 3, 4, 5, 6, 7, 8], 'the source is left alone');
  const doc = { a: { b: '0x4000', c: [1, 2] } };
  assert.deepEqual(applyJson(doc, [{ k: 'tweak', path: 2, f: 2, d: 0 }]), { a: { b: '0x8000', c: [1, 2] } });
  assert.deepEqual(applyJson(doc, [{ k: 'delete', path: 4 }]), { a: { b: '0x4000', c: [2] } });
  assert.deepEqual(doc, { a: { b: '0x4000', c: [1, 2] } });
});

for (const t of TARGETS) {
  const cases = CASES[t.name] ?? 300;
  test(`fuzz ${t.name}: ${cases} cases: ${t.what}`, { timeout: 60_000 }, async () => {
    const r = await runTarget(t, { cases, seed: SEED });
    assert.ok(r.ok, `${t.name} failed (seed ${SEED}):\n${r.failure}`);
    assert.equal(r.cases, cases);
    // the target reached past its first check: not every case ended in the same way
    assert.ok(Object.keys(r.outcomes).length >= 2, `${t.name}: every case ended the same way: ${JSON.stringify(r.outcomes)}`);
  });
}

test(
  'a backup header cannot make a reader run scrypt at any cost it names',
  () => {
    const header = {
      format: 'poswipe-backup',
      version: 1,
      board: 'acme-t400',
      pid: '0x0413',
      uid: 'a1b2c3',
      created: '2025-01-01T00:00:00.000Z',
      tool: 'test',
      regions: [],
      plaintextBytes: 0,
      encryption: { cipher: 'aes-256-gcm', iv: '00'.repeat(12), key: { kind: 'scrypt', salt: '00'.repeat(16), N: 1 << 20, r: 32, p: 16 } },
    };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length);
    const bytes = Buffer.concat([Buffer.from(MAGIC), len, json, Buffer.alloc(16)]);
    assert.throws(() => parseBackup(bytes, 'b.pwbk'), InputError);
  },
);
