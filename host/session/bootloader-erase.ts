import { createHash } from 'node:crypto';
import type { Range, Sector } from '../boards/types';
import { eraseTimeFor } from '../boards/load';
import { patternBytes } from '../engine/abi';
import { DeviceError } from '../errors';
import { CMD, stm32Crc32 } from '../protocol/frames';
import { blocksOfRange, planErase, type Block } from '../plan/erase-plan';
import { METHOD_SPECS } from '../plan/methods';
import { sampleBlocks, seededDraw } from '../plan/sampling';
import { MAX_RETRIES, conclude, type BlockOutcome, type EraseOutcome, type PassOutcome, type PathOutcome } from './outcome';
import { seedWords, type SessionContext } from './context';

/**
 * The erase for parts with no room for the agent: the bootloader's own Erase/Extended Erase
 * (groups of at most 511 pages, timeouts from the board's worst-case erase time), patterns
 * written with Write Memory, and verification per block by Get Checksum (0xA1, CRC computed on
 * the host the STM32 way) where the bootloader has it, else by reading every block back.
 */
export async function bootloaderOnlyErase(ctx: SessionContext): Promise<PathOutcome> {
  const { client, board, req, progress, clock } = ctx;
  const spec = METHOD_SPECS[req.method];
  // after Readout Unprotect the part has mass-erased everything, protected regions too: check all of it
  const plan = planErase(board, { blockSize: req.blockSize, includeProtected: req.includeProtected || ctx.unlocked });
  const nonce = ctx.random(32);
  const useChecksum = board.bootloader.getChecksum && ctx.identity.commands.includes(CMD.GET_CHECKSUM);
  const verification = useChecksum ? 'get-checksum' : 'read-back';
  const erased = board.flash.erasedValue;
  const passes: PassOutcome[] = [];
  const failedSectors: EraseOutcome['failedSectors'] = [];
  let finalBlocks: BlockOutcome[] = [];
  let coverage = { subsections: plan.blocks.length, fraction: 1, everyBlock: true };
  let retries = 0;

  /** Checks blocks against what they must hold; the digest field carries the CRC or SHA-256 seen. */
  const check = async (blocks: Block[], expected: (b: Block) => Uint8Array, phase: string): Promise<BlockOutcome[]> => {
    const out: BlockOutcome[] = [];
    for (const [i, b] of blocks.entries()) {
      const want = expected(b);
      if (useChecksum) {
        const crc = await client.getChecksum(b.address, b.size);
        const ok = crc === stm32Crc32(want);
        out.push({ address: b.address, size: b.size, digest: crc.toString(16).padStart(8, '0'), blank: ok && want.every((x) => x === erased), ok });
      } else {
        // Read Memory has no checksum: one flipped bit could make a stuck byte look erased, so a
        // block counts only when two reads of it agree
        const got = await client.readMemoryConfirmed(b.address, b.size);
        const ok = Buffer.from(got).equals(Buffer.from(want));
        const a = Buffer.alloc(4);
        a.writeUInt32LE(b.address);
        const digest = createHash('sha256').update(nonce).update(a).update(got).digest('hex');
        out.push({ address: b.address, size: b.size, digest, blank: got.every((x) => x === erased), ok });
      }
      progress({ phase, done: i + 1, total: blocks.length });
    }
    return out;
  };

  const blankOf = new Map<number, Uint8Array>();
  const blank = (b: Block): Uint8Array => {
    let z = blankOf.get(b.size);
    if (!z) blankOf.set(b.size, (z = new Uint8Array(b.size).fill(erased)));
    return z;
  };

  const eraseSectors = async (sectors: Sector[], phase: string): Promise<void> => {
    const worst = Math.max(...sectors.map((s) => eraseTimeFor(board, s.size).maxMs));
    // one request per group; the part answers after erasing the whole group
    for (let i = 0; i < sectors.length; i += 64) {
      const group = sectors.slice(i, i + 64);
      try {
        await client.erasePages(group.map((s) => s.index), worst);
      } catch (err) {
        if (!(err instanceof DeviceError)) throw err;
        failedSectors.push({ index: group[0].index, address: group[0].address, reason: `${phase}: ${err.message}` });
      }
      progress({ phase, done: Math.min(sectors.length, i + group.length), total: sectors.length });
    }
  };

  // 1. keys first: programming 0x00 needs no erase
  clock.start('keys');
  const keyRegions = board.regions.filter((r) => r.kind === 'keys');
  // an unlocked part's key store went with its mass erase; the final check covers those blocks
  let keysZeroized = keyRegions.length === 0 || ctx.unlocked;
  if (keyRegions.length && !ctx.unlocked) {
    for (const r of keyRegions) await client.writeMemory(r.address, new Uint8Array(r.size));
    const blocks = keyRegions.flatMap((r) => blocksOfRange(r, plan.blockSize));
    const out = await check(blocks, (b) => new Uint8Array(b.size), 'keys');
    keysZeroized = out.every((o) => o.ok);
    passes.push({ name: 'zeroize-keys', kind: 'program', pattern: 'constant 0x00', blocks: out.length, failed: out.filter((o) => !o.ok).map((o) => o.address), verified: keysZeroized });
  }

  const passList = ctx.unlocked ? [] : spec.passes;
  for (const pass of passList) {
    const last = pass === passList[passList.length - 1];
    clock.start(pass.name);
    if (pass.kind === 'program') {
      const seedBytes = ctx.random(16);
      const seed = seedWords(seedBytes);
      const pattern = pass.pattern.kind === 'constant' ? ({ kind: 'constant', value: pass.pattern.value } as const) : ({ kind: 'xoshiro', seed } as const);
      const expected = new Map<number, Uint8Array>();
      for (const job of plan.jobs) {
        for (const r of job.hash) {
          const bytes = patternBytes(pattern, r.address, r.size);
          await client.writeMemory(r.address, bytes, (done) => progress({ phase: pass.name, done, total: r.size }));
          for (const b of job.blocks) if (b.address >= r.address && b.address < r.address + r.size) expected.set(b.address, bytes.subarray(b.address - r.address, b.address - r.address + b.size));
        }
      }
      const out = await check(plan.blocks, (b) => expected.get(b.address)!, `${pass.name}-verify`);
      passes.push({
        name: pass.name,
        kind: 'program',
        pattern: pattern.kind === 'constant' ? `constant 0x${pattern.value.toString(16).padStart(2, '0')}` : 'xoshiro128** stream',
        seed: pattern.kind === 'xoshiro' ? Buffer.from(seedBytes).toString('hex') : undefined,
        blocks: out.length,
        failed: out.filter((o) => !o.ok).map((o) => o.address),
        verified: out.every((o) => o.ok),
      });
      continue;
    }
    await eraseSectors(plan.sectors, pass.name);
    let checked = plan.blocks;
    if (last && req.verify === 'sample') {
      const seed = ctx.random(32);
      const s = sampleBlocks(plan.blocks, seededDraw(seed));
      coverage = { subsections: s.subsections, fraction: s.coverage, everyBlock: s.everyBlock };
      checked = s.blocks;
    }
    clock.start(`${pass.name}-verify`);
    const outcomes = new Map<number, BlockOutcome>();
    for (const o of await check(checked, blank, `${pass.name}-verify`)) outcomes.set(o.address, o);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const bad = checked.filter((b) => !outcomes.get(b.address)!.ok);
      if (!bad.length) break;
      retries++;
      clock.start('retry');
      const indices = new Set(bad.flatMap((b) => b.sectors));
      await eraseSectors(plan.sectors.filter((s) => indices.has(s.index)), 'retry');
      for (const o of await check(bad, blank, 'retry')) outcomes.set(o.address, o);
    }
    const outs = checked.map((b) => outcomes.get(b.address)!);
    passes.push({ name: pass.name, kind: 'erase', blocks: outs.length, failed: outs.filter((o) => !o.ok).map((o) => o.address), verified: outs.every((o) => o.ok) });
    if (last) finalBlocks = outs;
  }
  if (ctx.unlocked) {
    clock.start('verify');
    finalBlocks = await check(plan.blocks, blank, 'verify');
    passes.push({ name: 'mass-erase-check', kind: 'erase', blocks: finalBlocks.length, failed: finalBlocks.filter((o) => !o.ok).map((o) => o.address), verified: finalBlocks.every((o) => o.ok) });
  }
  return conclude({
    identity: ctx.identity,
    plan,
    req,
    nonce,
    finalBlocks,
    failedSectors,
    passes,
    keyRegions: keyRegions.map((r): Range => ({ address: r.address, size: r.size })),
    keysZeroized,
    coverage,
    retries,
    unlocked: ctx.unlocked,
    clock,
    transport: ctx.transport,
    verification,
  });
}
