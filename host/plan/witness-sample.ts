import type { Range, Sector } from '../boards/types';
import { seededDraw } from './sampling';

/**
 * The witness sample (docs/verification.md): which chunks of the planned flash the host reads back
 * through the ROM bootloader after the agent has finished. Pure: the same sectors and seed give the
 * same chunks.
 *
 * Rule: n = ceil(ln(escape) / ln(1 - fraction)) chunks drawn uniformly, without replacement, over
 * every chunk-sized slot of the planned sectors, plus one chunk in each planned sector. A terminal
 * that left a fraction f of the planned slots unerased passes all n uniform chunks with probability
 * at most (1 - f)^n (without replacement it is a little less); the per-sector chunks only add to
 * that and make sure no sector goes unread.
 */

export interface WitnessTarget {
  /** the smallest fraction of the planned flash left unerased that the witness is sized to catch */
  fraction: number;
  /** the largest probability that such a terminal passes the witness */
  escape: number;
}

/** f = 5 %, P(escape) <= 1e-6: 270 uniform chunks. */
export const DEFAULT_WITNESS_TARGET: Readonly<WitnessTarget> = { fraction: 0.05, escape: 1e-6 };

/**
 * 32 bytes: one Read Memory of 32 bytes is 44 bytes on the line (command, address, length, three
 * ACKs, data), read twice to be confirmed; ~282 such chunks on an F407 are about 2.4 s at 115200 baud
 * 8E1. A chunk catches any non-erased byte in it, so the size only sets the cost, not the bound.
 */
export const WITNESS_CHUNK_BYTES = 32;

/** Uniform chunks needed so that a terminal which left `fraction` unerased escapes with probability at most `escape`. */
export function chunksForTarget(target: WitnessTarget): number {
  const { fraction, escape } = target;
  if (!(fraction > 0 && fraction < 1) || !(escape > 0 && escape < 1))
    throw new RangeError(`witness target f=${fraction}, P=${escape}: both must lie strictly between 0 and 1`);
  return Math.ceil(Math.log(escape) / Math.log(1 - fraction));
}

/** (1 - f)^n: the chance that n uniform chunks all miss a fraction f of unerased flash. */
export function escapeProbability(fraction: number, n: number): number {
  return Math.pow(1 - fraction, n);
}

export interface WitnessSample {
  chunkBytes: number;
  /** the chunks to read, in address order */
  chunks: Range[];
  /** chunks drawn uniformly over the planned slots (the bound's n) */
  uniform: number;
  /** chunks placed one per planned sector */
  perSector: number;
}

export interface WitnessSampleOptions {
  target?: WitnessTarget;
  chunkBytes?: number;
}

/**
 * Draws the witness chunks over `sectors` from `seed` (32 fresh random bytes chosen after the agent
 * finished, so the terminal cannot know them while it runs).
 */
export function drawWitnessSample(sectors: readonly Sector[], seed: Uint8Array, options: WitnessSampleOptions = {}): WitnessSample {
  const chunkBytes = options.chunkBytes ?? WITNESS_CHUNK_BYTES;
  const target = options.target ?? DEFAULT_WITNESS_TARGET;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`witness chunk size ${chunkBytes}: must be a whole number of bytes`);
  const draw = seededDraw(seed);
  // the slots of each sector: whole chunks, the last one shorter when the size does not divide
  const slotsOf = sectors.map((s) => Math.ceil(s.size / chunkBytes));
  const totalSlots = slotsOf.reduce((n, k) => n + k, 0);
  const chosen = new Set<number>(); // global slot numbers
  const firstSlot: number[] = [];
  let acc = 0;
  for (const k of slotsOf) {
    firstSlot.push(acc);
    acc += k;
  }
  // one in every sector
  for (let i = 0; i < sectors.length; i++) chosen.add(firstSlot[i] + draw(slotsOf[i]));
  const perSector = chosen.size;
  // n more, uniform over all planned slots, without replacement (or every slot when there are fewer)
  const wanted = Math.min(chunksForTarget(target), totalSlots - chosen.size);
  let uniform = 0;
  while (uniform < wanted) {
    const slot = draw(totalSlots);
    if (chosen.has(slot)) continue;
    chosen.add(slot);
    uniform++;
  }
  const chunks: Range[] = [...chosen]
    .sort((a, b) => a - b)
    .map((slot) => {
      let i = 0;
      while (i + 1 < sectors.length && firstSlot[i + 1] <= slot) i++;
      const s = sectors[i];
      const off = (slot - firstSlot[i]) * chunkBytes;
      return { address: s.address + off, size: Math.min(chunkBytes, s.size - off) };
    });
  return { chunkBytes, chunks, uniform, perSector };
}
