// The erase-and-verify engine: validates the job at JOB_AREA, runs PROGRAM, ERASE and HASH through
// the HAL imports and writes the result table at RESULT_AREA (docs/abi.md). Nothing is allocated:
// every buffer is a static data segment and all state is in module globals.

import {
  ABI_VERSION,
  DIGEST_SIZE,
  EVENT_ERASED,
  EVENT_HASHED,
  EVENT_PROGRAMMED,
  GOLDEN_GAMMA,
  splitmix32,
  JOB_MAGIC,
  JOB_MAX,
  JOB_OFF_BLOCK_SIZE,
  JOB_OFF_ERASED_VALUE,
  JOB_OFF_ERASE_COUNT,
  JOB_OFF_HASH_COUNT,
  JOB_OFF_MAGIC,
  JOB_OFF_NONCE,
  JOB_OFF_OPS,
  JOB_OFF_PATTERN_KIND,
  JOB_OFF_PATTERN_VALUE,
  JOB_OFF_PROGRAM_COUNT,
  JOB_OFF_RANGES,
  JOB_OFF_SEED,
  JOB_OFF_VERSION,
  MAX_BLOCKS,
  MAX_BLOCK_SIZE,
  MAX_RANGES,
  MIN_BLOCK_SIZE,
  OP_ALL,
  OP_ERASE,
  OP_HASH,
  OP_PROGRAM,
  PATTERN_CONSTANT,
  PATTERN_XOSHIRO,
  PROGRAM_ALIGN,
  RANGE_SIZE,
  RESULT_MAGIC,
  RESULT_MAX,
  RES_OFF_BITMAP,
  RES_OFF_BLANK_COUNT,
  RES_OFF_BLOCKS,
  RES_OFF_ERASED,
  RES_OFF_FAIL_ADDRESS,
  RES_OFF_HAL_STATUS,
  RES_OFF_MAGIC,
  RES_OFF_PROGRAMMED,
  RES_OFF_RESERVED,
  RES_OFF_STATUS,
  RES_OFF_VERSION,
  STATUS_BAD_JOB,
  STATUS_BAD_MAGIC,
  STATUS_BAD_VERSION,
  STATUS_HAL_ERASE,
  STATUS_HAL_PROGRAM,
  STATUS_HAL_READ,
  STATUS_OK,
  STATUS_TOO_MANY_BLOCKS,
} from './abi';
import { halErase, halEvent, halProgram, halRead } from './hal';
import { digestBlock } from './sha256';
// SIMD builds (target host) hash four blocks at once; every use is under ASC_FEATURE_SIMD, so the
// terminal build never compiles it.
import { discardLanes, flushLanes, laneBuffer, queueDigest } from './lanes';

// ---- HAL: the `hal` imports on a terminal, an in-memory flash in the self-contained build ----
// (assembly/hal.ts chooses per build target; every call returns 0 on success, else a HAL status)

// ---- static memory ----

export const JOB_AREA: usize = memory.data(JOB_MAX, 16);
export const RESULT_AREA: usize = memory.data(RESULT_MAX, 16);
/** I/O buffer: one block read for hashing, or one chunk of pattern to program. */
export const IO_BUFFER: usize = memory.data(MAX_BLOCK_SIZE, 16);

// ---- per-run state ----

let blocksHashed: u32 = 0;
let rangesErased: u32 = 0;
let rangesProgrammed: u32 = 0;
let halStatus: u32 = 0;
let failAddress: u32 = 0;
let blankCount: u32 = 0;
let plannedBlocks: u32 = 0;
let digestBase: usize = 0; // where block digests go while hashing (sized for plannedBlocks)

@inline function jobWord(offset: u32): u32 {
  return load<u32>(JOB_AREA + <usize>offset);
}

@inline function bitmapWords(blocks: u32): u32 {
  return (blocks + 31) >>> 5;
}

// ---- validation ----

/** Checks count ranges at JOB_AREA + offset: non-empty, not past 4 GiB, aligned to `align`. */
function rangesValid(offset: u32, count: u32, align: u32): bool {
  let p = JOB_AREA + <usize>offset;
  for (let i: u32 = 0; i < count; i++, p += RANGE_SIZE) {
    const address = load<u32>(p);
    const size = load<u32>(p, 4);
    if (size == 0) return false;
    if (<u64>address + <u64>size > 0x1_0000_0000) return false;
    if (((address | size) & (align - 1)) != 0) return false;
  }
  return true;
}

/** Blocks the hash ranges yield (saturating at MAX_BLOCKS + 1). */
function countBlocks(offset: u32, count: u32, blockSize: u32): u32 {
  let p = JOB_AREA + <usize>offset;
  let total: u32 = 0;
  for (let i: u32 = 0; i < count; i++, p += RANGE_SIZE) {
    const size = load<u32>(p, 4);
    total += size / blockSize + u32(size % blockSize != 0);
    if (total > MAX_BLOCKS) return MAX_BLOCKS + 1;
  }
  return total;
}

function validate(): u32 {
  if (jobWord(JOB_OFF_MAGIC) != JOB_MAGIC) return STATUS_BAD_MAGIC;
  if (jobWord(JOB_OFF_VERSION) != ABI_VERSION) return STATUS_BAD_VERSION;
  if ((jobWord(JOB_OFF_OPS) & ~OP_ALL) != 0) return STATUS_BAD_JOB;
  const blockSize = jobWord(JOB_OFF_BLOCK_SIZE);
  if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || (blockSize & 7) != 0) {
    return STATUS_BAD_JOB;
  }
  const kind = jobWord(JOB_OFF_PATTERN_KIND);
  if (kind != PATTERN_CONSTANT && kind != PATTERN_XOSHIRO) return STATUS_BAD_JOB;
  const e = jobWord(JOB_OFF_ERASE_COUNT);
  const h = jobWord(JOB_OFF_HASH_COUNT);
  const p = jobWord(JOB_OFF_PROGRAM_COUNT);
  if (e > MAX_RANGES || h > MAX_RANGES || p > MAX_RANGES) return STATUS_BAD_JOB;
  const hashOff = JOB_OFF_RANGES + e * RANGE_SIZE;
  const programOff = hashOff + h * RANGE_SIZE;
  if (!rangesValid(JOB_OFF_RANGES, e, 1)) return STATUS_BAD_JOB;
  if (!rangesValid(hashOff, h, 1)) return STATUS_BAD_JOB;
  if (!rangesValid(programOff, p, PROGRAM_ALIGN)) return STATUS_BAD_JOB;
  if (countBlocks(hashOff, h, blockSize) > MAX_BLOCKS) return STATUS_TOO_MANY_BLOCKS;
  return STATUS_OK;
}

// ---- PROGRAM ----

// xoshiro128** state
let x0: u32 = 0;
let x1: u32 = 0;
let x2: u32 = 0;
let x3: u32 = 0;

function seedXoshiro(rangeAddress: u32): void {
  const seed = JOB_AREA + <usize>JOB_OFF_SEED;
  x0 = splitmix32(load<u32>(seed, 0) ^ rangeAddress);
  x1 = splitmix32(load<u32>(seed, 4) ^ rangeAddress ^ GOLDEN_GAMMA);
  x2 = splitmix32(load<u32>(seed, 8) ^ rangeAddress ^ (GOLDEN_GAMMA * 2));
  x3 = splitmix32(load<u32>(seed, 12) ^ rangeAddress ^ (GOLDEN_GAMMA * 3));
  if ((x0 | x1 | x2 | x3) == 0) x0 = 1;
}

/** Fills len bytes (a multiple of 4) of IO_BUFFER with the next xoshiro128** outputs. */
function fillXoshiro(len: u32): void {
  let s0 = x0, s1 = x1, s2 = x2, s3 = x3;
  const end = IO_BUFFER + <usize>len;
  for (let q = IO_BUFFER; q < end; q += 4) {
    store<u32>(q, rotl<u32>(s1 * 5, 7) * 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl<u32>(s3, 11);
  }
  x0 = s0;
  x1 = s1;
  x2 = s2;
  x3 = s3;
}

function fillConstant(value: u32): void {
  const word = <u64>(value & 0xff) * 0x0101010101010101;
  for (let q = IO_BUFFER; q < IO_BUFFER + <usize>MAX_BLOCK_SIZE; q += 8) store<u64>(q, word);
}

function programRanges(offset: u32, count: u32): u32 {
  const kind = jobWord(JOB_OFF_PATTERN_KIND);
  if (kind == PATTERN_CONSTANT) fillConstant(jobWord(JOB_OFF_PATTERN_VALUE));
  let p = JOB_AREA + <usize>offset;
  for (let i: u32 = 0; i < count; i++, p += RANGE_SIZE) {
    const address = load<u32>(p);
    const size = load<u32>(p, 4);
    if (kind == PATTERN_XOSHIRO) seedXoshiro(address);
    for (let done: u32 = 0; done < size; ) {
      const left = size - done;
      const len = left < MAX_BLOCK_SIZE ? left : MAX_BLOCK_SIZE;
      if (kind == PATTERN_XOSHIRO) fillXoshiro(len);
      const st = halProgram(address + done, IO_BUFFER, len);
      if (st != 0) return fail(STATUS_HAL_PROGRAM, st, address);
      done += len;
    }
    rangesProgrammed = i + 1;
    halEvent(EVENT_PROGRAMMED, i);
  }
  return STATUS_OK;
}

// ---- ERASE ----

function eraseRanges(offset: u32, count: u32): u32 {
  let p = JOB_AREA + <usize>offset;
  for (let i: u32 = 0; i < count; i++, p += RANGE_SIZE) {
    const address = load<u32>(p);
    const st = halErase(address, load<u32>(p, 4));
    if (st != 0) return fail(STATUS_HAL_ERASE, st, address);
    rangesErased = i + 1;
    halEvent(EVENT_ERASED, i);
  }
  return STATUS_OK;
}

// ---- HASH ----

/** True when all len bytes at buf equal the erased byte. */
export function isBlank(buf: usize, len: u32, erased: u32): bool {
  const word = <u64>(erased & 0xff) * 0x0101010101010101;
  let q = buf;
  const wordsEnd = buf + <usize>(len & ~7);
  for (; q < wordsEnd; q += 8) {
    if (load<u64>(q) != word) return false;
  }
  const end = buf + <usize>len;
  for (; q < end; q++) {
    if (<u32>load<u8>(q) != (erased & 0xff)) return false;
  }
  return true;
}

function hashRanges(offset: u32, count: u32): u32 {
  const blockSize = jobWord(JOB_OFF_BLOCK_SIZE);
  const erased = jobWord(JOB_OFF_ERASED_VALUE);
  const nonce = JOB_AREA + <usize>JOB_OFF_NONCE;
  const bitmap = RESULT_AREA + <usize>RES_OFF_BITMAP;
  let p = JOB_AREA + <usize>offset;
  let n: u32 = 0;
  if (ASC_FEATURE_SIMD) discardLanes();
  for (let i: u32 = 0; i < count; i++, p += RANGE_SIZE) {
    const start = load<u32>(p);
    const size = load<u32>(p, 4);
    for (let done: u32 = 0; done < size; ) {
      const left = size - done;
      const len = left < blockSize ? left : blockSize;
      const address = start + done;
      const buf = ASC_FEATURE_SIMD ? laneBuffer(len) : IO_BUFFER;
      const st = halRead(address, buf, len);
      if (st != 0) {
        if (ASC_FEATURE_SIMD) flushLanes();
        return fail(STATUS_HAL_READ, st, address);
      }
      if (isBlank(buf, len, erased)) {
        const w = bitmap + (<usize>(n >>> 5) << 2);
        store<u32>(w, load<u32>(w) | (1 << (n & 31)));
        blankCount++;
      }
      const out = digestBase + <usize>(n * DIGEST_SIZE);
      if (ASC_FEATURE_SIMD) queueDigest(nonce, address, len, out);
      else digestBlock(nonce, address, IO_BUFFER, len, out);
      n++;
      blocksHashed = n;
      halEvent(EVENT_HASHED, n - 1);
      done += len;
    }
  }
  if (ASC_FEATURE_SIMD) flushLanes();
  return STATUS_OK;
}

// ---- run ----

function fail(status: u32, hal: i32, address: u32): u32 {
  halStatus = <u32>hal;
  failAddress = address;
  return status;
}

function execute(): u32 {
  const status = validate();
  if (status != STATUS_OK) return status;
  const ops = jobWord(JOB_OFF_OPS);
  const e = jobWord(JOB_OFF_ERASE_COUNT);
  const h = jobWord(JOB_OFF_HASH_COUNT);
  const hashOff = JOB_OFF_RANGES + e * RANGE_SIZE;
  const programOff = hashOff + h * RANGE_SIZE;

  if ((ops & OP_HASH) != 0) {
    plannedBlocks = countBlocks(hashOff, h, jobWord(JOB_OFF_BLOCK_SIZE));
    digestBase = RESULT_AREA + <usize>(RES_OFF_BITMAP + (bitmapWords(plannedBlocks) << 2));
    const bitmap = RESULT_AREA + <usize>RES_OFF_BITMAP;
    for (let q = bitmap; q < digestBase; q += 4) store<u32>(q, 0);
  }
  let st = STATUS_OK;
  if ((ops & OP_PROGRAM) != 0) {
    st = programRanges(programOff, jobWord(JOB_OFF_PROGRAM_COUNT));
    if (st != STATUS_OK) return st;
  }
  if ((ops & OP_ERASE) != 0) {
    st = eraseRanges(JOB_OFF_RANGES, e);
    if (st != STATUS_OK) return st;
  }
  if ((ops & OP_HASH) != 0) st = hashRanges(hashOff, h);
  return st;
}

/** Runs the job at JOB_AREA; writes the result table at RESULT_AREA and returns its status. */
export function run(): u32 {
  blocksHashed = 0;
  rangesErased = 0;
  rangesProgrammed = 0;
  halStatus = 0;
  failAddress = 0;
  blankCount = 0;
  plannedBlocks = 0;
  digestBase = RESULT_AREA + <usize>RES_OFF_BITMAP;

  const status = execute();

  // Hashing stopped early: the table is laid out for the blocks actually hashed, so pull the
  // digests down next to the (shorter) bitmap.
  const n = blocksHashed;
  const base = RESULT_AREA + <usize>(RES_OFF_BITMAP + (bitmapWords(n) << 2));
  if (base != digestBase) {
    const end = base + <usize>(n * DIGEST_SIZE);
    for (let q = base, s = digestBase; q < end; q += 4, s += 4) store<u32>(q, load<u32>(s));
  }

  const r = RESULT_AREA;
  store<u32>(r + <usize>RES_OFF_MAGIC, RESULT_MAGIC);
  store<u32>(r + <usize>RES_OFF_VERSION, ABI_VERSION);
  store<u32>(r + <usize>RES_OFF_STATUS, status);
  store<u32>(r + <usize>RES_OFF_BLOCKS, n);
  store<u32>(r + <usize>RES_OFF_ERASED, rangesErased);
  store<u32>(r + <usize>RES_OFF_PROGRAMMED, rangesProgrammed);
  store<u32>(r + <usize>RES_OFF_HAL_STATUS, halStatus);
  store<u32>(r + <usize>RES_OFF_FAIL_ADDRESS, failAddress);
  store<u32>(r + <usize>RES_OFF_BLANK_COUNT, blankCount);
  store<u32>(r + <usize>RES_OFF_RESERVED, 0);
  return status;
}
