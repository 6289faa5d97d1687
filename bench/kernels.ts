/**
 * Kernel throughput, all in this process over the same data: 64 MiB of random bytes in 4 KiB
 * blocks. Every SHA-256 candidate computes the same thing, the block digest of docs/abi.md
 * (SHA-256 of nonce[32] ‖ address LE ‖ the block), and the digests are cross-checked before
 * anything is timed.
 */
import { createHash, randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createSHA256 } from 'hash-wasm';
import * as abi from '../host/engine/abi';
import {
  instantiateEngine,
  loadEngineModule,
  packageRoot,
  wasm,
  type EngineHal,
  type EngineInstance,
  type WasmGlobal,
  type WasmMemory,
} from '../host/engine/module';
import { interleaved, pairedRatio, throughput, type Candidate, type Summary } from './stats';

export const BLOCK = 4096;
/** flash base of the benchmark's data (the F4 parts' address) */
export const BASE = 0x08000000;
const JOB_BLOCKS = 512; // blocks per HASH job: the ABI's MAX_BLOCKS

export interface KernelOptions {
  totalBytes: number;
  rounds: number;
  log: (line: string) => void;
}

export interface KernelResults {
  sha256: Record<string, Summary>;
  sha256Ratios: Record<string, number>;
  blank: Record<string, Summary>;
  pattern: Record<string, Summary>;
}

/**
 * @chainsafe/as-sha256, the part used here (the package is ESM-only: loaded with import()). Its
 * streaming SHA256 class gives wrong digests when an update() other than the last is not a
 * multiple of 64 bytes (our 36-byte prefix), so the bench hashes one contiguous message per block
 * with digest(), which includes copying the block behind the prefix.
 */
interface AsSha256 {
  digest(data: Uint8Array): Uint8Array;
}
// a real dynamic import (TypeScript would turn `import()` into require() in CommonJS output)
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

export function hostWasmPath(): string {
  return path.join(packageRoot(), 'build', 'host.wasm');
}

/** The raw exports of build/host.wasm (tests/sha256x4.test.ts checks them). */
interface HostKernels {
  memory: () => Uint8Array;
  lanes: number;
  stride: number;
  digests: number;
  hash4: (len: number) => number;
  blankCheck: (p: number, len: number, erased: number) => number;
}

function hostKernels(bytes: Uint8Array): HostKernels {
  const noHal = { hal: { erase: () => 0, read: () => 0, program: () => 0, event: () => undefined } };
  const instance = new wasm.Instance(new wasm.Module(bytes), noHal);
  const ex = instance.exports;
  const g = (name: string) => Number((ex[name] as WasmGlobal).value);
  const mem = ex.memory as WasmMemory;
  return {
    memory: () => new Uint8Array(mem.buffer),
    lanes: g('LANES'),
    stride: g('LANE_STRIDE'),
    digests: g('DIGESTS4'),
    hash4: ex.hash4 as (len: number) => number,
    blankCheck: ex.blankCheck as (p: number, len: number, erased: number) => number,
  };
}

/** A HAL over `data` at BASE: reads copy, programs and erases do nothing (the engine's own work is timed). */
export function dataHal(data: Uint8Array): EngineHal {
  return {
    erase: () => 0,
    program: () => 0,
    read(address, dst) {
      const o = address - BASE;
      dst.set(data.subarray(o, o + dst.length));
      return 0;
    },
  };
}

export async function measureKernels(opts: KernelOptions): Promise<KernelResults> {
  const { totalBytes, rounds, log } = opts;
  const blocks = totalBytes / BLOCK;
  const data = new Uint8Array(totalBytes);
  randomFillSync(data);
  const nonce = new Uint8Array(32);
  randomFillSync(nonce);
  const prefix = new Uint8Array(36);
  prefix.set(nonce);
  const prefixView = new DataView(prefix.buffer);
  const setAddress = (i: number) => prefixView.setUint32(32, BASE + i * BLOCK, true);
  const block = (i: number) => data.subarray(i * BLOCK, (i + 1) * BLOCK);

  // ---- SHA-256 ----
  const jobs: Uint8Array[] = [];
  for (let b = 0; b < blocks; b += JOB_BLOCKS) {
    const n = Math.min(JOB_BLOCKS, blocks - b);
    jobs.push(
      abi.encodeJob({
        ops: { hash: true },
        blockSize: BLOCK,
        erasedValue: 0xff,
        pattern: null,
        erase: [],
        program: [],
        hash: [{ address: BASE + b * BLOCK, size: n * BLOCK }],
        nonce,
      }),
    );
  }
  const terminal = instantiateEngine(loadEngineModule('terminal'), dataHal(data));
  const hostBytes = new Uint8Array(fs.readFileSync(hostWasmPath()));
  const simd = instantiateEngine(hostBytes, dataHal(data));
  const k = hostKernels(hostBytes);
  const hashWasm = await createSHA256();
  const asSha = (await importEsm('@chainsafe/as-sha256')) as AsSha256;
  const message = new Uint8Array(36 + BLOCK);

  const runJobs = (engine: EngineInstance) => () => {
    for (const job of jobs) engine.runJob(job);
  };
  /** hash4 over blocks i..i+3, each lane holding prefix ‖ block; digests stay at DIGESTS4 */
  const simdKernel4 = (i: number): Uint8Array => {
    const mem = k.memory();
    for (let l = 0; l < 4; l++) {
      setAddress(i + l);
      const lane = k.lanes + l * k.stride;
      mem.set(prefix, lane);
      mem.set(block(i + l), lane + 36);
    }
    k.hash4(36 + BLOCK);
    return mem;
  };
  const digestOne: Record<string, (i: number) => Uint8Array> = {
    hashWasm: (i) => {
      setAddress(i);
      hashWasm.init();
      hashWasm.update(prefix);
      hashWasm.update(block(i));
      return hashWasm.digest('binary');
    },
    asSha256: (i) => {
      setAddress(i);
      message.set(prefix);
      message.set(block(i), 36);
      return asSha.digest(message);
    },
    node: (i) => {
      setAddress(i);
      return createHash('sha256').update(prefix).update(block(i)).digest();
    },
  };

  // cross-check: the first job's digests from every candidate equal node:crypto's
  const check = Math.min(JOB_BLOCKS, blocks);
  const want = Array.from({ length: check }, (_, i) => Buffer.from(digestOne.node(i)).toString('hex'));
  const same = (name: string, got: Uint8Array[]) => {
    got.forEach((d, i) => {
      if (Buffer.from(d).toString('hex') !== want[i]) throw new Error(`bench: ${name} digest of block ${i} differs from node:crypto's`);
    });
  };
  same('engine (terminal.wasm)', terminal.runJob(jobs[0]).result.digests.slice(0, check));
  same('SIMD host build', simd.runJob(jobs[0]).result.digests.slice(0, check));
  same(
    'hash-wasm',
    Array.from({ length: check }, (_, i) => digestOne.hashWasm(i).slice()),
  );
  same(
    '@chainsafe/as-sha256',
    Array.from({ length: check }, (_, i) => digestOne.asSha256(i).slice()),
  );
  const kernelDigests: Uint8Array[] = [];
  for (let i = 0; i + 4 <= check; i += 4) {
    const mem = simdKernel4(i);
    for (let l = 0; l < 4; l++) kernelDigests.push(mem.slice(k.digests + 32 * l, k.digests + 32 * l + 32));
  }
  same('SIMD hash4 kernel', kernelDigests);

  const eachBlock = (f: (i: number) => unknown) => () => {
    for (let i = 0; i < blocks; i++) f(i);
  };
  // hash-wasm sits between the two engine builds: the pairs the targets compare run back to back
  const shaCandidates: Candidate[] = [
    { name: 'engine', run: runJobs(terminal) },
    { name: 'hashWasm', run: eachBlock(digestOne.hashWasm) },
    { name: 'simd', run: runJobs(simd) },
    {
      name: 'simdKernel',
      run: () => {
        for (let i = 0; i + 4 <= blocks; i += 4) simdKernel4(i);
      },
    },
    { name: 'node', run: eachBlock(digestOne.node) },
    { name: 'asSha256', run: eachBlock(digestOne.asSha256) },
  ];
  log(`  SHA-256: ${shaCandidates.length} candidates x ${rounds} rounds of ${totalBytes / 1048576} MiB`);
  const shaTimes = interleaved(shaCandidates, rounds, (r) => log(`    round ${r}/${rounds}`));
  const sha256: Record<string, Summary> = {};
  for (const [name, t] of shaTimes) sha256[name] = throughput(t, totalBytes);
  const ratio = (a: string, b: string) => pairedRatio(sha256[a].runs, sha256[b].runs);
  const sha256Ratios = {
    engineVsHashWasm: ratio('engine', 'hashWasm'),
    engineVsNode: ratio('engine', 'node'),
    simdVsHashWasm: ratio('simd', 'hashWasm'),
    simdVsNode: ratio('simd', 'node'),
    simdVsEngine: ratio('simd', 'engine'),
    simdKernelVsHashWasm: ratio('simdKernel', 'hashWasm'),
  };

  // ---- blank check: a blank 4 KiB block checked in place (in cache), 64 MiB worth ----
  const blankRef = new Uint8Array(BLOCK).fill(0xff);
  const blankJs = new Uint8Array(BLOCK).fill(0xff);
  const blankAt = k.lanes + 36;
  k.memory().fill(0xff, blankAt, blankAt + BLOCK);
  if (k.blankCheck(blankAt, BLOCK, 0xff) !== 1) throw new Error('bench: the engine blank check misses a blank block');
  let sink = 0;
  const blankCandidates: Candidate[] = [
    {
      name: 'engine',
      run: () => {
        for (let i = 0; i < blocks; i++) sink += k.blankCheck(blankAt, BLOCK, 0xff);
      },
    },
    {
      name: 'bufferCompare',
      run: () => {
        for (let i = 0; i < blocks; i++) sink += Buffer.compare(blankJs, blankRef) === 0 ? 1 : 0;
      },
    },
  ];
  log('  blank check');
  const blank: Record<string, Summary> = {};
  for (const [name, t] of interleaved(blankCandidates, rounds)) blank[name] = throughput(t, totalBytes);

  // ---- pattern generation: PROGRAM jobs into a HAL that takes the bytes and does nothing ----
  const rangeSize = 4 << 20;
  const ranges: abi.Range[] = [];
  for (let o = 0; o < totalBytes; o += rangeSize) ranges.push({ address: BASE + o, size: Math.min(rangeSize, totalBytes - o) });
  const seed: [number, number, number, number] = [0x01234567, 0x89abcdef, 0xdeadbeef, 0x0badf00d];
  const programJob = (pattern: abi.PatternSpec) =>
    abi.encodeJob({ ops: { program: true }, blockSize: BLOCK, erasedValue: 0xff, pattern, erase: [], hash: [], program: ranges, nonce });
  const xoshiroJob = programJob({ kind: 'xoshiro', seed });
  const constantJob = programJob({ kind: 'constant', value: 0x00 });
  let firstChunk: Uint8Array | null = null;
  const programmer = instantiateEngine(loadEngineModule('terminal'), {
    erase: () => 0,
    read: () => 0,
    program: (_address, src) => {
      if (firstChunk === null) firstChunk = src.slice();
      return 0;
    },
  });
  programmer.runJob(xoshiroJob);
  const ref = abi.patternBytes({ kind: 'xoshiro', seed }, BASE, BLOCK);
  if (!firstChunk || Buffer.compare(Buffer.from(firstChunk), Buffer.from(ref)) !== 0)
    throw new Error('bench: the engine xoshiro stream differs from the host reference');
  const fillBuf = Buffer.alloc(BLOCK);
  const patternCandidates: Candidate[] = [
    { name: 'engineXoshiro', run: () => void programmer.runJob(xoshiroJob) },
    { name: 'engineConstant', run: () => void programmer.runJob(constantJob) },
    {
      name: 'bufferFill',
      run: () => {
        for (let i = 0; i < blocks; i++) fillBuf.fill(i & 0xff);
      },
    },
    {
      name: 'randomFill',
      run: () => {
        for (let i = 0; i < blocks; i++) randomFillSync(fillBuf);
      },
    },
    {
      name: 'hostXoshiro',
      run: () => {
        for (const r of ranges) sink += abi.patternBytes({ kind: 'xoshiro', seed }, r.address, r.size)[0];
      },
    },
  ];
  log('  pattern generation');
  const pattern: Record<string, Summary> = {};
  for (const [name, t] of interleaved(patternCandidates, rounds)) pattern[name] = throughput(t, totalBytes);
  if (sink < 0) log(String(sink)); // keeps the results of the loops observable

  return { sha256, sha256Ratios, blank, pattern };
}
