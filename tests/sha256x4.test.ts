// The SIMD host build (build/host.wasm, asconfig target `host`): its four-lane SHA-256 kernel
// against node:crypto and the FIPS 180-4 example vectors, and its job ABI against the host's
// reference digests and the scalar terminal build, block for block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as abi from '../host/engine/abi';
import {
  checkModuleAbi,
  instantiateEngine,
  loadEngineModule,
  packageRoot,
  wasm,
  type EngineHal,
  type WasmGlobal,
  type WasmMemory,
} from '../host/engine/module';

const hostBytes = new Uint8Array(fs.readFileSync(path.join(packageRoot(), 'build', 'host.wasm')));
const hostModule = new wasm.Module(hostBytes);
const terminalModule = new wasm.Module(loadEngineModule('terminal'));

/** Deterministic pseudo-random bytes (xorshift32) so failures reproduce. */
function randomBytes(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The raw kernel: hash4(len) over the four lanes of a fresh instance. */
function kernel(): (messages: Uint8Array[]) => string[] {
  const noHal = { hal: { erase: () => 0, read: () => 0, program: () => 0, event: () => undefined } };
  const instance = new wasm.Instance(hostModule, noHal);
  const ex = instance.exports;
  const g = (name: string) => Number((ex[name] as WasmGlobal).value);
  const lanes = g('LANES');
  const stride = g('LANE_STRIDE');
  const max = g('HASH4_MAX');
  const out = g('DIGESTS4');
  const hash4 = ex.hash4 as (len: number) => number;
  return (messages) => {
    assert.equal(messages.length, 4);
    const len = messages[0].length;
    assert.ok(len <= max, `message of ${len} bytes exceeds HASH4_MAX ${max}`);
    const mem = new Uint8Array((ex.memory as WasmMemory).buffer);
    messages.forEach((m, k) => {
      assert.equal(m.length, len, 'the four lanes hash messages of one length');
      mem.set(m, lanes + k * stride);
    });
    assert.equal(hash4(len), 0);
    return messages.map((_, k) => hex(mem.subarray(out + 32 * k, out + 32 * k + 32)));
  };
}

test('host build: same ABI as the terminal module (imports, exports, areas)', () => {
  const info = checkModuleAbi(hostBytes);
  assert.equal(info.abiVersion, abi.ABI_VERSION);
  assert.ok(info.jobMax >= abi.JOB_MAX && info.resultMax >= abi.RESULT_MAX);
  const imports = wasm.Module.imports(hostModule)
    .map((i) => `${i.module}.${i.name}`)
    .sort();
  assert.deepEqual(imports, ['hal.erase', 'hal.event', 'hal.program', 'hal.read']);
});

test('hash4: FIPS 180-4 example vectors in every lane', () => {
  const hash = kernel();
  const vectors: [string, string][] = [
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
  ];
  for (const [text, want] of vectors) {
    const m = new Uint8Array(Buffer.from(text, 'latin1'));
    assert.deepEqual(hash([m, m, m, m]), [want, want, want, want], `"${text.slice(0, 16)}..." (${m.length} bytes)`);
  }
  // a vector in one lane, different messages of the same length in the others: lanes are independent
  const abc = new Uint8Array(Buffer.from('abc'));
  const got = hash([randomBytes(3, 1), randomBytes(3, 2), abc, randomBytes(3, 3)]);
  assert.equal(got[2], vectors[1][1]);
});

test('hash4: four different random messages per length, against node:crypto', () => {
  const hash = kernel();
  // every padding case (lengths around the 55/56 and 64-byte boundaries), block-digest lengths
  // (36-byte prefix + block), and random lengths up to the lane capacity
  const lengths = [1, 2, 31, 32, 54, 55, 56, 57, 63, 64, 65, 100, 119, 120, 121, 127, 128, 129, 191, 192, 256, 1000, 36 + 8, 36 + 100, 36 + 4096, 4152];
  let seed = 7;
  for (let i = 0; i < 24; i++) lengths.push(randomBytes(2, 1000 + i).reduce((a, b) => a * 256 + b, 0) % 4153);
  for (const len of lengths) {
    const messages = [0, 1, 2, 3].map(() => randomBytes(len, ++seed));
    assert.deepEqual(hash(messages), messages.map(sha256), `length ${len}`);
  }
});

// ---- the job ABI ----

const BASE = 0x08000000;

/** Flash as the HAL sees it: reads copy bytes, a read of `failReadAt` fails. */
function flashHal(bytes: Uint8Array, failReadAt = -1): EngineHal {
  return {
    erase: () => 0,
    program: () => 0,
    read(address, dst) {
      if (address === failReadAt) return 0xd1;
      const o = address - BASE;
      if (o < 0 || o + dst.length > bytes.length) return 0xd2;
      dst.set(bytes.subarray(o, o + dst.length));
      return 0;
    },
  };
}

function hashJob(hash: abi.Range[], blockSize: number, nonce: Uint8Array): Uint8Array {
  return abi.encodeJob({ ops: { hash: true }, blockSize, erasedValue: 0xff, pattern: null, erase: [], hash, program: [], nonce });
}

test("run: HASH jobs give the reference digests and the terminal build's result table", () => {
  const size = 512 * 1024;
  const flash = randomBytes(size, 42);
  // blank stretches, so that the blank bitmap is exercised too
  flash.fill(0xff, 4096 * 3, 4096 * 9);
  flash.fill(0xff, 4096 * 40, 4096 * 40 + 1000);
  const nonce = randomBytes(32, 5);
  const cases: { name: string; blockSize: number; hash: abi.Range[] }[] = [
    { name: 'four-block multiples', blockSize: 4096, hash: [{ address: BASE, size: 64 * 4096 }] },
    { name: 'one, two, three blocks left over', blockSize: 4096, hash: [1, 2, 3, 5, 6, 7].map((n, i) => ({ address: BASE + i * 16 * 4096, size: n * 4096 })) },
    {
      name: 'short last blocks between full ones',
      blockSize: 4096,
      hash: [
        { address: BASE, size: 5 * 4096 + 100 },
        { address: BASE + 20 * 4096, size: 2 * 4096 + 8 },
        { address: BASE + 40 * 4096, size: 4 * 4096 + 4095 },
        { address: BASE + 60 * 4096, size: 8 },
      ],
    },
    { name: 'small blocks', blockSize: 8, hash: [{ address: BASE + 12, size: 8 * 37 }] },
    { name: 'odd block size', blockSize: 1000, hash: [{ address: BASE + 4096 * 2, size: 1000 * 13 + 17 }] },
    { name: 'the most blocks', blockSize: 1024, hash: [{ address: BASE, size: 512 * 1024 }] },
  ];
  for (const c of cases) {
    const job = hashJob(c.hash, c.blockSize, nonce);
    const simd = instantiateEngine(hostModule, flashHal(flash)).runJob(job);
    const scalar = instantiateEngine(terminalModule, flashHal(flash)).runJob(job);
    assert.equal(simd.status, abi.STATUS_OK, c.name);
    const blocks = abi.blocksOf(c.hash, c.blockSize);
    assert.equal(simd.result.blockCount, blocks.length, c.name);
    blocks.forEach((b, i) => {
      const want = abi.expectedDigest(nonce, b.address, flash.subarray(b.address - BASE, b.address - BASE + b.size));
      assert.equal(hex(simd.result.digests[i]), hex(want), `${c.name}: block ${i} at 0x${b.address.toString(16)}`);
    });
    assert.deepEqual(simd.raw, scalar.raw, `${c.name}: result tables differ`);
  }
});

test('run: a failing read stops hashing with every earlier digest in place', () => {
  const flash = randomBytes(64 * 4096, 9);
  const nonce = randomBytes(32, 10);
  const job = hashJob([{ address: BASE, size: 64 * 4096 }], 4096, nonce);
  for (const failAt of [0, 1, 2, 3, 4, 6, 33]) {
    const simd = instantiateEngine(hostModule, flashHal(flash, BASE + failAt * 4096)).runJob(job);
    const scalar = instantiateEngine(terminalModule, flashHal(flash, BASE + failAt * 4096)).runJob(job);
    assert.equal(simd.status, abi.STATUS_HAL_READ);
    assert.equal(simd.result.blockCount, failAt);
    assert.equal(simd.result.failAddress, BASE + failAt * 4096);
    assert.deepEqual(simd.raw, scalar.raw, `read failing at block ${failAt}`);
  }
});

test('run: one instance, many jobs (no state carried from one run to the next)', () => {
  const flash = randomBytes(32 * 4096, 11);
  const nonce = randomBytes(32, 12);
  const simd = instantiateEngine(hostModule, flashHal(flash));
  const scalar = instantiateEngine(terminalModule, flashHal(flash));
  for (const n of [3, 1, 7, 2, 16, 5]) {
    const job = hashJob([{ address: BASE + 4096, size: n * 4096 - 24 }], 4096, nonce);
    assert.deepEqual(simd.runJob(job).raw, scalar.runJob(job).raw, `${n} blocks`);
  }
});
