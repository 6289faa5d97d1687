import type { Range, Sector } from '../boards/types';
import { patternBytes, type PatternSpec } from '../engine/abi';
import { blocksOfRange, planErase, planRetry, type Block, type ErasePlan, type JobPlan } from '../plan/erase-plan';
import { METHOD_SPECS, type Pass, type PassPattern } from '../plan/methods';
import { sampleBlocks, seededDraw } from '../plan/sampling';
import type { EraseBackend, Expected, StepFailure, StepSink } from './backends/backend';
import { seedWords, type SessionContext } from './context';
import { MAX_RETRIES, conclude, type BlockOutcome, type EraseOutcome, type FailedSector, type PassOutcome, type PathOutcome } from './outcome';
import type { BlockState } from './request';

function describePattern(p: PassPattern): string {
  return p.kind === 'constant' ? `constant 0x${p.value.toString(16).padStart(2, '0')}` : 'xoshiro128** stream';
}

/** The sectors and blocks a session covers: after Readout Unprotect the part mass-erased everything, protected regions too. */
export function sessionPlan(ctx: SessionContext): ErasePlan {
  return planErase(ctx.board, { blockSize: ctx.req.blockSize, includeProtected: ctx.req.includeProtected || ctx.unlocked });
}

/** A check of `blocks` alone (nothing erased or programmed): one range per block. */
function checkJob(blocks: Block[]): JobPlan {
  return { erase: [], hash: blocks.map((b) => ({ address: b.address, size: b.size })), blocks };
}

/**
 * One erase, whatever the backend (docs/cli.md, "Verification"): keys first, the method's passes,
 * the final blank check (in full, or a sample drawn after the erase from a fresh seed), retries
 * of sectors whose blocks stay wrong, the check of the part's own mass erase after an unlock,
 * cancellation (the request's signal, looked at before each phase: the session stops after the
 * current one) and progress (phases, and each block's state for live maps). The backend only runs
 * steps: the agent (backends/agent.ts) or the ROM bootloader's commands (backends/bootloader.ts).
 */
export class EraseDriver {
  private readonly plan: ErasePlan;
  private readonly backend: EraseBackend;
  private readonly blankBytes = new Map<number, Uint8Array>();
  private readonly failedSectors: FailedSector[] = [];
  private readonly passes: PassOutcome[] = [];
  private readonly keyRegions: Range[];
  private finalBlocks: BlockOutcome[] = [];
  private coverage: EraseOutcome['coverage'];
  private retries = 0;
  private keysZeroized = false;

  constructor(
    private readonly ctx: SessionContext,
    backendFor: (plan: ErasePlan) => EraseBackend,
  ) {
    this.plan = sessionPlan(ctx);
    this.backend = backendFor(this.plan);
    this.coverage = { subsections: this.plan.blocks.length, fraction: 1, everyBlock: true };
    this.keyRegions = ctx.board.regions.filter((r) => r.kind === 'keys').map((r) => ({ address: r.address, size: r.size }));
  }

  async run(): Promise<PathOutcome> {
    const { ctx, backend } = this;
    this.checkpoint();
    await backend.open();
    try {
      await this.steps();
    } catch (err) {
      // the part goes back to its bootloader whatever happened, if it still answers
      await backend.close().catch(() => undefined);
      throw err;
    }
    await backend.close();
    return conclude({
      identity: ctx.identity,
      plan: this.plan,
      req: ctx.req,
      nonces: backend.nonces,
      finalBlocks: this.finalBlocks,
      failedSectors: this.failedSectors,
      passes: this.passes,
      keyRegions: this.keyRegions,
      keysZeroized: this.keysZeroized,
      coverage: this.coverage,
      retries: this.retries,
      unlocked: ctx.unlocked,
      clock: ctx.clock,
      transport: ctx.transport,
      verification: backend.verification,
    });
  }

  /** Ctrl-C, the station's Stop: the signal's reason is thrown here, between phases, never inside one. */
  private checkpoint(): void {
    this.ctx.req.signal?.throwIfAborted();
  }

  private async steps(): Promise<void> {
    const { ctx } = this;
    // an unlocked part's key store went with its mass erase; the final check covers those blocks
    this.keysZeroized = this.keyRegions.length === 0 || ctx.unlocked || (await this.zeroizeKeys());
    const passList = ctx.unlocked ? [] : METHOD_SPECS[ctx.req.method].passes;
    for (const [i, pass] of passList.entries()) {
      this.checkpoint();
      ctx.clock.start(pass.name);
      ctx.progress({ phase: pass.name, done: 0, total: pass.kind === 'erase' ? this.plan.sectors.length : this.plan.blocks.length });
      if (pass.kind === 'program') await this.programPass(pass);
      else await this.erasePass(pass, i === passList.length - 1);
    }
    if (ctx.unlocked) await this.massEraseCheck();
  }

  private blank: Expected = (b) => {
    let bytes = this.blankBytes.get(b.size);
    if (!bytes) this.blankBytes.set(b.size, (bytes = new Uint8Array(b.size).fill(this.ctx.board.flash.erasedValue)));
    return bytes;
  };

  /**
   * The sink of one step: erased sectors and checked blocks become block states (`good` for a
   * block that matched) and progress; outcomes land in `into`. `erasedProgress` counts the pass's
   * erased sectors (across its retries), `checkedProgress` the checked blocks of a check phase.
   */
  private sink(
    job: JobPlan,
    good: BlockState,
    into: Map<number, BlockOutcome>,
    o: { phase: string; erased?: { count: number }; checked?: { count: number; total: number } },
  ): StepSink {
    const { ctx, plan } = this;
    const onBlock = ctx.req.onBlock;
    // a block over several sectors (F1 pages of 1 KiB) is erased once the last of them is
    const pending = new Map(job.blocks.map((b) => [b.address, new Set(b.sectors.filter((i) => job.erase.some((s) => s.index === i)))]));
    return {
      erased: (s: Sector) => {
        if (o.erased) ctx.progress({ phase: o.phase, done: Math.min(plan.sectors.length, ++o.erased.count), total: plan.sectors.length });
        if (!onBlock) return;
        for (const b of job.blocks) {
          const left = pending.get(b.address)!;
          if (left.delete(s.index) && left.size === 0) onBlock(b.address, 'erased');
        }
      },
      checked: (out: BlockOutcome) => {
        into.set(out.address, out);
        onBlock?.(out.address, out.ok ? good : 'failed');
        if (o.checked) ctx.progress({ phase: o.phase, done: Math.min(o.checked.total, ++o.checked.count), total: o.checked.total });
      },
    };
  }

  private outcomesOf(blocks: Block[], from: Map<number, BlockOutcome>): BlockOutcome[] {
    return blocks.map((b) => from.get(b.address) ?? { address: b.address, size: b.size, digest: '', blank: false, ok: false });
  }

  private passOutcome(name: string, outs: BlockOutcome[]): PassOutcome {
    return { name, kind: 'erase', blocks: outs.length, failed: outs.filter((o) => !o.ok).map((o) => o.address), verified: outs.every((o) => o.ok) };
  }

  /** A sector is named once, however often it failed (retries erase it again). */
  private eraseFailed(failures: StepFailure[], phase: string): void {
    for (const f of failures) if (!this.failedSectors.some((x) => x.index === f.index)) this.failedSectors.push({ ...f, reason: `${phase}: ${f.reason}` });
  }

  /** Keys first, whatever the method: programming 0x00 needs no erase and takes milliseconds. */
  private async zeroizeKeys(): Promise<boolean> {
    const { ctx, plan, keyRegions } = this;
    this.checkpoint();
    ctx.clock.start('keys');
    ctx.progress({ phase: 'keys', done: 0, total: 1, note: 'zeroizing the key store' });
    const blocks = keyRegions.flatMap((r) => blocksOfRange(r, plan.blockSize));
    const outcomes = new Map<number, BlockOutcome>();
    const zeros: Expected = (b) => new Uint8Array(b.size);
    const job: JobPlan = { erase: [], hash: keyRegions, blocks };
    const sink = this.sink(job, 'programmed', outcomes, { phase: 'keys' });
    const failures = await this.backend.program(
      job,
      { kind: 'constant', value: 0 },
      keyRegions.map((r) => new Uint8Array(r.size)),
      zeros,
      'keys',
      sink,
    );
    const out = this.outcomesOf(blocks, outcomes);
    const zeroized = failures.length === 0 && out.every((o) => o.ok);
    const failed = out.filter((o) => !o.ok).map((o) => o.address);
    this.passes.push({ name: 'zeroize-keys', kind: 'program', pattern: 'constant 0x00', blocks: out.length, failed, verified: zeroized });
    ctx.progress({ phase: 'keys', done: 1, total: 1 });
    return zeroized;
  }

  /** A pattern pass onto erased flash, each block checked against the host's own pattern. */
  private async programPass(pass: Extract<Pass, { kind: 'program' }>): Promise<void> {
    const { ctx, plan } = this;
    const seedBytes = ctx.random(16);
    const pattern: PatternSpec =
      pass.pattern.kind === 'constant' ? { kind: 'constant', value: pass.pattern.value } : { kind: 'xoshiro', seed: seedWords(seedBytes) };
    const outcomes = new Map<number, BlockOutcome>();
    const failed: number[] = [];
    const checked = { count: 0, total: plan.blocks.length };
    for (const j of plan.jobs) {
      const bytes = j.hash.map((r) => patternBytes(pattern, r.address, r.size));
      const expected = new Map<number, Uint8Array>();
      for (const [i, r] of j.hash.entries()) {
        for (const b of j.blocks) {
          const at = b.address - r.address;
          if (at >= 0 && at < r.size) expected.set(b.address, bytes[i].subarray(at, at + b.size));
        }
      }
      const sink = this.sink(j, 'programmed', outcomes, { phase: pass.name, checked });
      const failures = await this.backend.program(j, pattern, bytes, (b) => expected.get(b.address)!, pass.name, sink);
      for (const f of failures) this.failedSectors.push({ ...f, reason: `${pass.name}: ${f.reason}` });
      failed.push(
        ...this.outcomesOf(j.blocks, outcomes)
          .filter((o) => !o.ok)
          .map((o) => o.address),
      );
    }
    this.passes.push({
      name: pass.name,
      kind: 'program',
      pattern: describePattern(pass.pattern),
      seed: pass.pattern.kind === 'xoshiro' ? Buffer.from(seedBytes).toString('hex') : undefined,
      blocks: plan.blocks.length,
      failed,
      verified: failed.length === 0,
    });
  }

  /** An erase pass: erase and check together (full), or erase, then check a sample chosen afterwards; then retries. */
  private async erasePass(pass: Extract<Pass, { kind: 'erase' }>, last: boolean): Promise<void> {
    const { ctx, plan } = this;
    const sample = last && ctx.req.verify === 'sample';
    const outcomes = new Map<number, BlockOutcome>();
    const erased = { count: 0 };
    for (const j of plan.jobs) {
      const sink = this.sink(j, 'verified', outcomes, { phase: pass.name, erased });
      this.eraseFailed(await this.backend.erase(j, sample ? null : this.blank, pass.name, sink), pass.name);
    }
    let checked = plan.blocks;
    if (sample) {
      // the sample is drawn from a fresh seed after the erase: the terminal cannot know it in advance
      const s = sampleBlocks(plan.blocks, seededDraw(ctx.random(32)));
      this.coverage = { subsections: s.subsections, fraction: s.coverage, everyBlock: s.everyBlock };
      checked = s.blocks;
      this.checkpoint();
      ctx.clock.start('verify');
      await this.check(checkJob(checked), outcomes, 'verify');
    }
    // a block that is not blank gets its sector(s) erased and checked again, up to MAX_RETRIES times
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      this.checkpoint();
      const bad = checked.filter((b) => !outcomes.get(b.address)?.ok);
      if (!bad.length) break;
      this.retries++;
      ctx.clock.start('retry');
      ctx.progress({ phase: 'retry', done: attempt + 1, total: MAX_RETRIES, note: `${bad.length} block(s) not blank` });
      for (const j of planRetry(plan, bad)) {
        const sink = this.sink(j, 'verified', outcomes, { phase: pass.name, erased });
        this.eraseFailed(await this.backend.erase(j, this.blank, 'retry', sink), pass.name);
      }
    }
    const outs = this.outcomesOf(checked, outcomes);
    this.passes.push(this.passOutcome(pass.name, outs));
    if (last) this.finalBlocks = outs;
  }

  private async check(job: JobPlan, into: Map<number, BlockOutcome>, phase: string): Promise<void> {
    const checked = { count: 0, total: job.blocks.length };
    await this.backend.check(job, this.blank, phase, this.sink(job, 'verified', into, { phase, checked }));
  }

  /** The part erased itself on Readout Unprotect: check that erase block by block. */
  private async massEraseCheck(): Promise<void> {
    this.checkpoint();
    this.ctx.clock.start('verify');
    const outcomes = new Map<number, BlockOutcome>();
    const checked = { count: 0, total: this.plan.blocks.length };
    for (const j of this.plan.jobs) await this.backend.check(j, this.blank, 'verify', this.sink(j, 'verified', outcomes, { phase: 'verify', checked }));
    this.finalBlocks = this.outcomesOf(this.plan.blocks, outcomes);
    this.passes.push(this.passOutcome('mass-erase-check', this.finalBlocks));
  }
}
