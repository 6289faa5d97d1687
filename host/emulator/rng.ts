/**
 * Seeded pseudo-random numbers for the emulated terminal (fault injection, initial image): the
 * same seed gives the same session, so any failure can be replayed.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number | string) {
    let x = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** uniform u32 (xoshiro128**) */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** uniform in [0, 1) */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** uniform integer in [0, n) */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  fill(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += 4) {
      const v = this.u32();
      bytes[i] = v & 0xff;
      if (i + 1 < bytes.length) bytes[i + 1] = (v >>> 8) & 0xff;
      if (i + 2 < bytes.length) bytes[i + 2] = (v >>> 16) & 0xff;
      if (i + 3 < bytes.length) bytes[i + 3] = v >>> 24;
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}
