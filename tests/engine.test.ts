// The erase engine (build/terminal.wasm and build/debug.wasm) against a JavaScript NOR flash,
// checked with node:crypto and the host references of host/engine/abi.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as abi from '../host/engine/abi';
import {
  ENGINE_EXPORTS,
  HAL_IMPORTS,
  checkModuleAbi,
  enginePath,
  instantiateEngine,
  loadEngineModule,
  wasm,
  type EngineBuild,
  type EngineHal,
  type EngineInstance,
  type WasmGlobal,
  type WasmMemory,
} from '../host/engine/module';
import type { Range } from '../host/boards/types';

const BUILDS: EngineBuild[] = ['terminal', 'debug'];
const FLASH_BASE = 0x08000000;

// ---- helpers ----

/** Deterministic pseudo-random bytes (xorshift32) so failures reproduce. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function randomFill(bytes: Uint8Array, seed: number): Uint8Array {
  const next = prng(seed);
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
  return bytes;
}

/** An in-memory NOR flash: erase sets a sector to the erased value, program ANDs bits. */
class NorFlash implements EngineHal {
  readonly bytes: Uint8Array;
  readonly events: [number, number][] = [];
  failEraseAt = -1;
  failReadAt = -1;
  failProgramAt = -1;
  calls = { erase: 0, read: 0, program: 0 };

  constructor(
    readonly base: number,
    size: number,
    readonly sectorSize: number,
    readonly erasedValue = 0xff,
    seed = 1,
  ) {
    this.bytes = randomFill(new Uint8Array(size), seed);
  }

  private offset(address: number, len: number): number {
    const o = address - this.base;
    return o >= 0 && o + len <= this.bytes.length ? o : -1;
  }

  erase(address: number, size: number): number {
    this.calls.erase++;
    if (address === this.failEraseAt) return 0xe1;
    const o = this.offset(address, size);
    if (o < 0 || size !== this.sectorSize || o % this.sectorSize !== 0) return 0xe2;
    this.bytes.fill(this.erasedValue, o, o + size);
    return 0;
  }

  read(address: number, dst: Uint8Array): number {
    this.calls.read++;
    if (address === this.failReadAt) return 0xd1;
    const o = this.offset(address, dst.length);
    if (o < 0) return 0xd2;
    dst.set(this.bytes.subarray(o, o + dst.length));
    return 0;
  }

  program(address: number, src: Uint8Array): number {
    this.calls.program++;
    if (address === this.failProgramAt) return 0xa1;
    const o = this.offset(address, src.length);
    if (o < 0 || address % 8 !== 0 || src.length % 8 !== 0) return 0xa2;
    for (let i = 0; i < src.length; i++) this.bytes[o + i] &= src[i];
    return 0;
  }

  event(kind: number, index: number): void {
    this.events.push([kind, index]);
  }

  at(address: number, size: number): Uint8Array {
    const o = this.offset(address, size);
    assert.ok(o >= 0, `0x${address.toString(16)}+${size} outside the mock flash`);
    return this.bytes.subarray(o, o + size);
  }

  isBlank(address: number, size: number): boolean {
    return this.at(address, size).every((b) => b === this.erasedValue);
  }
}

const nonceOf = (seed: number) => randomFill(new Uint8Array(abi.NONCE_SIZE), seed);

function jobSpec(over: Partial<abi.JobSpec>): abi.JobSpec {
  return {
    ops: {},
    blockSize: 4096,
    erasedValue: 0xff,
    pattern: null,
    erase: [],
    hash: [],
    program: [],
    nonce: nonceOf(99),
    ...over,
  };
}

const modules = new Map(BUILDS.map((b) => [b, new wasm.Module(loadEngineModule(b))]));

function engine(build: EngineBuild, flash: NorFlash): EngineInstance {
  return instantiateEngine(modules.get(build)!, flash);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Checks every digest and blank flag of `result` against the flash contents. */
function assertTableMatches(result: abi.ResultTable, flash: NorFlash, spec: abi.JobSpec, count?: number): void {
  const blocks = abi.blocksOf(spec.hash, spec.blockSize).slice(0, count);
  assert.equal(result.blockCount, blocks.length, 'block count');
  blocks.forEach((b, i) => {
    const bytes = flash.at(b.address, b.size);
    assert.equal(hex(result.digests[i]), hex(abi.expectedDigest(spec.nonce, b.address, bytes)), `digest of block ${i}`);
    assert.equal(result.blank[i], flash.isBlank(b.address, b.size), `blank flag of block ${i}`);
  });
  assert.equal(result.blankCount, result.blank.filter(Boolean).length);
}

// ---- the module ----

for (const build of BUILDS) {
  test(`${build}: imports are exactly hal.erase/read/program/event`, () => {
    const imports = wasm.Module.imports(modules.get(build)!);
    const names = imports.map((i) => `${i.module}.${i.name}:${i.kind}`).sort();
    assert.deepEqual(names, ['hal.erase:function', 'hal.event:function', 'hal.program:function', 'hal.read:function']);
    assert.ok(!imports.some((i) => i.module === 'env'), 'no env.* import (env.abort, env.trace, env.seed)');
    assert.deepEqual([...HAL_IMPORTS].sort(), ['erase', 'event', 'program', 'read']);
  });

  test(`${build}: exports are exactly the ABI's`, () => {
    const exports = wasm.Module.exports(modules.get(build)!);
    assert.deepEqual(Object.fromEntries(exports.map((e) => [e.name, e.kind])), ENGINE_EXPORTS, 'exports (name: kind) per docs/abi.md');
    assert.equal(exports.length, 7);
    const flash = new NorFlash(FLASH_BASE, 4096, 1024);
    const { instance, memory, job, result } = engine(build, flash);
    const g = (name: string) => Number((instance.exports[name] as WasmGlobal).value);
    assert.equal(g('ABI_VERSION'), abi.ABI_VERSION);
    assert.equal(g('JOB_MAX'), abi.JOB_MAX);
    assert.equal(g('RESULT_MAX'), abi.RESULT_MAX);
    assert.equal(g('JOB'), job);
    assert.equal(g('RESULT'), result);
    assert.equal((memory as WasmMemory).buffer.byteLength, 65536, 'one page of memory');
    assert.ok(job + abi.JOB_MAX <= result || result + abi.RESULT_MAX <= job, 'job and result areas apart');
    assert.ok(job % 8 === 0 && result % 8 === 0, 'areas 8-aligned');
    assert.throws(() => {
      (instance.exports.ABI_VERSION as WasmGlobal).value = 7;
    }, TypeError);
    const info = checkModuleAbi(loadEngineModule(build));
    assert.equal(info.abiVersion, abi.ABI_VERSION);
    assert.equal(info.job, job);
  });
}

test('terminal build fits in 8 KiB', () => {
  const size = fs.statSync(enginePath('terminal')).size;
  assert.ok(size <= 8192, `build/terminal.wasm is ${size} bytes`);
});

test('loadEngineModule finds both builds', () => {
  for (const build of BUILDS) {
    const bytes = loadEngineModule(build);
    assert.ok(bytes.length > 8);
    assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d]);
  }
  assert.throws(() => loadEngineModule('release' as EngineBuild), /unknown engine build/);
});

// A minimal hand-assembled module shaped like an engine, to exercise checkModuleAbi.
function fakeEngine(opts: { version: number; imports?: [string, string][]; omit?: string[] }): Uint8Array {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n !== 0) b |= 0x80;
      out.push(b);
    } while (n !== 0);
    return out;
  };
  const sleb = (n: number): number[] => {
    const out: number[] = [];
    for (;;) {
      const b = n & 0x7f;
      n >>= 7;
      if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
        out.push(b);
        return out;
      }
      out.push(b | 0x80);
    }
  };
  const str = (s: string) => [...leb(s.length), ...Buffer.from(s)];
  const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];
  const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const omit = new Set(opts.omit ?? []);
  const imports = opts.imports ?? HAL_IMPORTS.map((n) => ['hal', n] as [string, string]);
  const globals: [string, number][] = [
    ['ABI_VERSION', opts.version],
    ['JOB', 1024],
    ['RESULT', 16384],
    ['JOB_MAX', abi.JOB_MAX],
    ['RESULT_MAX', abi.RESULT_MAX],
  ];
  const exports: number[][] = [];
  if (!omit.has('memory')) exports.push([...str('memory'), 0x02, 0]);
  globals.forEach(([name], i) => {
    if (!omit.has(name)) exports.push([...str(name), 0x03, ...leb(i)]);
  });
  if (!omit.has('run')) exports.push([...str('run'), 0x00, ...leb(imports.length)]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, 0x00, 0x01, 0x7f]])), // type 0: () -> i32
    ...section(2, vec(imports.map(([m, n]) => [...str(m), ...str(n), 0x00, 0x00]))),
    ...section(3, vec([[0x00]])),
    ...section(5, vec([[0x01, 0x01, 0x01]])), // memory 1..1 pages
    ...section(6, vec(globals.map(([, v]) => [0x7f, 0x00, 0x41, ...sleb(v), 0x0b]))),
    ...section(7, vec(exports)),
    ...section(10, vec([[0x04, 0x00, 0x41, 0x00, 0x0b]])), // run: i32.const 0
  ];
  return new Uint8Array(bytes);
}

test('checkModuleAbi accepts a conforming module and explains what is wrong with others', () => {
  assert.equal(checkModuleAbi(fakeEngine({ version: abi.ABI_VERSION })).abiVersion, abi.ABI_VERSION);
  assert.throws(() => checkModuleAbi(fakeEngine({ version: 2 })), {
    message: `engine module ABI version 2, host speaks ${abi.ABI_VERSION}`,
  });
  // the version is reported first, even when the imports are foreign too
  assert.throws(
    () =>
      checkModuleAbi(
        fakeEngine({
          version: 2,
          imports: [
            ['env', 'abort'],
            ['hal', 'erase'],
          ],
        }),
      ),
    /engine module ABI version 2, host speaks 1/,
  );
  assert.throws(
    () =>
      checkModuleAbi(
        fakeEngine({
          version: 1,
          imports: [
            ['env', 'abort'],
            ['hal', 'erase'],
          ],
        }),
      ),
    /engine module imports env\.abort \(function\); only hal\.erase, hal\.read, hal\.program, hal\.event are allowed/,
  );
  assert.throws(() => checkModuleAbi(fakeEngine({ version: 1, omit: ['run'] })), /lacks the export run/);
  assert.throws(() => checkModuleAbi(fakeEngine({ version: 1, omit: ['ABI_VERSION'] })), /no ABI_VERSION global/);
  assert.throws(() => checkModuleAbi(new Uint8Array([1, 2, 3, 4])), /engine module does not compile/);
});

// ---- jobs ----

for (const build of BUILDS) {
  test(`${build}: ERASE|HASH over a random image: digests and blank flags`, () => {
    const flash = new NorFlash(FLASH_BASE, 64 * 1024, 2048, 0xff, 11);
    // a block that is blank except for one byte must not count as blank
    flash.at(FLASH_BASE + 2048 * 9, 2048).fill(0xff)[1000] = 0xfe;
    const spec = jobSpec({
      ops: { erase: true, hash: true },
      blockSize: 2048,
      erase: [3, 5, 6, 15].map((i) => ({ address: FLASH_BASE + 2048 * i, size: 2048 })),
      hash: [{ address: FLASH_BASE, size: 64 * 1024 }],
      nonce: nonceOf(5),
    });
    const { status, result } = engine(build, flash).runJob(abi.encodeJob(spec));
    assert.equal(status, abi.STATUS_OK);
    assert.equal(result.statusName, 'OK');
    assert.equal(result.erased, 4);
    assert.equal(result.programmed, 0);
    assert.equal(result.halStatus, 0);
    assert.equal(result.failAddress, 0);
    assertTableMatches(result, flash, spec);
    assert.deepEqual(
      result.blank.flatMap((b, i) => (b ? [i] : [])),
      [3, 5, 6, 15],
    );
    assert.equal(result.blankCount, 4);
    assert.deepEqual(flash.events, [...[0, 1, 2, 3].map((i) => [abi.EVENT_ERASED, i]), ...Array.from({ length: 32 }, (_, i) => [abi.EVENT_HASHED, i])]);
  });

  test(`${build}: blank check with erased value 0x00`, () => {
    const flash = new NorFlash(FLASH_BASE, 8192, 1024, 0x00, 3);
    const spec = jobSpec({
      ops: { erase: true, hash: true },
      blockSize: 1024,
      erasedValue: 0x00,
      erase: [{ address: FLASH_BASE + 1024, size: 1024 }],
      hash: [{ address: FLASH_BASE, size: 3 * 1024 + 13 }],
    });
    flash.at(FLASH_BASE + 3072, 13).fill(0);
    const { result } = engine(build, flash).runJob(abi.encodeJob(spec));
    assert.equal(result.status, abi.STATUS_OK);
    assert.deepEqual(result.blank, [false, true, false, true]);
    assertTableMatches(result, flash, spec);
  });

  test(`${build}: HASH only, random block sizes and ranges, partial last blocks`, () => {
    const flash = new NorFlash(FLASH_BASE, 256 * 1024, 4096, 0xff, 21);
    flash.at(FLASH_BASE + 40000, 9000).fill(0xff); // some blank stretches among the random data
    const next = prng(1234);
    const eng = engine(build, flash);
    for (let round = 0; round < 12; round++) {
      const blockSize = 8 * (1 + (next() % 512));
      const hash: Range[] = [];
      let blocks = 0;
      const want = 1 + (next() % 6);
      while (hash.length < want) {
        const size = 1 + (next() % Math.min(3 * blockSize + 100, 60000));
        const address = FLASH_BASE + (next() % (flash.bytes.length - size));
        const n = Math.ceil(size / blockSize);
        if (blocks + n > abi.MAX_BLOCKS) break;
        blocks += n;
        hash.push({ address, size });
      }
      const spec = jobSpec({ ops: { hash: true }, blockSize, hash, nonce: nonceOf(round) });
      assert.equal(abi.jobProblem(spec), null);
      const { status, result } = eng.runJob(abi.encodeJob(spec));
      assert.equal(status, abi.STATUS_OK, `round ${round}`);
      assertTableMatches(result, flash, spec);
    }
    // the maximum: 512 blocks of 4096 bytes
    const spec = jobSpec({ ops: { hash: true }, blockSize: 4096, hash: [{ address: FLASH_BASE, size: 256 * 1024 }] });
    const big = jobSpec({ ...spec, blockSize: 512 });
    const { result } = eng.runJob(abi.encodeJob(big));
    assert.equal(result.blockCount, 512);
    assertTableMatches(result, flash, big);
  });

  test(`${build}: PROGRAM constant, then HASH`, () => {
    const flash = new NorFlash(FLASH_BASE, 64 * 1024, 4096, 0xff, 4);
    flash.bytes.fill(0xff);
    const pattern: abi.PatternSpec = { kind: 'constant', value: 0xa5 };
    const program = [
      { address: FLASH_BASE, size: 12 * 1024 + 8 },
      { address: FLASH_BASE + 32 * 1024, size: 8 },
    ];
    const spec = jobSpec({ ops: { program: true, hash: true }, blockSize: 1024, pattern, program, hash: program });
    const { status, result } = engine(build, flash).runJob(abi.encodeJob(spec));
    assert.equal(status, abi.STATUS_OK);
    assert.equal(result.programmed, 2);
    for (const r of program) assert.equal(hex(flash.at(r.address, r.size)), hex(abi.patternBytes(pattern, r.address, r.size)));
    const blocks = abi.blocksOf(program, 1024);
    blocks.forEach((b, i) => {
      const expected = abi.patternBytes(pattern, b.address, b.size);
      assert.equal(hex(result.digests[i]), hex(abi.expectedDigest(spec.nonce, b.address, expected)), `block ${i}`);
    });
    assert.equal(result.blankCount, 0);
    assert.equal(flash.events.filter(([k]) => k === abi.EVENT_PROGRAMMED).length, 2);
  });

  test(`${build}: PROGRAM xoshiro128**, then HASH`, () => {
    const flash = new NorFlash(0x08100000, 64 * 1024, 4096, 0xff, 4);
    flash.bytes.fill(0xff);
    const pattern: abi.PatternSpec = { kind: 'xoshiro', seed: [0xdeadbeef, 0, 0x12345678, 0xffffffff] };
    const program = [
      { address: 0x08100000, size: 3 * 4096 + 520 }, // several 4 KiB chunks and a short one
      { address: 0x08108000, size: 64 },
      { address: 0x0810a008, size: 4096 },
    ];
    const spec = jobSpec({ ops: { program: true, hash: true }, blockSize: 4096, pattern, program, hash: program });
    const { status, result } = engine(build, flash).runJob(abi.encodeJob(spec));
    assert.equal(status, abi.STATUS_OK);
    assert.equal(result.programmed, 3);
    for (const r of program) assert.equal(hex(flash.at(r.address, r.size)), hex(abi.patternBytes(pattern, r.address, r.size)));
    let i = 0;
    for (const r of program) {
      const bytes = abi.patternBytes(pattern, r.address, r.size);
      for (const b of abi.blocksOf([r], 4096)) {
        const o = b.address - r.address;
        const digest = abi.expectedDigest(spec.nonce, b.address, bytes.subarray(o, o + b.size));
        assert.equal(hex(result.digests[i]), hex(digest), `block ${i}`);
        i++;
      }
    }
    assert.equal(i, result.blockCount);
  });

  test(`${build}: PROGRAM|ERASE|HASH leaves the sectors blank`, () => {
    const flash = new NorFlash(FLASH_BASE, 32 * 1024, 8192, 0xff, 8);
    const sectors = [0, 1, 2, 3].map((i) => ({ address: FLASH_BASE + 8192 * i, size: 8192 }));
    const spec = jobSpec({
      ops: { program: true, erase: true, hash: true },
      pattern: { kind: 'xoshiro', seed: [1, 2, 3, 4] },
      erase: sectors,
      program: sectors,
      hash: sectors,
    });
    const { result } = engine(build, flash).runJob(abi.encodeJob(spec));
    assert.equal(result.status, abi.STATUS_OK);
    assert.equal(result.programmed, 4);
    assert.equal(result.erased, 4);
    assert.equal(result.blankCount, 8);
    assertTableMatches(result, flash, spec);
    // order of events: all programs, all erases, then the hashes
    assert.deepEqual(
      flash.events.map(([k]) => k),
      [...Array(4).fill(abi.EVENT_PROGRAMMED), ...Array(4).fill(abi.EVENT_ERASED), ...Array(8).fill(abi.EVENT_HASHED)],
    );
  });

  test(`${build}: a HAL erase failure stops the job with HAL_ERASE and the address`, () => {
    const flash = new NorFlash(FLASH_BASE, 16 * 1024, 2048, 0xff, 6);
    const erase = [0, 1, 2, 3].map((i) => ({ address: FLASH_BASE + 2048 * i, size: 2048 }));
    flash.failEraseAt = FLASH_BASE + 2048 * 2;
    const spec = jobSpec({ ops: { erase: true, hash: true }, blockSize: 2048, erase, hash: erase });
    const { status, result } = engine(build, flash).runJob(abi.encodeJob(spec));
    assert.equal(status, abi.STATUS_HAL_ERASE);
    assert.equal(result.statusName, 'HAL_ERASE');
    assert.equal(result.halStatus, 0xe1);
    assert.equal(result.failAddress, FLASH_BASE + 4096);
    assert.equal(result.erased, 2);
    assert.equal(result.blockCount, 0);
    assert.equal(flash.calls.read, 0, 'no hashing after the failure');
    // a range that is not one sector is refused by this HAL, and reported the same way
    const bad = jobSpec({ ops: { erase: true }, erase: [{ address: FLASH_BASE + 100, size: 2048 }] });
    const again = engine(build, new NorFlash(FLASH_BASE, 16 * 1024, 2048)).runJob(abi.encodeJob(bad));
    assert.equal(again.status, abi.STATUS_HAL_ERASE);
    assert.equal(again.result.halStatus, 0xe2);
    assert.equal(again.result.failAddress, FLASH_BASE + 100);
  });

  test(`${build}: a HAL read failure mid-hash keeps the blocks hashed so far`, () => {
    const flash = new NorFlash(FLASH_BASE, 64 * 1024, 4096, 0xff, 9);
    flash.at(FLASH_BASE, 1024).fill(0xff);
    const spec = jobSpec({ ops: { hash: true }, blockSize: 64, hash: [{ address: FLASH_BASE, size: 100 * 64 }] });
    flash.failReadAt = FLASH_BASE + 64 * 70;
    const { status, result, raw } = engine(build, flash).runJob(abi.encodeJob(spec));
    assert.equal(status, abi.STATUS_HAL_READ);
    assert.equal(result.halStatus, 0xd1);
    assert.equal(result.failAddress, FLASH_BASE + 64 * 70);
    assert.equal(raw.length, abi.resultSize(70));
    assertTableMatches(result, flash, spec, 70);
    assert.equal(result.blankCount, 16);
  });

  test(`${build}: a HAL program failure reports the range address`, () => {
    const flash = new NorFlash(FLASH_BASE, 64 * 1024, 4096, 0xff, 9);
    const program = [0, 1, 2].map((i) => ({ address: FLASH_BASE + 16384 * i, size: 16384 }));
    flash.failProgramAt = FLASH_BASE + 16384 + 8192; // third chunk of the second range
    const spec = jobSpec({
      ops: { program: true, erase: true },
      pattern: { kind: 'constant', value: 0 },
      program,
      erase: [{ address: FLASH_BASE, size: 4096 }],
    });
    const { status, result } = engine(build, flash).runJob(abi.encodeJob(spec));
    assert.equal(status, abi.STATUS_HAL_PROGRAM);
    assert.equal(result.programmed, 1);
    assert.equal(result.erased, 0);
    assert.equal(result.halStatus, 0xa1);
    assert.equal(result.failAddress, FLASH_BASE + 16384);
  });

  test(`${build}: addresses above 2 GiB stay unsigned`, () => {
    const flash = new NorFlash(0x90000000, 16 * 1024, 4096, 0xff, 12);
    const spec = jobSpec({
      ops: { erase: true, hash: true },
      blockSize: 4096,
      erase: [{ address: 0x90001000, size: 4096 }],
      hash: [{ address: 0x90000000, size: 16 * 1024 }],
    });
    const { result } = engine(build, flash).runJob(abi.encodeJob(spec));
    assert.equal(result.status, abi.STATUS_OK);
    assertTableMatches(result, flash, spec);
    assert.deepEqual(result.blank, [false, true, false, false]);
  });

  test(`${build}: bad magic, bad version, bad jobs, too many blocks`, () => {
    const flash = new NorFlash(FLASH_BASE, 64 * 1024, 4096);
    const eng = engine(build, flash);
    const good = jobSpec({ ops: { hash: true }, blockSize: 4096, hash: [{ address: FLASH_BASE, size: 8192 }] });
    const patched = (offset: number, value: number) => {
      const bytes = abi.encodeJob(good);
      new DataView(bytes.buffer).setUint32(offset, value, true);
      return bytes;
    };
    const expectStatus = (bytes: Uint8Array, status: number, what: string) => {
      const { result, raw } = eng.runJob(bytes);
      assert.equal(result.status, status, what);
      assert.equal(result.statusName, abi.STATUS_NAMES[status]);
      if (status !== abi.STATUS_OK) {
        assert.equal(result.blockCount, 0, what);
        assert.equal(raw.length, abi.RESULT_HEADER_SIZE);
      }
    };
    expectStatus(abi.encodeJob(good), abi.STATUS_OK, 'good job');
    expectStatus(patched(abi.JOB_OFF_MAGIC, 0x424a5751), abi.STATUS_BAD_MAGIC, 'magic');
    expectStatus(patched(abi.JOB_OFF_VERSION, 2), abi.STATUS_BAD_VERSION, 'version 2');
    expectStatus(patched(abi.JOB_OFF_VERSION, 0), abi.STATUS_BAD_VERSION, 'version 0');
    expectStatus(patched(abi.JOB_OFF_OPS, 8 | abi.OP_HASH), abi.STATUS_BAD_JOB, 'unknown op bit');
    expectStatus(patched(abi.JOB_OFF_PATTERN_KIND, 2), abi.STATUS_BAD_JOB, 'pattern kind 2');
    expectStatus(patched(abi.JOB_OFF_ERASE_COUNT, 513), abi.STATUS_BAD_JOB, 'E = 513');
    expectStatus(patched(abi.JOB_OFF_HASH_COUNT, 0xffffffff), abi.STATUS_BAD_JOB, 'H huge');
    const cases: [string, Partial<abi.JobSpec>, number][] = [
      ['block size 4', { blockSize: 4 }, abi.STATUS_BAD_JOB],
      ['block size 12', { blockSize: 12 }, abi.STATUS_BAD_JOB],
      ['block size 8192', { blockSize: 8192 }, abi.STATUS_BAD_JOB],
      ['empty hash range', { hash: [{ address: FLASH_BASE, size: 0 }] }, abi.STATUS_BAD_JOB],
      ['range past 4 GiB', { hash: [{ address: 0xfffff000, size: 0x2000 }] }, abi.STATUS_BAD_JOB],
      ['misaligned program address', { program: [{ address: FLASH_BASE + 4, size: 8 }] }, abi.STATUS_BAD_JOB],
      ['misaligned program size', { program: [{ address: FLASH_BASE, size: 12 }] }, abi.STATUS_BAD_JOB],
      ['513 blocks', { blockSize: 8, hash: [{ address: FLASH_BASE, size: 8 * 513 }] }, abi.STATUS_TOO_MANY_BLOCKS],
      [
        '2 x 257 blocks',
        {
          blockSize: 64,
          hash: [
            { address: FLASH_BASE, size: 64 * 257 },
            { address: FLASH_BASE, size: 64 * 256 + 1 },
          ],
        },
        abi.STATUS_TOO_MANY_BLOCKS,
      ],
      ['huge range', { blockSize: 8, hash: [{ address: 0, size: 0xffffffff }] }, abi.STATUS_TOO_MANY_BLOCKS],
      ['exactly 512 blocks', { blockSize: 128, hash: [{ address: FLASH_BASE, size: 128 * 512 }] }, abi.STATUS_OK],
    ];
    for (const [what, over, status] of cases) {
      const spec = { ...good, ...over };
      expectStatus(abi.encodeJob(spec), status, what);
      assert.equal(abi.jobProblem(spec)?.status ?? abi.STATUS_OK, status, `jobProblem: ${what}`);
    }
    assert.equal(flash.calls.erase + flash.calls.program, 0);
  });

  test(`${build}: consecutive runs on one instance do not leak state`, () => {
    const flash = new NorFlash(FLASH_BASE, 64 * 1024, 4096, 0xff, 30);
    const eng = engine(build, flash);
    const big = jobSpec({ ops: { hash: true }, blockSize: 128, hash: [{ address: FLASH_BASE, size: 128 * 500 }] });
    const small = jobSpec({ ops: { hash: true }, blockSize: 4096, hash: [{ address: FLASH_BASE + 4096, size: 5000 }] });
    const first = eng.runJob(abi.encodeJob(small)).raw;
    eng.runJob(abi.encodeJob(big));
    flash.failReadAt = FLASH_BASE + 128 * 3;
    assert.equal(eng.runJob(abi.encodeJob(big)).status, abi.STATUS_HAL_READ);
    flash.failReadAt = -1;
    const again = eng.runJob(abi.encodeJob(small));
    assert.equal(hex(again.raw), hex(first));
    assertTableMatches(again.result, flash, small);
  });
}

// ---- host side of the ABI ----

test('encodeJob lays out the job as docs/abi.md says', () => {
  const nonce = nonceOf(77);
  const spec = jobSpec({
    ops: { program: true, erase: true, hash: true },
    blockSize: 2048,
    erasedValue: 0xff,
    pattern: { kind: 'xoshiro', seed: [1, 0x80000000, 3, 0xffffffff] },
    erase: [{ address: 0x08000000, size: 0x4000 }],
    hash: [
      { address: 0x08000000, size: 0x4000 },
      { address: 0x08004000, size: 100 },
    ],
    program: [{ address: 0x08008000, size: 0x800 }],
    nonce,
  });
  const bytes = abi.encodeJob(spec);
  assert.equal(bytes.length, 88 + 8 * 4);
  const v = new DataView(bytes.buffer);
  const u = (o: number) => v.getUint32(o, true);
  assert.equal(Buffer.from(bytes.subarray(0, 4)).toString('latin1'), 'PWJB');
  assert.deepEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52].map(u), [
    abi.JOB_MAGIC,
    1,
    7,
    2048,
    0xff,
    1,
    0,
    1,
    2,
    1,
    1,
    0x80000000,
    3,
    0xffffffff,
  ]);
  assert.deepEqual(bytes.subarray(56, 88), nonce);
  assert.deepEqual([88, 92, 96, 100, 104, 108, 112, 116].map(u), [0x08000000, 0x4000, 0x08000000, 0x4000, 0x08004000, 100, 0x08008000, 0x800]);
  const constant = abi.encodeJob(jobSpec({ ops: { erase: true }, pattern: { kind: 'constant', value: 0x5a } }));
  assert.equal(new DataView(constant.buffer).getUint32(abi.JOB_OFF_PATTERN_KIND, true), abi.PATTERN_CONSTANT);
  assert.equal(new DataView(constant.buffer).getUint32(abi.JOB_OFF_PATTERN_VALUE, true), 0x5a);
  assert.equal(new DataView(constant.buffer).getUint32(abi.JOB_OFF_OPS, true), abi.OP_ERASE);

  assert.throws(() => abi.encodeJob(jobSpec({ nonce: new Uint8Array(31) })), /nonce must be 32 bytes/);
  assert.throws(() => abi.encodeJob(jobSpec({ ops: { program: true } })), /without a pattern/);
  assert.throws(() => abi.encodeJob(jobSpec({ hash: [{ address: -1, size: 8 }] })), /hash\[0\]\.address/);
  assert.throws(() => abi.encodeJob(jobSpec({ blockSize: 1.5 })), /blockSize/);
  const many = Array.from({ length: 513 }, (_, i) => ({ address: i * 8, size: 8 }));
  assert.throws(() => abi.encodeJob(jobSpec({ erase: many })), /513 erase ranges/);
});

test('decodeResult reads a table and rejects what is not one', () => {
  const n = 33;
  const bytes = new Uint8Array(abi.resultSize(n));
  const v = new DataView(bytes.buffer);
  const header = [abi.RESULT_MAGIC, 1, abi.STATUS_HAL_READ, n, 4, 2, 0x17, 0x08001000, 3, 0];
  header.forEach((w, i) => v.setUint32(4 * i, w, true));
  v.setUint32(40, (1 << 0) | (1 << 31), true);
  v.setUint32(44, 1 << 0, true);
  for (let i = 0; i < n; i++) bytes.fill(i, 48 + 32 * i, 48 + 32 * (i + 1));
  // the input may be a view at an offset in a larger buffer
  const padded = new Uint8Array(bytes.length + 16);
  padded.set(bytes, 8);
  const r = abi.decodeResult(padded.subarray(8, 8 + bytes.length));
  assert.deepEqual(
    { ...r, blank: undefined, digests: undefined },
    {
      version: 1,
      status: abi.STATUS_HAL_READ,
      statusName: 'HAL_READ',
      blockCount: n,
      erased: 4,
      programmed: 2,
      halStatus: 0x17,
      failAddress: 0x08001000,
      blankCount: 3,
      blank: undefined,
      digests: undefined,
    },
  );
  assert.deepEqual(
    r.blank.flatMap((b, i) => (b ? [i] : [])),
    [0, 31, 32],
  );
  assert.equal(r.digests.length, n);
  r.digests.forEach((d, i) => assert.deepEqual(d, new Uint8Array(32).fill(i)));

  const bad = (mutate: (b: Uint8Array) => Uint8Array, re: RegExp) => {
    assert.throws(() => abi.decodeResult(mutate(bytes.slice())), re);
  };
  bad((b) => b.subarray(0, 39), /too short: 39 bytes, header needs 40/);
  bad((b) => b.subarray(0, b.length - 1), /too short: .* 33 blocks need 1104/);
  bad((b) => (b.fill(0, 0, 1), b), /bad magic 0x53525700/);
  bad((b) => (new DataView(b.buffer).setUint32(4, 2, true), b), /ABI version 2, host speaks 1/);
  bad((b) => (new DataView(b.buffer).setUint32(32, 2, true), b), /blank count 2 disagrees with its bitmap \(3 bits set\)/);
  bad((b) => (new DataView(b.buffer).setUint32(12, 100000, true), b), /claims 100000 blocks/);
});

test('resultSize, blocksOf and STATUS_NAMES', () => {
  assert.equal(abi.resultSize(0), 40);
  assert.equal(abi.resultSize(1), 40 + 4 + 32);
  assert.equal(abi.resultSize(32), 40 + 4 + 32 * 32);
  assert.equal(abi.resultSize(33), 40 + 8 + 32 * 33);
  assert.equal(abi.resultSize(abi.MAX_BLOCKS), abi.RESULT_MAX);
  assert.equal(abi.RESULT_MAX, 16488);
  assert.equal(abi.JOB_MAX, 12376);
  assert.deepEqual(
    abi.blocksOf(
      [
        { address: 0x100, size: 20 },
        { address: 0x1000, size: 16 },
        { address: 0x2000, size: 1 },
      ],
      8,
    ),
    [
      { address: 0x100, size: 8 },
      { address: 0x108, size: 8 },
      { address: 0x110, size: 4 },
      { address: 0x1000, size: 8 },
      { address: 0x1008, size: 8 },
      { address: 0x2000, size: 1 },
    ],
  );
  assert.deepEqual(abi.STATUS_NAMES, ['OK', 'BAD_MAGIC', 'BAD_VERSION', 'BAD_JOB', 'TOO_MANY_BLOCKS', 'HAL_PROGRAM', 'HAL_ERASE', 'HAL_READ']);
  assert.equal(abi.statusName(42), 'UNKNOWN_42');
});

test('patternBytes: pinned xoshiro128** vectors, prefixes and constants', () => {
  // independent model (Python) of docs/abi.md: seed 1,2,3,4
  assert.equal(hex(abi.patternBytes({ kind: 'xoshiro', seed: [1, 2, 3, 4] }, 0, 16)), '31200f7d943723212fad317068cdcb8d');
  const at = abi.patternBytes({ kind: 'xoshiro', seed: [1, 2, 3, 4] }, 0x08000000, 16);
  assert.deepEqual(
    [0, 4, 8, 12].map((o) => new DataView(at.buffer).getUint32(o, true)),
    [0x9e3357c8, 0xab029794, 0x7b1caec6, 0xb051f5f9],
  );
  // an all-zero seeded state is replaced by s0 = 1: still a non-zero stream
  const s = abi.xoshiroSeedState([0, 0, 0, 0], 0);
  assert.ok(s.some((w) => w !== 0));
  const long = abi.patternBytes({ kind: 'xoshiro', seed: [9, 8, 7, 6] }, 0x100, 4096 + 13);
  assert.deepEqual(abi.patternBytes({ kind: 'xoshiro', seed: [9, 8, 7, 6] }, 0x100, 4099), long.subarray(0, 4099));
  assert.notDeepEqual(abi.patternBytes({ kind: 'xoshiro', seed: [9, 8, 7, 6] }, 0x108, 16), long.subarray(0, 16));
  assert.deepEqual(abi.patternBytes({ kind: 'constant', value: 0x1a5 }, 0, 5), new Uint8Array(5).fill(0xa5));
  assert.equal(abi.splitmix32(0), 0x92ca2f0e);
});

test('expectedDigest is SHA-256(nonce || address LE || bytes)', () => {
  const nonce = new Uint8Array(32).map((_, i) => i);
  const blank = new Uint8Array(1024).fill(0xff);
  // from Python's hashlib
  assert.equal(hex(abi.expectedDigest(nonce, 0x08000400, blank)), '6ac133f57a15afc80f17e241fa0461bd87c59ff69b4a7db20beb8a1e51876ecf');
});
