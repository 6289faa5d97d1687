// SHA-256 (FIPS 180-4) over module memory. Allocation-free: the chaining state, the partial
// block and the round constants live in static data; the 16-word message schedule rolls in locals.
//
// Streaming API: init(), update(ptr, len) any number of times, final(outPtr) writes 32 bytes.
// digestBlock() is the engine's hot path: SHA-256(nonce[32] || address LE || bytes) in one call.

// Round constants K[0..63] (FIPS 180-4 §4.2.2); K[0..15] are also inlined as immediates below.
export const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
], 16); // 16-aligned: the SIMD build (sha256x4.ts) splats each constant into four lanes

const STATE: usize = memory.data(32, 16); // H0..H7, native (little-endian) u32 words
const PENDING: usize = memory.data(64, 16); // bytes of a not yet complete 64-byte chunk
let pendingLen: u32 = 0;
let totalLen: u64 = 0; // message length in bytes

// Big-endian word from a little-endian load (kept @inline: the bswap builtin may be outlined
// when optimizing for size).
@inline function be32(x: u32): u32 {
  return (rotl<u32>(x, 8) & 0x00ff00ff) | (rotr<u32>(x, 8) & 0xff00ff00);
}

@inline function S0(x: u32): u32 { return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22); }
@inline function S1(x: u32): u32 { return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25); }
@inline function s0(x: u32): u32 { return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3); }
@inline function s1(x: u32): u32 { return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10); }
@inline function ch(e: u32, f: u32, g: u32): u32 { return g ^ (e & (f ^ g)); }

// One 64-byte chunk at p. Rounds 0..15 are unrolled with the schedule words as loaded; rounds
// 16..63 run as three passes of a 16-round body that expands the schedule in place. The working
// variables are renamed round by round instead of shifted. Maj(a, b, c) is computed as
// b ^ ((a ^ b) & (b ^ c)), where b ^ c is the previous round's a ^ b (carried in x / y).
function compress(p: usize): void {
  let w0 = be32(load<u32>(p, 0));
  let w1 = be32(load<u32>(p, 4));
  let w2 = be32(load<u32>(p, 8));
  let w3 = be32(load<u32>(p, 12));
  let w4 = be32(load<u32>(p, 16));
  let w5 = be32(load<u32>(p, 20));
  let w6 = be32(load<u32>(p, 24));
  let w7 = be32(load<u32>(p, 28));
  let w8 = be32(load<u32>(p, 32));
  let w9 = be32(load<u32>(p, 36));
  let w10 = be32(load<u32>(p, 40));
  let w11 = be32(load<u32>(p, 44));
  let w12 = be32(load<u32>(p, 48));
  let w13 = be32(load<u32>(p, 52));
  let w14 = be32(load<u32>(p, 56));
  let w15 = be32(load<u32>(p, 60));
  let a = load<u32>(STATE, 0), b = load<u32>(STATE, 4), c = load<u32>(STATE, 8), d = load<u32>(STATE, 12);
  let e = load<u32>(STATE, 16), f = load<u32>(STATE, 20), g = load<u32>(STATE, 24), h = load<u32>(STATE, 28);
  let x = b ^ c, y: u32 = 0;

  h += S1(e) + ch(e, f, g) + 0x428a2f98 + w0; d += h; y = a ^ b; h += S0(a) + (b ^ (y & x));
  g += S1(d) + ch(d, e, f) + 0x71374491 + w1; c += g; x = h ^ a; g += S0(h) + (a ^ (x & y));
  f += S1(c) + ch(c, d, e) + 0xb5c0fbcf + w2; b += f; y = g ^ h; f += S0(g) + (h ^ (y & x));
  e += S1(b) + ch(b, c, d) + 0xe9b5dba5 + w3; a += e; x = f ^ g; e += S0(f) + (g ^ (x & y));
  d += S1(a) + ch(a, b, c) + 0x3956c25b + w4; h += d; y = e ^ f; d += S0(e) + (f ^ (y & x));
  c += S1(h) + ch(h, a, b) + 0x59f111f1 + w5; g += c; x = d ^ e; c += S0(d) + (e ^ (x & y));
  b += S1(g) + ch(g, h, a) + 0x923f82a4 + w6; f += b; y = c ^ d; b += S0(c) + (d ^ (y & x));
  a += S1(f) + ch(f, g, h) + 0xab1c5ed5 + w7; e += a; x = b ^ c; a += S0(b) + (c ^ (x & y));
  h += S1(e) + ch(e, f, g) + 0xd807aa98 + w8; d += h; y = a ^ b; h += S0(a) + (b ^ (y & x));
  g += S1(d) + ch(d, e, f) + 0x12835b01 + w9; c += g; x = h ^ a; g += S0(h) + (a ^ (x & y));
  f += S1(c) + ch(c, d, e) + 0x243185be + w10; b += f; y = g ^ h; f += S0(g) + (h ^ (y & x));
  e += S1(b) + ch(b, c, d) + 0x550c7dc3 + w11; a += e; x = f ^ g; e += S0(f) + (g ^ (x & y));
  d += S1(a) + ch(a, b, c) + 0x72be5d74 + w12; h += d; y = e ^ f; d += S0(e) + (f ^ (y & x));
  c += S1(h) + ch(h, a, b) + 0x80deb1fe + w13; g += c; x = d ^ e; c += S0(d) + (e ^ (x & y));
  b += S1(g) + ch(g, h, a) + 0x9bdc06a7 + w14; f += b; y = c ^ d; b += S0(c) + (d ^ (y & x));
  a += S1(f) + ch(f, g, h) + 0xc19bf174 + w15; e += a; x = b ^ c; a += S0(b) + (c ^ (x & y));
  for (let k: usize = K + 64; k < K + 256; k += 64) {
    w0 += s1(w14) + w9 + s0(w1);
    h += S1(e) + ch(e, f, g) + load<u32>(k, 0) + w0; d += h; y = a ^ b; h += S0(a) + (b ^ (y & x));
    w1 += s1(w15) + w10 + s0(w2);
    g += S1(d) + ch(d, e, f) + load<u32>(k, 4) + w1; c += g; x = h ^ a; g += S0(h) + (a ^ (x & y));
    w2 += s1(w0) + w11 + s0(w3);
    f += S1(c) + ch(c, d, e) + load<u32>(k, 8) + w2; b += f; y = g ^ h; f += S0(g) + (h ^ (y & x));
    w3 += s1(w1) + w12 + s0(w4);
    e += S1(b) + ch(b, c, d) + load<u32>(k, 12) + w3; a += e; x = f ^ g; e += S0(f) + (g ^ (x & y));
    w4 += s1(w2) + w13 + s0(w5);
    d += S1(a) + ch(a, b, c) + load<u32>(k, 16) + w4; h += d; y = e ^ f; d += S0(e) + (f ^ (y & x));
    w5 += s1(w3) + w14 + s0(w6);
    c += S1(h) + ch(h, a, b) + load<u32>(k, 20) + w5; g += c; x = d ^ e; c += S0(d) + (e ^ (x & y));
    w6 += s1(w4) + w15 + s0(w7);
    b += S1(g) + ch(g, h, a) + load<u32>(k, 24) + w6; f += b; y = c ^ d; b += S0(c) + (d ^ (y & x));
    w7 += s1(w5) + w0 + s0(w8);
    a += S1(f) + ch(f, g, h) + load<u32>(k, 28) + w7; e += a; x = b ^ c; a += S0(b) + (c ^ (x & y));
    w8 += s1(w6) + w1 + s0(w9);
    h += S1(e) + ch(e, f, g) + load<u32>(k, 32) + w8; d += h; y = a ^ b; h += S0(a) + (b ^ (y & x));
    w9 += s1(w7) + w2 + s0(w10);
    g += S1(d) + ch(d, e, f) + load<u32>(k, 36) + w9; c += g; x = h ^ a; g += S0(h) + (a ^ (x & y));
    w10 += s1(w8) + w3 + s0(w11);
    f += S1(c) + ch(c, d, e) + load<u32>(k, 40) + w10; b += f; y = g ^ h; f += S0(g) + (h ^ (y & x));
    w11 += s1(w9) + w4 + s0(w12);
    e += S1(b) + ch(b, c, d) + load<u32>(k, 44) + w11; a += e; x = f ^ g; e += S0(f) + (g ^ (x & y));
    w12 += s1(w10) + w5 + s0(w13);
    d += S1(a) + ch(a, b, c) + load<u32>(k, 48) + w12; h += d; y = e ^ f; d += S0(e) + (f ^ (y & x));
    w13 += s1(w11) + w6 + s0(w14);
    c += S1(h) + ch(h, a, b) + load<u32>(k, 52) + w13; g += c; x = d ^ e; c += S0(d) + (e ^ (x & y));
    w14 += s1(w12) + w7 + s0(w15);
    b += S1(g) + ch(g, h, a) + load<u32>(k, 56) + w14; f += b; y = c ^ d; b += S0(c) + (d ^ (y & x));
    w15 += s1(w13) + w8 + s0(w0);
    a += S1(f) + ch(f, g, h) + load<u32>(k, 60) + w15; e += a; x = b ^ c; a += S0(b) + (c ^ (x & y));
  }

  store<u32>(STATE, load<u32>(STATE, 0) + a, 0);
  store<u32>(STATE, load<u32>(STATE, 4) + b, 4);
  store<u32>(STATE, load<u32>(STATE, 8) + c, 8);
  store<u32>(STATE, load<u32>(STATE, 12) + d, 12);
  store<u32>(STATE, load<u32>(STATE, 16) + e, 16);
  store<u32>(STATE, load<u32>(STATE, 20) + f, 20);
  store<u32>(STATE, load<u32>(STATE, 24) + g, 24);
  store<u32>(STATE, load<u32>(STATE, 28) + h, 28);
}

/** Starts a new message. */
export function init(): void {
  store<u32>(STATE, 0x6a09e667, 0);
  store<u32>(STATE, 0xbb67ae85, 4);
  store<u32>(STATE, 0x3c6ef372, 8);
  store<u32>(STATE, 0xa54ff53a, 12);
  store<u32>(STATE, 0x510e527f, 16);
  store<u32>(STATE, 0x9b05688c, 20);
  store<u32>(STATE, 0x1f83d9ab, 24);
  store<u32>(STATE, 0x5be0cd19, 28);
  pendingLen = 0;
  totalLen = 0;
}

/** Appends len bytes at ptr. */
export function update(ptr: usize, len: u32): void {
  totalLen += <u64>len;
  let n = pendingLen;
  if (n != 0) {
    while (n < 64 && len != 0) {
      store<u8>(PENDING + <usize>n, load<u8>(ptr));
      n++;
      ptr++;
      len--;
    }
    if (n < 64) {
      pendingLen = n;
      return;
    }
    compress(PENDING);
    n = 0;
  }
  while (len >= 64) {
    compress(ptr);
    ptr += 64;
    len -= 64;
  }
  while (len != 0) {
    store<u8>(PENDING + <usize>n, load<u8>(ptr));
    n++;
    ptr++;
    len--;
  }
  pendingLen = n;
}

/** Pads, finishes the message and writes the 32-byte digest at out. */
export function final(out: usize): void {
  let n = pendingLen;
  store<u8>(PENDING + <usize>n, 0x80);
  n++;
  if (n > 56) {
    while (n < 64) { store<u8>(PENDING + <usize>n, 0); n++; }
    compress(PENDING);
    n = 0;
  }
  while (n < 56) { store<u8>(PENDING + <usize>n, 0); n++; }
  const bits = totalLen << 3;
  store<u32>(PENDING, be32(<u32>(bits >>> 32)), 56);
  store<u32>(PENDING, be32(<u32>bits), 60);
  compress(PENDING);
  for (let i: usize = 0; i < 32; i += 4) store<u32>(out + i, be32(load<u32>(STATE + i)));
  pendingLen = 0;
}

/**
 * SHA-256(nonce[32] || address as u32 little-endian || len bytes at ptr) to out. The 36-byte
 * prefix goes straight into the pending chunk, so the data itself is compressed in place.
 */
export function digestBlock(noncePtr: usize, address: u32, ptr: usize, len: u32, out: usize): void {
  init();
  for (let i: usize = 0; i < 32; i += 4) store<u32>(PENDING + i, load<u32>(noncePtr + i));
  store<u32>(PENDING, address, 32);
  pendingLen = 36;
  totalLen = 36;
  update(ptr, len);
  final(out);
}
