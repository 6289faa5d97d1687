// Self-contained entry (asconfig target `selfcontained`, build/selfcontained.wasm): the same engine
// sources as the terminal module (engine.ts, sha256.ts, abi.ts), with the HAL compiled as an
// in-memory flash (hal-memory.ts) instead of imports. It imports nothing and every export takes
// and returns numbers only, so a runtime that can neither provide imports nor read memory (the
// wasmtime npm binding) can still run a job and return every digest. docs/terminal-abi-guide.md,
// "Conformance", describes the exports; host/image/conformance.ts drives them.
import * as abi from './abi';
import { JOB_AREA, RESULT_AREA } from './engine';
import * as flash from './hal-memory';

if (!isDefined(POSWIPE_MEMORY_HAL)) {
  ERROR('assembly/selfcontained.ts must be built with `--use POSWIPE_MEMORY_HAL=1` (asconfig target selfcontained)');
}

export { run } from './engine';

/** ABI version of the engine (docs/abi.md). */
export function abiVersion(): u32 {
  return abi.ABI_VERSION;
}

/** Size of the job area in bytes. */
export function jobMax(): u32 {
  return abi.JOB_MAX;
}

/**
 * Sets up the in-memory flash: `size` bytes at device address `base`, erased byte `erased`, filled
 * with the fixed image of `seed` (hal-memory.ts). Returns 0, 1 bad size/range, 2 out of memory.
 */
export function setup(base: u32, size: u32, erased: u32, seed: u32): u32 {
  return flash.configure(base, size, erased, seed);
}

/** Writes the u32 `value` at byte `offset` of the job area; returns 0, or 1 when out of range or misaligned. */
export function setJobWord(offset: u32, value: u32): u32 {
  if ((offset & 3) != 0 || offset + 4 > abi.JOB_MAX) return 1;
  store<u32>(JOB_AREA + <usize>offset, value);
  return 0;
}

/** The u32 at byte `offset` of the job area (0 out of range). */
export function jobWord(offset: u32): u32 {
  if ((offset & 3) != 0 || offset + 4 > abi.JOB_MAX) return 0;
  return load<u32>(JOB_AREA + <usize>offset);
}

/** The u32 at byte `offset` of the result table (docs/abi.md, "Result table"); 0 out of range. */
export function resultWord(offset: u32): u32 {
  if ((offset & 3) != 0 || offset + 4 > abi.RESULT_MAX) return 0;
  return load<u32>(RESULT_AREA + <usize>offset);
}

@inline function be32(x: u32): u32 {
  return (rotl<u32>(x, 8) & 0x00ff00ff) | (rotr<u32>(x, 8) & 0xff00ff00);
}

/**
 * Word i (0..7) of block `block`'s digest, big-endian: printed as 8 hex digits, words 0..7 give
 * the digest's usual hex form. 0 when the block was not hashed or i is out of range.
 */
export function digestWord(block: u32, i: u32): u32 {
  const n = load<u32>(RESULT_AREA + <usize>abi.RES_OFF_BLOCKS);
  if (block >= n || i >= 8) return 0;
  const at = abi.RES_OFF_BITMAP + (((n + 31) >>> 5) << 2) + block * abi.DIGEST_SIZE + (i << 2);
  return be32(load<u32>(RESULT_AREA + <usize>at));
}

/** 1 when every byte of block `block` equalled the erased value (the result table's bitmap). */
export function blank(block: u32): u32 {
  const n = load<u32>(RESULT_AREA + <usize>abi.RES_OFF_BLOCKS);
  if (block >= n) return 0;
  return (load<u32>(RESULT_AREA + <usize>(abi.RES_OFF_BITMAP + ((block >>> 5) << 2))) >>> (block & 31)) & 1;
}

/** The in-memory flash word at device address `addr`. */
export function flashWord(addr: u32): u32 {
  return flash.flashWord(addr);
}

/** How many events of `kind` (1 programmed, 2 erased, 3 hashed) the engine reported since setup. */
export function eventCount(kind: u32): u32 {
  return flash.eventCount(kind);
}
