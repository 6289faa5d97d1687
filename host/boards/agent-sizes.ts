/**
 * Sizes of the agent's RAM areas, from the ABI (docs/abi.md): what a job or result table of a
 * given capacity takes, and the least a board may give each area (rule agent-fits).
 */

/** 16-byte load header + an 8 KiB module + 64 bytes of signature */
export const MIN_MODULE_BYTES = 16 + 8192 + 64;
/** job header (88 bytes) + 64 ranges of 8 bytes */
export const MIN_JOB_BYTES = 88 + 8 * 64;
/** result table for 64 blocks: 40 + 4*ceil(64/32) + 32*64 */
export const MIN_RESULT_BYTES = resultBytesFor(64);
/** one 64 KiB Wasm page */
export const MIN_AGENT_RAM_BYTES = 65536;

/** Size of a result table holding `blocks` digests (docs/abi.md). */
export function resultBytesFor(blocks: number): number {
  return 40 + 4 * Math.ceil(blocks / 32) + 32 * blocks;
}

/** How many blocks a result area of `bytes` can report (capped at the ABI's 512). */
export function blocksFitting(bytes: number): number {
  let n = Math.min(512, Math.floor(Math.max(0, bytes - 40) / 32));
  while (n > 0 && resultBytesFor(n) > bytes) n--;
  return n;
}

/** How many ranges (erase + hash + program) a job area of `bytes` can hold. */
export function rangesFitting(bytes: number): number {
  return Math.max(0, Math.floor((bytes - 88) / 8));
}
