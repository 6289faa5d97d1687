// Runs the engine against a mock NOR flash held in this module's memory. scripts/test-engine.mjs routes
// the engine's `hal` imports to the mock* functions exported below (harness: assembly/__tests__/harness/).
import * as abi from '../abi';
import { JOB_AREA, RESULT_AREA, run } from '../engine';
import { init, update, final } from '../sha256';

const FLASH_BASE: u32 = 0x08000000;
const FLASH_SIZE: u32 = 16384;
const SECTOR: u32 = 1024;
const FLASH: usize = memory.data(<i32>FLASH_SIZE, 16);
const OUT: usize = memory.data(32, 16);
const ADDR: usize = memory.data(4, 4);

let failReadAt: u32 = 0xffffffff;
let failEraseAt: u32 = 0xffffffff;
let failProgramAt: u32 = 0xffffffff;
let eraseCalls: u32 = 0;
let events: u32 = 0;
let lastEvent: u32 = 0;

function inFlash(addr: u32, len: u32): bool {
  return addr >= FLASH_BASE && <u64>addr + <u64>len <= <u64>FLASH_BASE + <u64>FLASH_SIZE;
}

export function mockErase(addr: u32, size: u32): i32 {
  eraseCalls++;
  if (addr == failEraseAt) return 0x21;
  if (!inFlash(addr, size) || size != SECTOR || (addr - FLASH_BASE) % SECTOR != 0) return 0x20;
  const p = FLASH + <usize>(addr - FLASH_BASE);
  for (let i: u32 = 0; i < size; i++) store<u8>(p + <usize>i, 0xff);
  return 0;
}

export function mockRead(addr: u32, dst: usize, len: u32): i32 {
  if (addr == failReadAt) return 0x31;
  if (!inFlash(addr, len)) return 0x30;
  const p = FLASH + <usize>(addr - FLASH_BASE);
  for (let i: u32 = 0; i < len; i++) store<u8>(dst + <usize>i, load<u8>(p + <usize>i));
  return 0;
}

export function mockProgram(addr: u32, src: usize, len: u32): i32 {
  if (addr == failProgramAt) return 0x41;
  if (!inFlash(addr, len) || (addr & 7) != 0 || (len & 7) != 0) return 0x40;
  const p = FLASH + <usize>(addr - FLASH_BASE);
  for (let i: u32 = 0; i < len; i++) store<u8>(p + <usize>i, load<u8>(p + <usize>i) & load<u8>(src + <usize>i));
  return 0;
}

export function mockEvent(kind: u32, index: u32): void {
  events++;
  lastEvent = (kind << 16) | index;
}

function resetMock(): void {
  failReadAt = 0xffffffff;
  failEraseAt = 0xffffffff;
  failProgramAt = 0xffffffff;
  eraseCalls = 0;
  events = 0;
  lastEvent = 0;
  // non-blank contents everywhere
  for (let i: u32 = 0; i < FLASH_SIZE; i++) store<u8>(FLASH + <usize>i, <u8>(i * 7 + (i >>> 8)));
}

function job(off: u32, value: u32): void {
  store<u32>(JOB_AREA + <usize>off, value);
}

/** A valid job header with no ranges; ranges are added with setRanges. */
function newJob(ops: u32, blockSize: u32): void {
  for (let i: u32 = 0; i < abi.JOB_HEADER_SIZE; i += 4) job(i, 0);
  job(abi.JOB_OFF_MAGIC, abi.JOB_MAGIC);
  job(abi.JOB_OFF_VERSION, abi.ABI_VERSION);
  job(abi.JOB_OFF_OPS, ops);
  job(abi.JOB_OFF_BLOCK_SIZE, blockSize);
  job(abi.JOB_OFF_ERASED_VALUE, 0xff);
  for (let i: u32 = 0; i < 32; i++) store<u8>(JOB_AREA + <usize>(abi.JOB_OFF_NONCE + i), <u8>i);
}

/** Sets E, H, P and writes each list as consecutive ranges of `size` bytes from `start`. */
function setRanges(e: u32, eStart: u32, eSize: u32, h: u32, hStart: u32, hSize: u32, p: u32, pStart: u32, pSize: u32): void {
  job(abi.JOB_OFF_ERASE_COUNT, e);
  job(abi.JOB_OFF_HASH_COUNT, h);
  job(abi.JOB_OFF_PROGRAM_COUNT, p);
  let off = abi.JOB_OFF_RANGES;
  for (let i: u32 = 0; i < e; i++, off += 8) { job(off, eStart + i * eSize); job(off + 4, eSize); }
  for (let i: u32 = 0; i < h; i++, off += 8) { job(off, hStart + i * hSize); job(off + 4, hSize); }
  for (let i: u32 = 0; i < p; i++, off += 8) { job(off, pStart + i * pSize); job(off + 4, pSize); }
}

function res(off: u32): u32 {
  return load<u32>(RESULT_AREA + <usize>off);
}

/** Address of digest i in a result table of n blocks. */
function digestAt(i: u32, n: u32): usize {
  return RESULT_AREA + <usize>(abi.RES_OFF_BITMAP + 4 * ((n + 31) >>> 5) + 32 * i);
}

/** True when digest i of an n-block table is SHA-256(nonce || address || flash bytes). */
function digestMatches(i: u32, n: u32, address: u32, len: u32): bool {
  store<u32>(ADDR, address);
  init();
  update(JOB_AREA + <usize>abi.JOB_OFF_NONCE, 32);
  update(ADDR, 4);
  update(FLASH + <usize>(address - FLASH_BASE), len);
  final(OUT);
  const d = digestAt(i, n);
  for (let k: usize = 0; k < 32; k++) if (load<u8>(OUT + k) != load<u8>(d + k)) return false;
  return true;
}

describe('engine: job validation', () => {
  beforeEach(resetMock);

  it('reports BAD_MAGIC and writes the result header', () => {
    newJob(abi.OP_HASH, 1024);
    job(abi.JOB_OFF_MAGIC, 0x12345678);
    expect(run()).toBe(abi.STATUS_BAD_MAGIC);
    expect(res(abi.RES_OFF_MAGIC)).toBe(abi.RESULT_MAGIC);
    expect(res(abi.RES_OFF_VERSION)).toBe(abi.ABI_VERSION);
    expect(res(abi.RES_OFF_STATUS)).toBe(abi.STATUS_BAD_MAGIC);
    expect(res(abi.RES_OFF_BLOCKS)).toBe(0);
  });

  it('reports BAD_VERSION', () => {
    newJob(abi.OP_HASH, 1024);
    job(abi.JOB_OFF_VERSION, 2);
    expect(run()).toBe(abi.STATUS_BAD_VERSION);
  });

  it('reports BAD_JOB for bad block sizes, counts, ranges and ops', () => {
    newJob(abi.OP_HASH, 12);
    expect(run()).toBe(abi.STATUS_BAD_JOB);
    newJob(abi.OP_HASH, 8192);
    expect(run()).toBe(abi.STATUS_BAD_JOB);
    newJob(abi.OP_HASH | 8, 1024);
    expect(run()).toBe(abi.STATUS_BAD_JOB);
    newJob(abi.OP_HASH, 1024);
    setRanges(513, FLASH_BASE, 8, 0, 0, 0, 0, 0, 0);
    expect(run()).toBe(abi.STATUS_BAD_JOB);
    newJob(abi.OP_PROGRAM, 1024);
    setRanges(0, 0, 0, 0, 0, 0, 1, FLASH_BASE + 4, 8);
    expect(run()).toBe(abi.STATUS_BAD_JOB);
    newJob(abi.OP_HASH, 1024);
    setRanges(0, 0, 0, 1, 0xfffffff0, 0x20, 0, 0, 0);
    expect(run()).toBe(abi.STATUS_BAD_JOB);
    expect(eraseCalls).toBe(0);
  });

  it('reports TOO_MANY_BLOCKS', () => {
    newJob(abi.OP_HASH, 8);
    setRanges(0, 0, 0, 1, FLASH_BASE, 8 * 513, 0, 0, 0);
    expect(run()).toBe(abi.STATUS_TOO_MANY_BLOCKS);
    newJob(abi.OP_HASH, 8);
    setRanges(0, 0, 0, 1, FLASH_BASE, 8 * 512, 0, 0, 0);
    expect(run()).toBe(abi.STATUS_OK);
    expect(res(abi.RES_OFF_BLOCKS)).toBe(512);
  });
});

describe('engine: runs against the mock flash', () => {
  beforeEach(resetMock);

  it('erases and hashes: blank flags and digests', () => {
    newJob(abi.OP_ERASE | abi.OP_HASH, 1024);
    setRanges(2, FLASH_BASE + SECTOR, SECTOR, 1, FLASH_BASE, 4 * SECTOR, 0, 0, 0);
    expect(run()).toBe(abi.STATUS_OK);
    expect(res(abi.RES_OFF_ERASED)).toBe(2);
    expect(res(abi.RES_OFF_BLOCKS)).toBe(4);
    expect(res(abi.RES_OFF_BLANK_COUNT)).toBe(2);
    expect(res(abi.RES_OFF_BITMAP)).toBe(0b0110);
    for (let i: u32 = 0; i < 4; i++) expect(digestMatches(i, 4, FLASH_BASE + i * SECTOR, SECTOR)).toBe(true);
    expect(events).toBe(6);
    expect(lastEvent).toBe((abi.EVENT_HASHED << 16) | 3);
  });

  it('matches a digest computed outside the engine', () => {
    newJob(abi.OP_ERASE | abi.OP_HASH, 1024);
    setRanges(1, FLASH_BASE + SECTOR, SECTOR, 1, FLASH_BASE + SECTOR, SECTOR, 0, 0, 0);
    expect(run()).toBe(abi.STATUS_OK);
    // SHA-256(bytes 0..31 || 00 04 00 08 || 1024 x ff), from Python's hashlib
    const expected: u8[] = [
      0x6a, 0xc1, 0x33, 0xf5, 0x7a, 0x15, 0xaf, 0xc8, 0x0f, 0x17, 0xe2, 0x41, 0xfa, 0x04, 0x61, 0xbd,
      0x87, 0xc5, 0x9f, 0xf6, 0x9b, 0x4a, 0x7d, 0xb2, 0x0b, 0xeb, 0x8a, 0x1e, 0x51, 0x87, 0x6e, 0xcf,
    ];
    for (let k = 0; k < 32; k++) expect(load<u8>(digestAt(0, 1) + <usize>k)).toBe(expected[k]);
  });

  it('hashes a partial last block', () => {
    newJob(abi.OP_HASH, 1024);
    setRanges(0, 0, 0, 1, FLASH_BASE + 100, 2500, 0, 0, 0);
    expect(run()).toBe(abi.STATUS_OK);
    expect(res(abi.RES_OFF_BLOCKS)).toBe(3);
    expect(digestMatches(0, 3, FLASH_BASE + 100, 1024)).toBe(true);
    expect(digestMatches(1, 3, FLASH_BASE + 1124, 1024)).toBe(true);
    expect(digestMatches(2, 3, FLASH_BASE + 2148, 452)).toBe(true);
  });

  it('programs a constant pattern, then hashes it', () => {
    newJob(abi.OP_ERASE | abi.OP_HASH, 1024);
    setRanges(1, FLASH_BASE, SECTOR, 0, 0, 0, 0, 0, 0);
    expect(run()).toBe(abi.STATUS_OK);
    newJob(abi.OP_PROGRAM | abi.OP_HASH, 256);
    job(abi.JOB_OFF_PATTERN_VALUE, 0x3c);
    setRanges(0, 0, 0, 1, FLASH_BASE, SECTOR, 1, FLASH_BASE, SECTOR);
    expect(run()).toBe(abi.STATUS_OK);
    expect(res(abi.RES_OFF_PROGRAMMED)).toBe(1);
    for (let i: u32 = 0; i < SECTOR; i++) expect(load<u8>(FLASH + <usize>i)).toBe(0x3c);
    expect(res(abi.RES_OFF_BLANK_COUNT)).toBe(0);
    for (let i: u32 = 0; i < 4; i++) expect(digestMatches(i, 4, FLASH_BASE + 256 * i, 256)).toBe(true);
  });

  it('programs the xoshiro128** stream, and erasing afterwards leaves the sector blank', () => {
    newJob(abi.OP_ERASE, 1024);
    setRanges(1, FLASH_BASE, SECTOR, 0, 0, 0, 0, 0, 0);
    expect(run()).toBe(abi.STATUS_OK);
    newJob(abi.OP_PROGRAM, 1024);
    job(abi.JOB_OFF_PATTERN_KIND, abi.PATTERN_XOSHIRO);
    job(abi.JOB_OFF_SEED, 1);
    job(abi.JOB_OFF_SEED + 4, 2);
    job(abi.JOB_OFF_SEED + 8, 3);
    job(abi.JOB_OFF_SEED + 12, 4);
    setRanges(0, 0, 0, 0, 0, 0, 1, FLASH_BASE, 16);
    expect(run()).toBe(abi.STATUS_OK);
    // xoshiro128** outputs for seed 1,2,3,4 at range address 0x08000000 (from an independent
    // Python model of docs/abi.md)
    expect(load<u32>(FLASH, 0)).toBe(0x9e3357c8);
    expect(load<u32>(FLASH, 4)).toBe(0xab029794);
    expect(load<u32>(FLASH, 8)).toBe(0x7b1caec6);
    expect(load<u32>(FLASH, 12)).toBe(0xb051f5f9);
    expect(load<u32>(FLASH, 16)).toBe(0xffffffff);
    newJob(abi.OP_PROGRAM | abi.OP_ERASE | abi.OP_HASH, 1024);
    job(abi.JOB_OFF_PATTERN_KIND, abi.PATTERN_XOSHIRO);
    setRanges(1, FLASH_BASE, SECTOR, 1, FLASH_BASE, SECTOR, 1, FLASH_BASE, SECTOR);
    expect(run()).toBe(abi.STATUS_OK);
    expect(res(abi.RES_OFF_PROGRAMMED)).toBe(1);
    expect(res(abi.RES_OFF_ERASED)).toBe(1);
    expect(res(abi.RES_OFF_BITMAP)).toBe(1);
  });

  it('stops at a HAL erase failure', () => {
    newJob(abi.OP_ERASE | abi.OP_HASH, 1024);
    setRanges(4, FLASH_BASE, SECTOR, 1, FLASH_BASE, SECTOR, 0, 0, 0);
    failEraseAt = FLASH_BASE + 2 * SECTOR;
    expect(run()).toBe(abi.STATUS_HAL_ERASE);
    expect(res(abi.RES_OFF_ERASED)).toBe(2);
    expect(res(abi.RES_OFF_HAL_STATUS)).toBe(0x21);
    expect(res(abi.RES_OFF_FAIL_ADDRESS)).toBe(FLASH_BASE + 2 * SECTOR);
    expect(res(abi.RES_OFF_BLOCKS)).toBe(0);
  });

  it('stops at a HAL program failure', () => {
    newJob(abi.OP_PROGRAM, 1024);
    setRanges(0, 0, 0, 0, 0, 0, 3, FLASH_BASE, 8192);
    failProgramAt = FLASH_BASE + 8192 + 4096; // second chunk of the second range
    expect(run()).toBe(abi.STATUS_HAL_PROGRAM);
    expect(res(abi.RES_OFF_PROGRAMMED)).toBe(1);
    expect(res(abi.RES_OFF_HAL_STATUS)).toBe(0x41);
    expect(res(abi.RES_OFF_FAIL_ADDRESS)).toBe(FLASH_BASE + 8192);
  });

  it('stops at a HAL read failure and lays the table out for the blocks hashed', () => {
    newJob(abi.OP_HASH, 16);
    setRanges(0, 0, 0, 1, FLASH_BASE, 16 * 100, 0, 0, 0);
    failReadAt = FLASH_BASE + 16 * 40;
    expect(run()).toBe(abi.STATUS_HAL_READ);
    expect(res(abi.RES_OFF_BLOCKS)).toBe(40);
    expect(res(abi.RES_OFF_HAL_STATUS)).toBe(0x31);
    expect(res(abi.RES_OFF_FAIL_ADDRESS)).toBe(FLASH_BASE + 640);
    for (let i: u32 = 0; i < 40; i++) expect(digestMatches(i, 40, FLASH_BASE + 16 * i, 16)).toBe(true);
  });
});
