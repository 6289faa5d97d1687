// The host build's block digests, four at a time (sha256x4.ts). The engine's hash loop reads each
// block straight into a lane (laneBuffer), checks it for blank there, and queues its digest
// (queueDigest); once four blocks of the same length are queued they are hashed together. A lane
// holds the whole message of a block digest — nonce[32] ‖ address LE ‖ the block's bytes — and
// room for its padding, so the kernel runs over it in place. flushLanes() writes whatever is
// still queued; the engine calls it before it returns from hashing, so every digest is in the
// result table when `run` returns, exactly as in the scalar build.
//
// Only compiled when SIMD is enabled (engine.ts guards every call with ASC_FEATURE_SIMD).

import { digestBlock } from './sha256';
import { padMessage, sha256x4 } from './sha256x4';

/** bytes before a block in its lane: nonce (32) and address (4) */
export const LANE_PREFIX: u32 = 36;
/** room per lane: prefix, a 4096-byte block and up to 72 bytes of padding, rounded to 64 */
export const LANE_STRIDE: u32 = 4224;
// static data only in SIMD builds (resolved at compile time: the terminal layout stays as it was)
export const LANES: usize = !ASC_FEATURE_SIMD ? 0 : memory.data(4 * LANE_STRIDE, 16);
const OUTS: usize = !ASC_FEATURE_SIMD ? 0 : memory.data(16, 16); // where each queued lane's digest goes
const SCRATCH: usize = !ASC_FEATURE_SIMD ? 0 : memory.data(32, 16); // digest of an unused lane

let pending: u32 = 0; // lanes queued
let pendingLen: u32 = 0; // block length of the queued lanes

@inline function lane(k: u32): usize {
  return LANES + <usize>(k * LANE_STRIDE);
}

/** Forgets anything queued (a new run: a previous one may have trapped mid-way). */
export function discardLanes(): void {
  pending = 0;
  pendingLen = 0;
}

/**
 * Where to read the next block of `len` bytes (≤ 4096). Flushes the queue first when its blocks
 * have another length: the lanes of one batch must hash the same number of chunks.
 */
export function laneBuffer(len: u32): usize {
  if (pending != 0 && len != pendingLen) flushLanes();
  pendingLen = len;
  return lane(pending) + <usize>LANE_PREFIX;
}

/**
 * Queues SHA-256(nonce[32] ‖ address LE ‖ the `len` bytes just read at laneBuffer(len)) to be
 * written at out; hashes the batch when it is full.
 */
export function queueDigest(noncePtr: usize, address: u32, len: u32, out: usize): void {
  const p = lane(pending);
  for (let i: usize = 0; i < 32; i += 8) store<u64>(p + i, load<u64>(noncePtr + i));
  store<u32>(p, address, 32);
  store<usize>(OUTS + (<usize>pending << 2), out);
  pendingLen = len;
  pending++;
  if (pending == 4) flushLanes();
}

/** Hashes and writes every queued digest. */
export function flushLanes(): void {
  const n = pending;
  if (n == 0) return;
  pending = 0;
  const len = pendingLen + LANE_PREFIX;
  if (n == 1) {
    // one lane alone: the scalar kernel costs half of a four-lane pass
    const p = lane(0);
    digestBlock(p, load<u32>(p, 32), p + <usize>LANE_PREFIX, pendingLen, load<usize>(OUTS));
    return;
  }
  let chunks: u32 = 0;
  for (let k: u32 = 0; k < n; k++) chunks = padMessage(lane(k), len);
  // unused lanes hash lane 0 again into scratch
  const p1 = lane(1);
  const p2 = n > 2 ? lane(2) : lane(0);
  const p3 = n > 3 ? lane(3) : lane(0);
  const o2 = n > 2 ? load<usize>(OUTS, 8) : SCRATCH;
  const o3 = n > 3 ? load<usize>(OUTS, 12) : SCRATCH;
  sha256x4(lane(0), p1, p2, p3, chunks, load<usize>(OUTS, 0), load<usize>(OUTS, 4), o2, o3);
}
