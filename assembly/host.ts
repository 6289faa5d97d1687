// Host entry (asconfig target `host`, build/host.wasm): the terminal engine compiled with 128-bit
// SIMD, for the emulator and desktop runtimes; terminals keep the MVP build of index.ts. The job
// ABI is the same (docs/abi.md: memory, ABI_VERSION, JOB, RESULT, JOB_MAX, RESULT_MAX, run, the
// four hal imports): only the HASH op differs inside, hashing four blocks at once in v128 lanes
// (lanes.ts, sha256x4.ts) and giving the same digests.
//
// Besides the ABI it exports the raw kernels, for tests/sha256x4.test.ts and bench/:
//   LANES, LANE_STRIDE  four message buffers of LANE_STRIDE bytes each (a message of at most
//                       HASH4_MAX bytes at the start of each)
//   hash4(len)          SHA-256 of the `len`-byte messages in the four lanes, to DIGESTS4 (4 x 32
//                       bytes, lane order); the lanes' bytes after each message are overwritten
//   blankCheck(p, n, v) the engine's blank check: 1 when the n bytes at p all equal v
import * as abi from './abi';
import { JOB_AREA, RESULT_AREA, isBlank } from './engine';
import * as lanes from './lanes';
import { padMessage, sha256x4 } from './sha256x4';

if (!ASC_FEATURE_SIMD) {
  ERROR('assembly/host.ts is the SIMD host entry: build it with --enable simd (asconfig target host)');
}
if (isDefined(POSWIPE_MEMORY_HAL)) {
  ERROR('assembly/host.ts uses the hal imports: build it without POSWIPE_MEMORY_HAL');
}

export const ABI_VERSION: i32 = <i32>abi.ABI_VERSION;
export const JOB: i32 = <i32>JOB_AREA;
export const RESULT: i32 = <i32>RESULT_AREA;
export const JOB_MAX: i32 = <i32>abi.JOB_MAX;
export const RESULT_MAX: i32 = <i32>abi.RESULT_MAX;

export { run } from './engine';

// ---- raw kernels ----

const OUT4: usize = memory.data(4 * 32, 16);

export const LANES: i32 = <i32>lanes.LANES;
export const LANE_STRIDE: i32 = <i32>lanes.LANE_STRIDE;
/** longest message hash4 takes: a lane less the 72 bytes padding may need */
export const HASH4_MAX: i32 = <i32>lanes.LANE_STRIDE - 72;
export const DIGESTS4: i32 = <i32>OUT4;

/** SHA-256 of the four `len`-byte messages at the start of the lanes, to DIGESTS4; 0, or 1 when len is too long. */
export function hash4(len: u32): u32 {
  if (len > <u32>HASH4_MAX) return 1;
  const stride = <usize>lanes.LANE_STRIDE;
  const p0 = lanes.LANES;
  let chunks: u32 = 0;
  for (let k: usize = 0; k < 4; k++) chunks = padMessage(p0 + k * stride, len);
  sha256x4(p0, p0 + stride, p0 + 2 * stride, p0 + 3 * stride, chunks, OUT4, OUT4 + 32, OUT4 + 64, OUT4 + 96);
  return 0;
}

/** The engine's blank check (engine.ts isBlank): 1 when the `len` bytes at p all equal `erased`. */
export function blankCheck(p: usize, len: u32, erased: u32): u32 {
  return isBlank(p, len, erased) ? 1 : 0;
}
