// The flash HAL the engine calls (docs/abi.md, "Imports"). Which implementation is compiled in is
// decided per build target, at compile time:
//   - terminal, debug (and the specs, scripts/test-engine.mjs): the `hal` imports of hal-device.ts, which is what a
//     terminal's runtime provides;
//   - selfcontained (asconfig.json `use: POSWIPE_MEMORY_HAL=1`, entry assembly/selfcontained.ts):
//     the in-memory flash of hal-memory.ts, so the module has no imports at all and runs in any
//     runtime (docs/terminal-abi-guide.md, "Conformance").
// The branch is resolved by the compiler: the other implementation is never compiled, so the
// terminal module keeps exactly its four hal imports and the self-contained one has none.
import * as device from './hal-device';
import * as inMemory from './hal-memory';

@inline export function halErase(addr: u32, size: u32): i32 {
  if (isDefined(POSWIPE_MEMORY_HAL)) return inMemory.erase(addr, size);
  else return device.erase(addr, size);
}

@inline export function halRead(addr: u32, dst: usize, len: u32): i32 {
  if (isDefined(POSWIPE_MEMORY_HAL)) return inMemory.read(addr, dst, len);
  else return device.read(addr, dst, len);
}

@inline export function halProgram(addr: u32, src: usize, len: u32): i32 {
  if (isDefined(POSWIPE_MEMORY_HAL)) return inMemory.program(addr, src, len);
  else return device.program(addr, src, len);
}

@inline export function halEvent(kind: u32, index: u32): void {
  if (isDefined(POSWIPE_MEMORY_HAL)) inMemory.event(kind, index);
  else device.event(kind, index);
}
