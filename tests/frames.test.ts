import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressFrame,
  commandFrame,
  dataFrame,
  decodeAddressFrame,
  extendedEraseFrame,
  legacyEraseFrame,
  readLengthFrame,
  specialEraseFrame,
  stm32Crc32,
} from '../host/protocol/frames';

test('command frame is the code and its complement', () => {
  assert.deepEqual([...commandFrame(0x11)], [0x11, 0xee]);
  assert.deepEqual([...commandFrame(0x00)], [0x00, 0xff]);
  assert.deepEqual([...commandFrame(0x44)], [0x44, 0xbb]);
});

test('address frame: big-endian address and XOR (AN3155 example 0x08000000)', () => {
  assert.deepEqual([...addressFrame(0x08000000)], [0x08, 0x00, 0x00, 0x00, 0x08]);
  assert.deepEqual([...addressFrame(0x20003000)], [0x20, 0x00, 0x30, 0x00, 0x10]);
  assert.equal(decodeAddressFrame(addressFrame(0x1fff7a10)), 0x1fff7a10);
  const bad = addressFrame(0x08001234);
  bad[4] ^= 1;
  assert.equal(decodeAddressFrame(bad), null);
});

test('data frame: N-1, bytes, XOR of all', () => {
  assert.deepEqual([...dataFrame(Uint8Array.of(0x01, 0x02, 0x03, 0x04))], [0x03, 0x01, 0x02, 0x03, 0x04, 0x03 ^ 0x01 ^ 0x02 ^ 0x03 ^ 0x04]);
  const full = dataFrame(new Uint8Array(256).fill(0xaa));
  assert.equal(full.length, 258);
  assert.equal(full[0], 0xff);
  assert.equal(full[257], 0xff); // 0xFF ^ (256 × 0xAA: even count cancels)
  assert.throws(() => dataFrame(new Uint8Array(257)), RangeError);
  assert.throws(() => dataFrame(new Uint8Array(0)), RangeError);
});

test('read length frame is N-1 and its complement', () => {
  assert.deepEqual([...readLengthFrame(256)], [0xff, 0x00]);
  assert.deepEqual([...readLengthFrame(1)], [0x00, 0xff]);
});

test('extended erase frames', () => {
  // two sectors (1 and 2): N-1 = 0x0001, then 0x0001 0x0002, XOR
  assert.deepEqual([...extendedEraseFrame([1, 2])], [0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x01 ^ 0x01 ^ 0x02]);
  assert.deepEqual([...specialEraseFrame(0xffff)], [0xff, 0xff, 0x00]);
  assert.deepEqual([...specialEraseFrame(0xfffe)], [0xff, 0xfe, 0x01]);
  assert.throws(() => extendedEraseFrame([]), RangeError);
});

test('legacy erase frame names pages in one byte each', () => {
  assert.deepEqual([...legacyEraseFrame([0, 1, 2])], [0x02, 0x00, 0x01, 0x02, 0x02 ^ 0x01 ^ 0x02]);
  assert.throws(() => legacyEraseFrame([256]), RangeError);
});

/** CRC-32/MPEG-2 fed byte by byte, MSB first: an independent reference for the word-fed STM32 unit. */
function mpeg2(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c = (c ^ (byte << 24)) >>> 0;
    for (let i = 0; i < 8; i++) c = c & 0x80000000 ? ((c << 1) ^ 0x04c11db7) >>> 0 : (c << 1) >>> 0;
  }
  return c >>> 0;
}

test('STM32 CRC-32: the CRC unit vectors and the MPEG-2 reference', () => {
  assert.equal(mpeg2(Buffer.from('123456789')), 0x0376e6e7); // the catalogued check value
  // the unit fed one zero word from its reset value gives 0xC704DD7B
  assert.equal(stm32Crc32(new Uint8Array(4)), 0xc704dd7b);
  // a little-endian word is the same as its four bytes fed most significant first
  const text = Buffer.from('12345678');
  const swapped = Uint8Array.of(text[3], text[2], text[1], text[0], text[7], text[6], text[5], text[4]);
  assert.equal(stm32Crc32(swapped), mpeg2(text));
  assert.throws(() => stm32Crc32(new Uint8Array(3)), RangeError);
});
