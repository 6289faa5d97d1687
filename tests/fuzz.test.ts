/**
 * A short run of every fuzz target of bench/fuzz.ts (fast-check), a few thousand cases in all. The
 * long run is `npm run fuzz -- --cases 100000`. POSWIPE_FUZZ_SEED picks another seed.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Buffer } from 'node:buffer';
import { InputError } from '../host/errors';
import { decryptBackup } from '../host/records/backup-age';
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

test('an age header cannot make a reader run scrypt at any cost it names', async () => {
  // a scrypt stanza asking for 2^22 (a 4 GiB, minutes-long derivation) is refused before scrypt runs
  const header = Buffer.from(
    `age-encryption.org/v1\n-> scrypt ${Buffer.alloc(16).toString('base64').replace(/=+$/, '')} 22\n${Buffer.alloc(32).toString('base64').replace(/=+$/, '')}\n--- ${Buffer.alloc(32).toString('base64').replace(/=+$/, '')}\n`,
  );
  let asked = false;
  const t0 = Date.now();
  await assert.rejects(
    decryptBackup(Buffer.concat([header, Buffer.alloc(64)]), { passphrase: () => ((asked = true), 'x') }, 'b.pwbk'),
    (e: Error) => e instanceof InputError && /work factor "22" is not 1 to 18/.test(e.message),
  );
  assert.equal(asked, false, 'the passphrase is not even asked for');
  assert.ok(Date.now() - t0 < 1000);
});
