// The engine's side of the terminal ABI (docs/abi.md). host/engine/abi.ts mirrors every value;
// change the document, both files and ABI_VERSION together.

export const ABI_VERSION: u32 = 1;

// Magic words, read as little-endian u32.
export const JOB_MAGIC: u32 = 0x424a5750; // "PWJB"
export const RESULT_MAGIC: u32 = 0x53525750; // "PWRS"

// Job ops (bit set = requested); run in the order PROGRAM, ERASE, HASH.
export const OP_PROGRAM: u32 = 1;
export const OP_ERASE: u32 = 2;
export const OP_HASH: u32 = 4;
export const OP_ALL: u32 = OP_PROGRAM | OP_ERASE | OP_HASH;

// Limits.
export const MAX_RANGES: u32 = 512; // per range list (E, H, P)
export const MAX_BLOCKS: u32 = 512; // over all hash ranges
export const MIN_BLOCK_SIZE: u32 = 8;
export const MAX_BLOCK_SIZE: u32 = 4096;
export const PROGRAM_ALIGN: u32 = 8;
export const NONCE_SIZE: u32 = 32;
export const DIGEST_SIZE: u32 = 32;
export const RANGE_SIZE: u32 = 8; // { u32 address, u32 size }

// Pattern kinds.
export const PATTERN_CONSTANT: u32 = 0;
export const PATTERN_XOSHIRO: u32 = 1;

// Job layout (byte offsets from JOB).
export const JOB_OFF_MAGIC: u32 = 0;
export const JOB_OFF_VERSION: u32 = 4;
export const JOB_OFF_OPS: u32 = 8;
export const JOB_OFF_BLOCK_SIZE: u32 = 12;
export const JOB_OFF_ERASED_VALUE: u32 = 16;
export const JOB_OFF_PATTERN_KIND: u32 = 20;
export const JOB_OFF_PATTERN_VALUE: u32 = 24;
export const JOB_OFF_ERASE_COUNT: u32 = 28;
export const JOB_OFF_HASH_COUNT: u32 = 32;
export const JOB_OFF_PROGRAM_COUNT: u32 = 36;
export const JOB_OFF_SEED: u32 = 40;
export const JOB_OFF_NONCE: u32 = 56;
export const JOB_OFF_RANGES: u32 = 88; // erase ranges, then hash ranges, then program ranges
export const JOB_HEADER_SIZE: u32 = JOB_OFF_RANGES;
export const JOB_MAX: u32 = JOB_HEADER_SIZE + 3 * MAX_RANGES * RANGE_SIZE; // 12376

// Result layout (byte offsets from RESULT).
export const RES_OFF_MAGIC: u32 = 0;
export const RES_OFF_VERSION: u32 = 4;
export const RES_OFF_STATUS: u32 = 8;
export const RES_OFF_BLOCKS: u32 = 12;
export const RES_OFF_ERASED: u32 = 16;
export const RES_OFF_PROGRAMMED: u32 = 20;
export const RES_OFF_HAL_STATUS: u32 = 24;
export const RES_OFF_FAIL_ADDRESS: u32 = 28;
export const RES_OFF_BLANK_COUNT: u32 = 32;
export const RES_OFF_RESERVED: u32 = 36;
export const RES_OFF_BITMAP: u32 = 40;
export const RESULT_HEADER_SIZE: u32 = RES_OFF_BITMAP;
export const RESULT_MAX: u32 =
  RESULT_HEADER_SIZE + 4 * ((MAX_BLOCKS + 31) >>> 5) + DIGEST_SIZE * MAX_BLOCKS; // 16488

// Status codes.
export const STATUS_OK: u32 = 0;
export const STATUS_BAD_MAGIC: u32 = 1;
export const STATUS_BAD_VERSION: u32 = 2;
export const STATUS_BAD_JOB: u32 = 3;
export const STATUS_TOO_MANY_BLOCKS: u32 = 4;
export const STATUS_HAL_PROGRAM: u32 = 5;
export const STATUS_HAL_ERASE: u32 = 6;
export const STATUS_HAL_READ: u32 = 7;

// hal.event kinds.
export const EVENT_PROGRAMMED: u32 = 1;
export const EVENT_ERASED: u32 = 2;
export const EVENT_HASHED: u32 = 3;

// Pattern generator constants.
export const GOLDEN_GAMMA: u32 = 0x9e3779b9;

/** splitmix32 as docs/abi.md ("Patterns") defines it: seeds the pattern generator and the self-contained image. */
@inline export function splitmix32(x: u32): u32 {
  let z = x + GOLDEN_GAMMA;
  z = (z ^ (z >>> 16)) * 0x85ebca6b;
  z = (z ^ (z >>> 13)) * 0xc2b2ae35;
  return z ^ (z >>> 16);
}
