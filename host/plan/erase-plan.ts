import type { Board, Range, Sector } from '../boards/types';
import { sectorsOf } from '../boards/load';
import { JOB_MAX, MAX_BLOCKS, MAX_RANGES, jobSize } from '../engine/abi';

export interface Block extends Range {
  /** indices (bootloader numbering) of the sectors this block lies in */
  sectors: number[];
}

/** One run of the agent: erase these sectors, then hash these blocks. */
export interface JobPlan {
  erase: Sector[];
  hash: Range[];
  blocks: Block[];
}

export interface ErasePlan {
  boardId: string;
  blockSize: number;
  /** sectors that will be erased, in address order */
  sectors: Sector[];
  /** sectors left alone, with the reason */
  skipped: { sector: Sector; reason: string }[];
  blocks: Block[];
  jobs: JobPlan[];
  /** areas that cannot be sanitized at all (one-time-programmable) */
  notSanitizable: Range[];
}

export interface PlanOptions {
  blockSize?: number;
  includeProtected?: boolean;
}

/**
 * Which sectors to erase and which blocks to hash, cut into agent jobs that fit the engine's
 * limits (JOB_MAX bytes, 512 ranges of each kind, 512 blocks: the same on every agent, whose
 * link carries a whole job and result table). Pure: no I/O, same input gives the same plan.
 */
export function planErase(board: Board, options: PlanOptions = {}): ErasePlan {
  const blockSize = options.blockSize ?? 4096;
  if (blockSize % 8 !== 0 || blockSize < 8 || blockSize > 4096) throw new RangeError(`block size ${blockSize}: must be a multiple of 8 from 8 to 4096`);
  const all = sectorsOf(board);
  const protectedRegions = board.regions.filter((r) => r.kind === 'protected');
  const sectors: Sector[] = [];
  const skipped: ErasePlan['skipped'] = [];
  for (const s of all) {
    const region = protectedRegions.find((r) => r.address < s.address + s.size && s.address < r.address + r.size);
    if (region && !options.includeProtected) skipped.push({ sector: s, reason: `protected region "${region.name}"` });
    else sectors.push(s);
  }

  const units = unitsOf(sectors, blockSize);
  const jobs = packJobs(blockSize, units);
  return {
    boardId: board.id,
    blockSize,
    sectors,
    skipped,
    blocks: jobs.flatMap((j) => j.blocks),
    jobs,
    notSanitizable: board.otp ? [board.otp] : [],
  };
}

/**
 * Units: the fewest consecutive sectors that hold whole blocks (one sector, or a few small
 * pages); a gap (a skipped sector) ends a unit early, leaving a shorter last block.
 */
export function unitsOf(sectors: Sector[], blockSize: number): Sector[][] {
  const units: Sector[][] = [];
  let current: Sector[] = [];
  let currentSize = 0;
  const flush = (): void => {
    if (current.length) units.push(current);
    current = [];
    currentSize = 0;
  };
  for (const s of sectors) {
    const last = current[current.length - 1];
    if (last && last.address + last.size !== s.address) flush();
    current.push(s);
    currentSize += s.size;
    if (currentSize % blockSize === 0) flush();
  }
  flush();
  return units;
}

function blocksOfUnit(unit: Sector[], blockSize: number): Block[] {
  const start = unit[0].address;
  const end = unit[unit.length - 1].address + unit[unit.length - 1].size;
  const out: Block[] = [];
  for (let a = start; a < end; a += blockSize) {
    const size = Math.min(blockSize, end - a);
    out.push({ address: a, size, sectors: unit.filter((s) => s.address < a + size && a < s.address + s.size).map((s) => s.index) });
  }
  return out;
}

/** Packs units into jobs that respect the engine's limits (docs/abi.md). */
export function packJobs(blockSize: number, units: Sector[][]): JobPlan[] {
  const jobs: JobPlan[] = [];
  let job: JobPlan = { erase: [], hash: [], blocks: [] };
  const fits = (unit: Sector[], blocks: Block[]): boolean => {
    const erase = job.erase.length + unit.length;
    const hashRanges = job.hash.length + 1;
    if (erase > MAX_RANGES || hashRanges > MAX_RANGES) return false;
    if (job.blocks.length + blocks.length > MAX_BLOCKS) return false;
    return jobSize(erase, hashRanges, 0) <= JOB_MAX;
  };
  for (const unit of units) {
    const blocks = blocksOfUnit(unit, blockSize);
    if (job.erase.length && !fits(unit, blocks)) {
      jobs.push(job);
      job = { erase: [], hash: [], blocks: [] };
    }
    job.erase.push(...unit);
    const range: Range = { address: unit[0].address, size: blocks.reduce((n, b) => n + b.size, 0) };
    const prev = job.hash[job.hash.length - 1];
    // consecutive units share one hash range while the block grid runs on across them
    if (prev && prev.address + prev.size === range.address && prev.size % blockSize === 0) prev.size += range.size;
    else job.hash.push(range);
    job.blocks.push(...blocks);
  }
  if (job.erase.length) jobs.push(job);
  return jobs;
}

/** Jobs that erase again and re-hash only the units under the given failed blocks. */
export function planRetry(plan: ErasePlan, failed: Block[]): JobPlan[] {
  const indices = new Set(failed.flatMap((b) => b.sectors));
  const units = unitsOf(plan.sectors, plan.blockSize).filter((u) => u.some((s) => indices.has(s.index)));
  return packJobs(plan.blockSize, units);
}

/** A range cut into blocks of `blockSize` (the last one possibly shorter), not tied to sectors. */
export function blocksOfRange(r: Range, blockSize: number): Block[] {
  const out: Block[] = [];
  for (let a = r.address; a < r.address + r.size; a += blockSize) out.push({ address: a, size: Math.min(blockSize, r.address + r.size - a), sectors: [] });
  return out;
}
