/** The agent link codec (host/protocol/link.ts, docs/agent.md): frames, payloads, parameter block. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FRAME_OVERHEAD,
  FrameParser,
  MAX_PAYLOAD,
  crc32,
  decodeAccept,
  decodeClock,
  decodeData,
  decodeDone,
  decodeError,
  decodeHello,
  decodeParams,
  decodeProgress,
  decodeRead,
  decodeSignatureBlock,
  decodeStatus,
  encodeAccept,
  encodeClock,
  encodeData,
  encodeDone,
  encodeError,
  encodeFrame,
  encodeHello,
  encodeParams,
  encodeProgress,
  encodeRead,
  encodeSignatureBlock,
  encodeStatus,
  parseImageHeader,
  type AgentParams,
} from '../host/protocol/link';
import { fakeAgentImage } from './fake-agent';

/** What the parser still finds when the line goes quiet: partial frames time out one after the other. */
function drain(p: FrameParser): ReturnType<FrameParser['push']> {
  const out: ReturnType<FrameParser['push']> = [];
  while (p.partial) out.push(...p.expire());
  return out;
}

test('CRC-32 is IEEE 802.3 as zlib computes it: check value 0xCBF43926 for "123456789"', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('a frame: start byte, type, sequence, length LE, payload, CRC of type..payload LE', () => {
  const f = encodeFrame(0x85, 7, Uint8Array.of(1, 2, 3));
  assert.deepEqual([...f.subarray(0, 5)], [0xa5, 0x85, 7, 3, 0]);
  assert.deepEqual([...f.subarray(5, 8)], [1, 2, 3]);
  assert.equal(new DataView(f.buffer).getUint32(8, true), crc32(f.subarray(1, 8)));
  assert.equal(f.length, FRAME_OVERHEAD + 3);
  assert.throws(() => encodeFrame(2, 1, new Uint8Array(MAX_PAYLOAD + 1)), RangeError);
});

test('frames round-trip through the parser, byte by byte and in one piece', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ type: fc.integer({ min: 0, max: 255 }), seq: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 300 }) }), {
        maxLength: 6,
      }),
      (frames) => {
        const bytes = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.seq, f.payload)));
        const whole = new FrameParser().push(bytes);
        const p = new FrameParser();
        const single = [...bytes].flatMap((b) => p.push([b]));
        for (const got of [whole, single]) {
          assert.equal(got.length, frames.length);
          got.forEach((g, i) => {
            assert.equal(g.type, frames[i].type);
            assert.equal(g.seq, frames[i].seq);
            assert.deepEqual([...g.payload], [...frames[i].payload]);
          });
        }
      },
    ),
  );
});

test('a garbled byte drops exactly that frame and the parser finds the next one', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 2, maxLength: 5 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (payloads, which, flip) => {
        const frames = payloads.map((p, i) => encodeFrame(0x83, i + 1, p));
        const bad = which % frames.length;
        const at = (which >>> 3) % frames[bad].length;
        frames[bad][at] ^= flip;
        const p = new FrameParser();
        const got = [...p.push(Buffer.concat(frames)), ...drain(p)];
        // a garbled length may swallow what follows until the partial frame times out: expire() hunts again
        const seqs = got.map((g) => g.seq);
        assert.deepEqual(
          seqs,
          payloads.map((_, i) => i + 1).filter((s) => s !== bad + 1),
        );
      },
    ),
  );
});

test('noise before and between frames is skipped, including start bytes inside it', () => {
  const a = encodeFrame(0x81, 0, Uint8Array.of(9));
  const b = encodeFrame(0x87, 3);
  const p = new FrameParser();
  const got = p.push(Buffer.concat([Uint8Array.of(0x00, 0xa5, 0x13, 0xa5), a, Uint8Array.of(0xa5, 0xff, 0xff), b]));
  const rest = drain(p);
  assert.deepEqual(
    [...got, ...rest].map((f) => f.type).filter((t) => t === 0x81 || t === 0x87),
    [0x81, 0x87],
  );
});

test('a length over JOB_MAX is dropped at once', () => {
  const p = new FrameParser();
  const header = Uint8Array.of(0xa5, 0x02, 1, 0xff, 0xff);
  const good = encodeFrame(0x87, 1);
  assert.deepEqual(
    p.push(Buffer.concat([header, good])).map((f) => f.type),
    [0x87],
  );
  assert.ok(p.dropped >= 1);
});

test('payloads round-trip', () => {
  const sha = new Uint8Array(32).map((_, i) => i);
  const hello = {
    linkVersion: 1,
    abiVersion: 1,
    agentVersion: 3,
    coreClockHz: 16e6,
    moduleSha256: sha,
    jobMax: 12376,
    resultMax: 16488,
    kind: 'f4',
    flags: 1,
    imageCrc: 0xdeadbeef,
  };
  const h = decodeHello(encodeHello(hello));
  assert.deepEqual({ ...h, moduleSha256: [...h.moduleSha256] }, { ...hello, moduleSha256: [...sha] });
  assert.equal(encodeHello(hello).length, 72);
  assert.equal(decodeAccept(encodeAccept(1234)), 1234);
  assert.deepEqual(decodeProgress(encodeProgress(3, 64)), { kind: 3, value: 64 });
  assert.deepEqual(decodeDone(encodeDone({ status: 6, resultLength: 16488, blocks: 512 })), { status: 6, resultLength: 16488, blocks: 512 });
  const d = decodeData(encodeData(2048, Uint8Array.of(1, 2)));
  assert.deepEqual([d.offset, ...d.bytes], [2048, 1, 2]);
  assert.deepEqual(decodeRead(encodeRead(1024, 1024)), { offset: 1024, length: 1024 });
  assert.equal(decodeClock(encodeClock(168e6)), 168e6);
  assert.deepEqual(decodeStatus(encodeStatus({ state: 2, jobSeq: 9, status: 0, resultLength: 2136 })), { state: 2, jobSeq: 9, status: 0, resultLength: 2136 });
  assert.deepEqual(decodeError(encodeError(4, 5)), { reason: 4, detail: 5 });
  assert.throws(() => decodeDone(new Uint8Array(8)), /DONE payload of 8 bytes, expected 12/);
  const sig = new Uint8Array(64).fill(7);
  assert.deepEqual([...decodeSignatureBlock(encodeSignatureBlock(sig))!], [...sig]);
  assert.equal(decodeSignatureBlock(new Uint8Array(72)), null);
});

test('parameter block: 56 bytes (version 2, with the flash size) and its CRC; a flipped bit makes it invalid', () => {
  const params: AgentParams = {
    baud: 115200,
    coreClockHz: 16e6,
    usart: 0x40011000,
    usartClockRegister: 0x40023844,
    usartClockMask: 0x10,
    gpio: 0x40020000,
    gpioClockRegister: 0x40023830,
    gpioClockMask: 1,
    tx: 9,
    rx: 10,
    af: 7,
    idleTimeoutMs: 60000,
    flashSize: 0x100000,
  };
  const b = encodeParams(params);
  assert.equal(b.length, 56);
  assert.equal(new DataView(b.buffer).getUint32(48, true), 0x100000, 'the flash size at offset 48');
  assert.deepEqual(decodeParams(b), params);
  fc.assert(
    fc.property(fc.nat(56 * 8 - 1), (bit) => {
      const c = b.slice();
      c[bit >> 3] ^= 1 << (bit & 7);
      assert.equal(decodeParams(c), null);
    }),
  );
});

test('image header: the fields of docs/agent.md at 0x40', () => {
  const img = fakeAgentImage({ kind: 'l4', load: 0x20003100, size: 0x400, params: 0x20003500, ramEnd: 0x20017000, moduleSha256: new Uint8Array(32).fill(3) });
  const h = parseImageHeader(img);
  assert.equal(h.kind, 'l4');
  assert.equal(h.load, 0x20003100);
  assert.equal(h.size, 0x400);
  assert.equal(h.params, 0x20003500);
  assert.equal(h.ramEnd, 0x20017000);
  assert.equal(h.initialSp, 0x20017000);
  assert.equal(h.entry, (0x20003100 + 0x8c) | 1);
  img[0x40] ^= 1;
  assert.throws(() => parseImageHeader(img), /PWAG/);
});
