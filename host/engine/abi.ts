/**
 * Host mirror of the terminal ABI (docs/abi.md, version 1): the constants of assembly/abi.ts, job
 * encoding, result decoding and host references for the pattern generators and block digests.
 * Change the document, assembly/abi.ts, this file and ABI_VERSION together.
 */
import { createHash } from 'node:crypto';
import type { Range } from '../boards/types';

export const ABI_VERSION = 1;

export const JOB_MAGIC = 0x424a5750; // "PWJB"
export const RESULT_MAGIC = 0x53525750; // "PWRS"

export const OP_PROGRAM = 1;
export const OP_ERASE = 2;
export const OP_HASH = 4;
export const OP_ALL = OP_PROGRAM | OP_ERASE | OP_HASH;

export const MAX_RANGES = 512;
export const MAX_BLOCKS = 512;
export const MIN_BLOCK_SIZE = 8;
export const MAX_BLOCK_SIZE = 4096;
export const PROGRAM_ALIGN = 8;
export const NONCE_SIZE = 32;
export const DIGEST_SIZE = 32;
export const RANGE_SIZE = 8;

export const PATTERN_CONSTANT = 0;
export const PATTERN_XOSHIRO = 1;

export const JOB_OFF_MAGIC = 0;
export const JOB_OFF_VERSION = 4;
export const JOB_OFF_OPS = 8;
export const JOB_OFF_BLOCK_SIZE = 12;
export const JOB_OFF_ERASED_VALUE = 16;
export const JOB_OFF_PATTERN_KIND = 20;
export const JOB_OFF_PATTERN_VALUE = 24;
export const JOB_OFF_ERASE_COUNT = 28;
export const JOB_OFF_HASH_COUNT = 32;
export const JOB_OFF_PROGRAM_COUNT = 36;
export const JOB_OFF_SEED = 40;
export const JOB_OFF_NONCE = 56;
export const JOB_OFF_RANGES = 88;
export const JOB_HEADER_SIZE = JOB_OFF_RANGES;
export const JOB_MAX = JOB_HEADER_SIZE + 3 * MAX_RANGES * RANGE_SIZE; // 12376

export const RES_OFF_MAGIC = 0;
export const RES_OFF_VERSION = 4;
export const RES_OFF_STATUS = 8;
export const RES_OFF_BLOCKS = 12;
export const RES_OFF_ERASED = 16;
export const RES_OFF_PROGRAMMED = 20;
export const RES_OFF_HAL_STATUS = 24;
export const RES_OFF_FAIL_ADDRESS = 28;
export const RES_OFF_BLANK_COUNT = 32;
export const RES_OFF_RESERVED = 36;
export const RES_OFF_BITMAP = 40;
export const RESULT_HEADER_SIZE = RES_OFF_BITMAP;
export const RESULT_MAX = RESULT_HEADER_SIZE + 4 * Math.ceil(MAX_BLOCKS / 32) + DIGEST_SIZE * MAX_BLOCKS; // 16488

export const STATUS_OK = 0;
export const STATUS_BAD_MAGIC = 1;
export const STATUS_BAD_VERSION = 2;
export const STATUS_BAD_JOB = 3;
export const STATUS_TOO_MANY_BLOCKS = 4;
export const STATUS_HAL_PROGRAM = 5;
export const STATUS_HAL_ERASE = 6;
export const STATUS_HAL_READ = 7;

/** Status names indexed by code. */
export const STATUS_NAMES: readonly string[] = ['OK', 'BAD_MAGIC', 'BAD_VERSION', 'BAD_JOB', 'TOO_MANY_BLOCKS', 'HAL_PROGRAM', 'HAL_ERASE', 'HAL_READ'];

export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `UNKNOWN_${status}`;
}

export const EVENT_PROGRAMMED = 1;
export const EVENT_ERASED = 2;
export const EVENT_HASHED = 3;

export const GOLDEN_GAMMA = 0x9e3779b9;

export type { Range };

export type PatternSpec = { kind: 'constant'; value: number } | { kind: 'xoshiro'; seed: [number, number, number, number] };

export interface JobSpec {
  ops: { program?: boolean; erase?: boolean; hash?: boolean };
  blockSize: number;
  erasedValue: number;
  /** required when ops.program is set */
  pattern: PatternSpec | null;
  /** each exactly one sector/page */
  erase: Range[];
  /** cut into blocks of blockSize, the last one of each range possibly shorter */
  hash: Range[];
  /** address and size multiples of 8 */
  program: Range[];
  /** 32 bytes */
  nonce: Uint8Array;
}

export interface ResultTable {
  version: number;
  status: number;
  statusName: string;
  blockCount: number;
  erased: number;
  programmed: number;
  halStatus: number;
  failAddress: number;
  blankCount: number;
  /** one flag per hashed block: every byte equals the erased value */
  blank: boolean[];
  /** one 32-byte SHA-256 per hashed block (copies, not views of the input) */
  digests: Uint8Array[];
}

function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function requireU32(n: unknown, what: string): number {
  if (!isU32(n)) throw new Error(`${what} must be an unsigned 32-bit integer, got ${String(n)}`);
  return n;
}

/** Bytes of the encoded job for the given range counts. */
export function jobSize(erase: number, hash: number, program: number): number {
  return JOB_HEADER_SIZE + RANGE_SIZE * (erase + hash + program);
}

/** Bytes of the result table holding `blocks` digests. */
export function resultSize(blocks: number): number {
  return RESULT_HEADER_SIZE + 4 * Math.ceil(blocks / 32) + DIGEST_SIZE * blocks;
}

/** The ops word for a JobSpec. */
export function opsWord(ops: JobSpec['ops']): number {
  return (ops.program ? OP_PROGRAM : 0) | (ops.erase ? OP_ERASE : 0) | (ops.hash ? OP_HASH : 0);
}

/**
 * Encodes a job. Only the encoding itself is checked here (integers fit, nonce length, at most
 * MAX_RANGES per list so the job fits JOB_MAX, a pattern when PROGRAM is asked for); limits the
 * engine enforces are left to it, see `jobProblem` to check them up front.
 */
export function encodeJob(job: JobSpec): Uint8Array {
  if (!(job.nonce instanceof Uint8Array) || job.nonce.length !== NONCE_SIZE) {
    throw new Error(`nonce must be ${NONCE_SIZE} bytes, got ${job.nonce?.length}`);
  }
  const lists: [string, Range[]][] = [
    ['erase', job.erase],
    ['hash', job.hash],
    ['program', job.program],
  ];
  for (const [name, list] of lists) {
    if (list.length > MAX_RANGES) {
      throw new Error(`${list.length} ${name} ranges, at most ${MAX_RANGES} fit one job`);
    }
  }
  if (job.ops.program && !job.pattern) throw new Error('PROGRAM requested without a pattern');

  const bytes = new Uint8Array(jobSize(job.erase.length, job.hash.length, job.program.length));
  const view = new DataView(bytes.buffer);
  const put = (offset: number, value: number, what: string) => view.setUint32(offset, requireU32(value, what), true);

  put(JOB_OFF_MAGIC, JOB_MAGIC, 'magic');
  put(JOB_OFF_VERSION, ABI_VERSION, 'version');
  put(JOB_OFF_OPS, opsWord(job.ops), 'ops');
  put(JOB_OFF_BLOCK_SIZE, job.blockSize, 'blockSize');
  put(JOB_OFF_ERASED_VALUE, job.erasedValue, 'erasedValue');
  const pattern = job.pattern;
  if (pattern === null || pattern.kind === 'constant') {
    put(JOB_OFF_PATTERN_KIND, PATTERN_CONSTANT, 'pattern kind');
    put(JOB_OFF_PATTERN_VALUE, pattern ? pattern.value : 0, 'pattern value');
  } else if (pattern.kind === 'xoshiro') {
    put(JOB_OFF_PATTERN_KIND, PATTERN_XOSHIRO, 'pattern kind');
    if (!Array.isArray(pattern.seed) || pattern.seed.length !== 4) {
      throw new Error('xoshiro seed must be four u32 words');
    }
    pattern.seed.forEach((w, i) => put(JOB_OFF_SEED + 4 * i, w, `seed word ${i}`));
  } else {
    throw new Error(`unknown pattern kind ${(pattern as { kind: unknown }).kind}`);
  }
  put(JOB_OFF_ERASE_COUNT, job.erase.length, 'erase count');
  put(JOB_OFF_HASH_COUNT, job.hash.length, 'hash count');
  put(JOB_OFF_PROGRAM_COUNT, job.program.length, 'program count');
  bytes.set(job.nonce, JOB_OFF_NONCE);
  let offset = JOB_OFF_RANGES;
  for (const [name, list] of lists) {
    list.forEach((r, i) => {
      put(offset, r.address, `${name}[${i}].address`);
      put(offset + 4, r.size, `${name}[${i}].size`);
      offset += RANGE_SIZE;
    });
  }
  return bytes;
}

/**
 * What the engine would refuse in this job, as the status it would return and a description;
 * null when the job is within the limits. Mirrors the engine's validation order.
 */
export function jobProblem(job: JobSpec): { status: number; problem: string } | null {
  const bad = (problem: string) => ({ status: STATUS_BAD_JOB, problem });
  const bs = job.blockSize;
  if (!isU32(bs) || bs < MIN_BLOCK_SIZE || bs > MAX_BLOCK_SIZE || bs % 8 !== 0) {
    return bad(`block size ${bs} is not a multiple of 8 in ${MIN_BLOCK_SIZE}..${MAX_BLOCK_SIZE}`);
  }
  const lists: [string, Range[], number][] = [
    ['erase', job.erase, 1],
    ['hash', job.hash, 1],
    ['program', job.program, PROGRAM_ALIGN],
  ];
  for (const [name, list] of lists) {
    if (list.length > MAX_RANGES) return bad(`${list.length} ${name} ranges (at most ${MAX_RANGES})`);
  }
  for (const [name, list, align] of lists) {
    for (const [i, r] of list.entries()) {
      const where = `${name} range ${i} (0x${r.address.toString(16)}+${r.size})`;
      if (!isU32(r.address) || !isU32(r.size)) return bad(`${where}: not u32`);
      if (r.size === 0) return bad(`${where}: empty`);
      if (r.address + r.size > 0x1_0000_0000) return bad(`${where}: runs past 4 GiB`);
      if (r.address % align !== 0 || r.size % align !== 0) return bad(`${where}: not ${align}-aligned`);
    }
  }
  const blocks = job.hash.reduce((n, r) => n + Math.ceil(r.size / bs), 0);
  if (blocks > MAX_BLOCKS) {
    return { status: STATUS_TOO_MANY_BLOCKS, problem: `${blocks} blocks to hash (at most ${MAX_BLOCKS})` };
  }
  return null;
}

/** The hash blocks of `ranges`, in engine order (the result table's block order). */
export function blocksOf(ranges: readonly Range[], blockSize: number): Range[] {
  if (!(blockSize > 0)) throw new Error(`block size ${blockSize} must be positive`);
  const blocks: Range[] = [];
  for (const r of ranges) {
    for (let done = 0; done < r.size; done += blockSize) {
      blocks.push({ address: r.address + done, size: Math.min(blockSize, r.size - done) });
    }
  }
  return blocks;
}

/** Decodes a result table; throws naming the problem when it is not one. */
export function decodeResult(bytes: Uint8Array): ResultTable {
  if (bytes.length < RESULT_HEADER_SIZE) {
    throw new Error(`result table too short: ${bytes.length} bytes, header needs ${RESULT_HEADER_SIZE}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (offset: number) => view.getUint32(offset, true);
  const magic = u32(RES_OFF_MAGIC);
  if (magic !== RESULT_MAGIC) {
    throw new Error(`result table has bad magic 0x${magic.toString(16).padStart(8, '0')} (expected 0x${RESULT_MAGIC.toString(16)})`);
  }
  const version = u32(RES_OFF_VERSION);
  if (version !== ABI_VERSION) {
    throw new Error(`result table ABI version ${version}, host speaks ${ABI_VERSION}`);
  }
  const blockCount = u32(RES_OFF_BLOCKS);
  if (blockCount > MAX_BLOCKS) {
    throw new Error(`result table claims ${blockCount} blocks (at most ${MAX_BLOCKS})`);
  }
  const need = resultSize(blockCount);
  if (bytes.length < need) {
    throw new Error(`result table too short: ${bytes.length} bytes, ${blockCount} blocks need ${need}`);
  }
  const blank: boolean[] = [];
  for (let i = 0; i < blockCount; i++) {
    blank.push(((u32(RES_OFF_BITMAP + 4 * (i >>> 5)) >>> (i & 31)) & 1) === 1);
  }
  const digestsAt = RES_OFF_BITMAP + 4 * Math.ceil(blockCount / 32);
  const digests: Uint8Array[] = [];
  for (let i = 0; i < blockCount; i++) {
    digests.push(bytes.slice(digestsAt + DIGEST_SIZE * i, digestsAt + DIGEST_SIZE * (i + 1)));
  }
  const blankCount = u32(RES_OFF_BLANK_COUNT);
  const bits = blank.filter(Boolean).length;
  if (blankCount !== bits) {
    throw new Error(`result table blank count ${blankCount} disagrees with its bitmap (${bits} bits set)`);
  }
  const status = u32(RES_OFF_STATUS);
  return {
    version,
    status,
    statusName: statusName(status),
    blockCount,
    erased: u32(RES_OFF_ERASED),
    programmed: u32(RES_OFF_PROGRAMMED),
    halStatus: u32(RES_OFF_HAL_STATUS),
    failAddress: u32(RES_OFF_FAIL_ADDRESS),
    blankCount,
    blank,
    digests,
  };
}

/** SHA-256(nonce ‖ address as u32 little-endian ‖ bytes): a block's digest as the engine computes it. */
export function expectedDigest(nonce: Uint8Array, address: number, bytes: Uint8Array): Uint8Array {
  const addr = Buffer.alloc(4);
  addr.writeUInt32LE(requireU32(address, 'address'));
  const digest = createHash('sha256').update(nonce).update(addr).update(bytes).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
}

/** splitmix32 as docs/abi.md defines it. */
export function splitmix32(x: number): number {
  let z = (x + GOLDEN_GAMMA) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

const rotl32 = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** The xoshiro128** state the engine seeds a program range at `rangeAddress` with. */
export function xoshiroSeedState(seed: readonly number[], rangeAddress: number): Uint32Array {
  const s = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    s[i] = splitmix32((seed[i] ^ rangeAddress ^ Math.imul(i, GOLDEN_GAMMA)) >>> 0);
  }
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

/** Next xoshiro128** output; advances s in place. */
export function xoshiroNext(s: Uint32Array): number {
  const result = Math.imul(rotl32(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
  const t = (s[1] << 9) >>> 0;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl32(s[3], 11);
  return result;
}

/**
 * The first `size` bytes the engine programs into a program range starting at `rangeAddress`
 * (host reference of the pattern generators).
 */
export function patternBytes(pattern: PatternSpec, rangeAddress: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  if (pattern.kind === 'constant') {
    out.fill(pattern.value & 0xff);
    return out;
  }
  const s = xoshiroSeedState(pattern.seed, requireU32(rangeAddress, 'rangeAddress'));
  const view = new DataView(out.buffer);
  let i = 0;
  for (; i + 4 <= size; i += 4) view.setUint32(i, xoshiroNext(s), true);
  if (i < size) {
    const last = xoshiroNext(s);
    for (let k = 0; i < size; i++, k++) out[i] = (last >>> (8 * k)) & 0xff;
  }
  return out;
}
