import { GOLDEN_GAMMA, splitmix32, xoshiroNext } from '../engine/abi';

/**
 * Seeded pseudo-random numbers for the emulated terminal (fault injection, initial image): the
 * same seed gives the same session, so any failure can be replayed.
 */
export class Rng {
  private readonly state = new Uint32Array(4);

  constructor(seed: number | string) {
    const x = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
    // the four state words: splitmix32 of the seed stepped by the golden gamma, as docs/abi.md defines it
    for (let i = 0; i < 4; i++) this.state[i] = splitmix32((x + Math.imul(i, GOLDEN_GAMMA)) >>> 0);
    if ((this.state[0] | this.state[1] | this.state[2] | this.state[3]) === 0) this.state[0] = 1;
  }

  /** uniform u32 (xoshiro128**, the engine's pattern generator) */
  u32(): number {
    return xoshiroNext(this.state);
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

export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}
