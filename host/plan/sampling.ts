import { createHash } from 'node:crypto';
import type { Block } from './erase-plan';

export interface Sample {
  blocks: Block[];
  subsections: number;
  /** fraction of the planned bytes covered */
  coverage: number;
  everyBlock: boolean;
}

/**
 * NIST SP 800-88 representative sampling: at least 1,000 subsections (every block when there are
 * fewer), two pseudo-random blocks in each, and at least 10% of the bytes in all. `random(n)`
 * returns an integer in [0, n) drawn from a seed the host chose after the erase.
 */
export function sampleBlocks(blocks: Block[], random: (n: number) => number): Sample {
  const total = blocks.reduce((n, b) => n + b.size, 0);
  const subsections = 1000;
  if (blocks.length < subsections * 2) {
    return { blocks, subsections: blocks.length, coverage: 1, everyBlock: true };
  }
  const chosen = new Set<number>();
  const per = blocks.length / subsections;
  for (let s = 0; s < subsections; s++) {
    const lo = Math.floor(s * per);
    const hi = Math.floor((s + 1) * per);
    const span = hi - lo;
    const a = lo + random(span);
    let b = lo + random(span - 1);
    if (b >= a) b++;
    chosen.add(a);
    chosen.add(b);
  }
  // top up to 10% of the bytes with further random blocks
  let covered = [...chosen].reduce((n, i) => n + blocks[i].size, 0);
  while (covered < total * 0.1) {
    const i = random(blocks.length);
    if (!chosen.has(i)) {
      chosen.add(i);
      covered += blocks[i].size;
    }
  }
  const picked = [...chosen].sort((x, y) => x - y).map((i) => blocks[i]);
  return { blocks: picked, subsections, coverage: covered / total, everyBlock: false };
}

/** A reproducible draw in [0, n) from a 32-byte seed: SHA-256 of the seed and a counter. */
export function seededDraw(seed: Uint8Array): (n: number) => number {
  let counter = 0;
  return (n) => createHash('sha256').update(seed).update(String(counter++)).digest().readUInt32LE(0) % Math.max(1, n);
}
