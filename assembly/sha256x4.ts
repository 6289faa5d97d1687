// Four-lane SHA-256 (FIPS 180-4) in 128-bit SIMD: four independent messages of the same length
// are hashed at once, lane k of every v128 belonging to message k. Only SIMD builds (asconfig
// target "host") compile its code and data; terminals keep the MVP scalar engine of sha256.ts.
//
// The messages must already be padded in place (padMessage) so that all four have the same
// number of 64-byte chunks. Per chunk, the 64-word schedule is expanded into W4 (64 v128, one
// word of each message per lane), then 64 rounds run with the eight working variables in locals.
// Allocation-free: the state, the schedule and the round constants are static data.

// Static data only in SIMD builds (the `ASC_FEATURE_SIMD ?` is resolved at compile time), so that
// importing this file leaves the terminal module's memory layout untouched.

// Round constants: the scalar engine's table (sha256.ts); each round splats one into all four lanes (v128.load32_splat).
import { K } from './sha256';

const STATE4: usize = !ASC_FEATURE_SIMD ? 0 : memory.data(8 * 16, 16); // H0..H7, one v128 each (lane k = message k)
const W4: usize = !ASC_FEATURE_SIMD ? 0 : memory.data(64 * 16, 16); // message schedule of the current chunk

// ---- lane-wise helpers (all @inline: each becomes a handful of SSE/NEON instructions) ----

@inline function add(a: v128, b: v128): v128 { return i32x4.add(a, b); }
@inline function xor(a: v128, b: v128): v128 { return v128.xor(a, b); }
@inline function rotr(x: v128, n: i32): v128 { return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n)); }
@inline function S0(x: v128): v128 { return xor(xor(rotr(x, 2), rotr(x, 13)), rotr(x, 22)); }
@inline function S1(x: v128): v128 { return xor(xor(rotr(x, 6), rotr(x, 11)), rotr(x, 25)); }
@inline function s0(x: v128): v128 { return xor(xor(rotr(x, 7), rotr(x, 18)), i32x4.shr_u(x, 3)); }
@inline function s1(x: v128): v128 { return xor(xor(rotr(x, 17), rotr(x, 19)), i32x4.shr_u(x, 10)); }
@inline function ch(e: v128, f: v128, g: v128): v128 { return xor(g, v128.and(e, xor(f, g))); }
/** Byte order of every 32-bit lane reversed (message words are big-endian). */
@inline function bswapLanes(x: v128): v128 {
  return i8x16.shuffle(x, x, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
}

/**
 * Transposes the 4x4 matrix of 32-bit words in rows r0..r3 (row k = four consecutive words of
 * message k) and stores its columns at dst, dst+16, dst+32, dst+48 (column i = word i of every
 * message), i.e. the layout W4 and STATE4 use.
 */
@inline function transposeStore(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize): void {
  const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5); // r0.0 r1.0 r0.1 r1.1
  const t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5); // r2.0 r3.0 r2.1 r3.1
  const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7); // r0.2 r1.2 r0.3 r1.3
  const t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7); // r2.2 r3.2 r2.3 r3.3
  v128.store(dst, v128.shuffle<i64>(t0, t1, 0, 2), 0);
  v128.store(dst, v128.shuffle<i64>(t0, t1, 1, 3), 16);
  v128.store(dst, v128.shuffle<i64>(t2, t3, 0, 2), 32);
  v128.store(dst, v128.shuffle<i64>(t2, t3, 1, 3), 48);
}

/** Resets the four chaining states to the SHA-256 initial value. */
export function init4(): void {
  v128.store(STATE4, i32x4.splat(0x6a09e667), 0);
  v128.store(STATE4, i32x4.splat(0xbb67ae85), 16);
  v128.store(STATE4, i32x4.splat(0x3c6ef372), 32);
  v128.store(STATE4, i32x4.splat(0xa54ff53a), 48);
  v128.store(STATE4, i32x4.splat(0x510e527f), 64);
  v128.store(STATE4, i32x4.splat(0x9b05688c), 80);
  v128.store(STATE4, i32x4.splat(0x1f83d9ab), 96);
  v128.store(STATE4, i32x4.splat(0x5be0cd19), 112);
}

/** One 64-byte chunk of each message: chunk of message k at pk. */
export function compress4(p0: usize, p1: usize, p2: usize, p3: usize): void {
  // W[0..15]: big-endian words, transposed into lanes
  for (let j: usize = 0; j < 64; j += 16) {
    transposeStore(
      bswapLanes(v128.load(p0 + j)),
      bswapLanes(v128.load(p1 + j)),
      bswapLanes(v128.load(p2 + j)),
      bswapLanes(v128.load(p3 + j)),
      W4 + (j << 2),
    );
  }
  // W[16..63]: W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], with q at W[t-16]
  for (let q = W4; q < W4 + 768; q += 16) {
    const w = add(add(s1(v128.load(q, 224)), v128.load(q, 144)), add(s0(v128.load(q, 16)), v128.load(q, 0)));
    v128.store(q, w, 256);
  }

  let a = v128.load(STATE4, 0), b = v128.load(STATE4, 16), c = v128.load(STATE4, 32), d = v128.load(STATE4, 48);
  let e = v128.load(STATE4, 64), f = v128.load(STATE4, 80), g = v128.load(STATE4, 96), h = v128.load(STATE4, 112);
  // Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)); b ^ c is the previous round's a ^ b (carried in x / y)
  let x = xor(b, c), y = x;
  // eight rounds per pass with the variables renamed instead of shifted; w and k walk the
  // schedule and the constants so that every load has a constant offset
  for (let w = W4, k = K; w < W4 + 1024; w += 128, k += 32) {
    h = add(add(h, S1(e)), add(ch(e, f, g), add(v128.load(w, 0), v128.load32_splat(k, 0)))); d = add(d, h); y = xor(a, b); h = add(h, add(S0(a), xor(b, v128.and(y, x))));
    g = add(add(g, S1(d)), add(ch(d, e, f), add(v128.load(w, 16), v128.load32_splat(k, 4)))); c = add(c, g); x = xor(h, a); g = add(g, add(S0(h), xor(a, v128.and(x, y))));
    f = add(add(f, S1(c)), add(ch(c, d, e), add(v128.load(w, 32), v128.load32_splat(k, 8)))); b = add(b, f); y = xor(g, h); f = add(f, add(S0(g), xor(h, v128.and(y, x))));
    e = add(add(e, S1(b)), add(ch(b, c, d), add(v128.load(w, 48), v128.load32_splat(k, 12)))); a = add(a, e); x = xor(f, g); e = add(e, add(S0(f), xor(g, v128.and(x, y))));
    d = add(add(d, S1(a)), add(ch(a, b, c), add(v128.load(w, 64), v128.load32_splat(k, 16)))); h = add(h, d); y = xor(e, f); d = add(d, add(S0(e), xor(f, v128.and(y, x))));
    c = add(add(c, S1(h)), add(ch(h, a, b), add(v128.load(w, 80), v128.load32_splat(k, 20)))); g = add(g, c); x = xor(d, e); c = add(c, add(S0(d), xor(e, v128.and(x, y))));
    b = add(add(b, S1(g)), add(ch(g, h, a), add(v128.load(w, 96), v128.load32_splat(k, 24)))); f = add(f, b); y = xor(c, d); b = add(b, add(S0(c), xor(d, v128.and(y, x))));
    a = add(add(a, S1(f)), add(ch(f, g, h), add(v128.load(w, 112), v128.load32_splat(k, 28)))); e = add(e, a); x = xor(b, c); a = add(a, add(S0(b), xor(c, v128.and(x, y))));
  }

  v128.store(STATE4, add(v128.load(STATE4, 0), a), 0);
  v128.store(STATE4, add(v128.load(STATE4, 16), b), 16);
  v128.store(STATE4, add(v128.load(STATE4, 32), c), 32);
  v128.store(STATE4, add(v128.load(STATE4, 48), d), 48);
  v128.store(STATE4, add(v128.load(STATE4, 64), e), 64);
  v128.store(STATE4, add(v128.load(STATE4, 80), f), 80);
  v128.store(STATE4, add(v128.load(STATE4, 96), g), 96);
  v128.store(STATE4, add(v128.load(STATE4, 112), h), 112);
}

/**
 * Writes the four 32-byte digests (big-endian words) of the current states to out0..out3.
 * Lane k of STATE4 word i is word i of digest k: transpose back, byte-swap, store.
 */
export function final4(out0: usize, out1: usize, out2: usize, out3: usize): void {
  for (let half: usize = 0; half < 32; half += 16) {
    const s = STATE4 + (half << 2);
    const r0 = v128.load(s, 0), r1 = v128.load(s, 16), r2 = v128.load(s, 32), r3 = v128.load(s, 48);
    const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
    const t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
    const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
    const t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
    v128.store(out0 + half, bswapLanes(v128.shuffle<i64>(t0, t1, 0, 2)));
    v128.store(out1 + half, bswapLanes(v128.shuffle<i64>(t0, t1, 1, 3)));
    v128.store(out2 + half, bswapLanes(v128.shuffle<i64>(t2, t3, 0, 2)));
    v128.store(out3 + half, bswapLanes(v128.shuffle<i64>(t2, t3, 1, 3)));
  }
}

/** 64-byte chunks of a message of `len` bytes once padded (at least len + 9 bytes). */
@inline export function paddedChunks(len: u32): u32 {
  return (len + 9 + 63) >>> 6;
}

/**
 * Pads the `len`-byte message at p in place (0x80, zeros, the bit length as a big-endian u64):
 * writes up to 72 bytes after it. Returns the number of 64-byte chunks.
 */
export function padMessage(p: usize, len: u32): u32 {
  const chunks = paddedChunks(len);
  const end = p + (<usize>chunks << 6);
  let q = p + <usize>len;
  store<u8>(q, 0x80);
  q++;
  while ((q & 7) != 0 && q < end - 8) {
    store<u8>(q, 0);
    q++;
  }
  for (; q < end - 8; q += 8) store<u64>(q, 0);
  const bits = <u64>len << 3;
  store<u64>(end - 8, bswap<u64>(bits));
  return chunks;
}

/**
 * SHA-256 of four messages of `chunks` padded chunks each, at p0..p3 (see padMessage), to
 * out0..out3 (32 bytes each). Lanes may alias (the same message twice hashes it twice).
 */
export function sha256x4(
  p0: usize, p1: usize, p2: usize, p3: usize, chunks: u32,
  out0: usize, out1: usize, out2: usize, out3: usize,
): void {
  init4();
  const end = <usize>chunks << 6;
  for (let off: usize = 0; off < end; off += 64) compress4(p0 + off, p1 + off, p2 + off, p3 + off);
  final4(out0, out1, out2, out3);
}
