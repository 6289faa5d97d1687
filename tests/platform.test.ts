import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 as nodeCrc32 } from 'node:zlib';
import { Buffer as ShimBuffer } from '../host/platform/browser/buffer';
import { createHash as shimCreateHash, randomBytes as shimRandomBytes } from '../host/platform/browser/crypto';
import { sha256 } from '../host/platform/browser/sha256';
import { crc32 } from '../host/protocol/link';

/** The browser build's stand-ins for node:crypto and Buffer agree with Node's own; the one CRC-32 (crc-32, in both builds) with zlib's. */
test('sha256 shim: FIPS vectors, every length around the block edges, incremental updates', () => {
  assert.equal(Buffer.from(sha256(new Uint8Array(0))).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(Buffer.from(sha256(new TextEncoder().encode('abc'))).toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const data = randomBytes(5000);
  for (let n = 0; n < 300; n++)
    assert.equal(Buffer.from(sha256(data.subarray(0, n))).toString('hex'), createHash('sha256').update(data.subarray(0, n)).digest('hex'), `length ${n}`);
  const h = shimCreateHash('sha256');
  for (let i = 0; i < data.length; i += 37) h.update(data.subarray(i, i + 37));
  assert.equal(h.digest('hex'), createHash('sha256').update(data).digest('hex'));
  assert.equal(shimCreateHash('sha256').update('x').update(String(7)).digest('hex'), createHash('sha256').update('x').update('7').digest('hex'));
  assert.equal(shimRandomBytes(70000).length, 70000);
});

test("the host's CRC-32 (the crc-32 package, in the CLI and the browser build) equals zlib's", () => {
  for (const n of [0, 1, 3, 64, 1000]) {
    const b = randomBytes(n);
    assert.equal(crc32(b), nodeCrc32(b));
  }
});

test('Buffer shim: the calls the core makes behave as Node Buffer', () => {
  // as the bundled core sees it: the global Buffer, typed as Node's
  const B = ShimBuffer as unknown as typeof Buffer;
  assert.ok(B.from('x') instanceof ShimBuffer);
  const a = B.alloc(8, 0xff);
  assert.deepEqual([...a], [...Buffer.alloc(8, 0xff)]);
  a.writeUInt32LE(0x08012345, 0);
  assert.equal(a.readUInt32LE(0), 0x08012345);
  assert.equal(a.toString('hex'), '452301 08ffffffff'.replace(' ', ''));
  assert.equal(B.from('00ff10', 'hex').toString('hex'), '00ff10');
  assert.equal(B.from('KEYSTORE', 'latin1').toString('latin1'), 'KEYSTORE');
  assert.equal(B.from('héllo').toString(), 'héllo');
  assert.equal(B.from('héllo').length, Buffer.from('héllo').length);
  const u = Uint8Array.of(1, 2, 3);
  const copy = B.from(u);
  u[0] = 9;
  assert.equal(copy[0], 1, 'from(Uint8Array) copies');
  assert.ok(copy.equals(Uint8Array.of(1, 2, 3)));
  assert.equal(B.compare(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), -1);
  assert.equal(B.concat([Uint8Array.of(1), Uint8Array.of(2, 3)]).toString('hex'), '010203');
  assert.equal(
    B.from(Uint8Array.of(1, 2, 3))
      .subarray(1)
      .readUInt16LE(0),
    0x0302,
  );
  assert.equal(B.from('aGk=', 'base64').toString(), 'hi');
});
