// An in-memory NOR flash behind the HAL, for the self-contained build (assembly/selfcontained.ts):
// the same engine runs without imports in runtimes that cannot provide them (the wasmtime npm
// binding), over a flash image it fills itself from a seed (docs/terminal-abi-guide.md,
// "Conformance"). Nothing here is compiled into the terminal module.
//
// The flash lives in linear memory from the first 64 KiB page boundary after the engine's static
// data; `configure` grows the memory to hold it. Device address `base + i` is byte i of it.

import { splitmix32 } from './abi';

/** HAL statuses of this flash (any non-zero value is a failure to the engine). */
export const HAL_OUT_OF_RANGE: i32 = 0x20;
export const HAL_MISALIGNED: i32 = 0x21;

/** Where the flash bytes start in linear memory. */
@inline export function flashArea(): usize {
  return (__heap_base + 0xffff) & ~(<usize>0xffff);
}

let flashBase: u32 = 0;
let flashSize: u32 = 0;
let erasedByte: u32 = 0xff;
let programmedEvents: u32 = 0;
let erasedEvents: u32 = 0;
let hashedEvents: u32 = 0;


/**
 * Sets up a flash of `size` bytes (a non-zero multiple of 4) at device address `base` with
 * erased byte value `erased`, filled with the fixed image of `seed`: the u32 word at device
 * address a (a multiple of 4) is splitmix32(seed ^ a), stored little-endian. Returns 0, or 1 for
 * a bad size or range, 2 when the memory cannot grow to hold the flash.
 */
export function configure(base: u32, size: u32, erased: u32, seed: u32): u32 {
  if (size == 0 || (size & 3) != 0 || (base & 3) != 0) return 1;
  if (<u64>base + <u64>size > 0x1_0000_0000) return 1;
  const area = flashArea();
  const pages = <i32>((<u64>area + <u64>size + 0xffff) >>> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return 2;
  flashBase = base;
  flashSize = size;
  erasedByte = erased & 0xff;
  programmedEvents = 0;
  erasedEvents = 0;
  hashedEvents = 0;
  for (let o: u32 = 0; o < size; o += 4) store<u32>(area + <usize>o, splitmix32(seed ^ (base + o)));
  return 0;
}

/** The flash word at device address `addr` (little-endian), 0 outside the flash. */
export function flashWord(addr: u32): u32 {
  if (!inFlash(addr, 4)) return 0;
  return load<u32>(flashArea() + <usize>(addr - flashBase));
}

/** Events the engine reported through the HAL: kind 1 programmed, 2 erased, 3 hashed. */
export function eventCount(kind: u32): u32 {
  if (kind == 1) return programmedEvents;
  if (kind == 2) return erasedEvents;
  if (kind == 3) return hashedEvents;
  return 0;
}

function inFlash(addr: u32, len: u32): bool {
  return flashSize != 0 && addr >= flashBase && <u64>addr + <u64>len <= <u64>flashBase + <u64>flashSize;
}

export function erase(addr: u32, size: u32): i32 {
  if (!inFlash(addr, size)) return HAL_OUT_OF_RANGE;
  const p = flashArea() + <usize>(addr - flashBase);
  const word = erasedByte * 0x01010101;
  let i: u32 = 0;
  for (; i + 4 <= size; i += 4) store<u32>(p + <usize>i, word);
  for (; i < size; i++) store<u8>(p + <usize>i, erasedByte);
  return 0;
}

export function read(addr: u32, dst: usize, len: u32): i32 {
  if (!inFlash(addr, len)) return HAL_OUT_OF_RANGE;
  const p = flashArea() + <usize>(addr - flashBase);
  for (let i: u32 = 0; i < len; i++) store<u8>(dst + <usize>i, load<u8>(p + <usize>i));
  return 0;
}

/** NOR programming: bits can only go from 1 to 0 (flash &= data). */
export function program(addr: u32, src: usize, len: u32): i32 {
  if (!inFlash(addr, len)) return HAL_OUT_OF_RANGE;
  if (((addr | len) & 7) != 0) return HAL_MISALIGNED;
  const p = flashArea() + <usize>(addr - flashBase);
  for (let i: u32 = 0; i < len; i += 4) {
    const q = p + <usize>i;
    store<u32>(q, load<u32>(q) & load<u32>(src + <usize>i));
  }
  return 0;
}

export function event(kind: u32, index: u32): void {
  if (kind == 1) programmedEvents++;
  else if (kind == 2) erasedEvents++;
  else if (kind == 3) hashedEvents++;
}
