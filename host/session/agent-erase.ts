import { createHash } from 'node:crypto';
import type { Range } from '../boards/types';
import { eraseTimeFor } from '../boards/load';
import { STATUS_NAMES, patternBytes, type JobSpec, type PatternSpec, type ResultTable } from '../engine/abi';
import { blocksOfRange, packJobs, planErase, planRetry, unitsOf, type Block, type ErasePlan, type JobPlan } from '../plan/erase-plan';
import { METHOD_SPECS, type Pass, type PassPattern } from '../plan/methods';
import { sampleBlocks, seededDraw } from '../plan/sampling';
import { agentOfKind, loadAgentManifest } from '../agent/manifest';
import { AgentRunner, type AgentEvent } from './agent-runner';
import { DEFAULT_BAUD, seedWords, type SessionContext } from './context';
import type { BlockState } from './erase';
import { playSequence } from './reset';
import { MAX_RETRIES, conclude, type BlockOutcome, type EraseOutcome, type PassOutcome } from './outcome';
import { hex32 } from '../format/hex';


/** SHA-256(nonce ‖ address as u32 LE ‖ bytes): what the engine computes for a block (docs/abi.md). */
export function digestOf(nonce: Uint8Array, address: number, bytes: Uint8Array): Buffer {
  const a = Buffer.alloc(4);
  a.writeUInt32LE(address >>> 0);
  return createHash('sha256').update(nonce).update(a).update(bytes).digest();
}

function describePattern(p: PassPattern): string {
  return p.kind === 'constant' ? `constant 0x${p.value.toString(16).padStart(2, '0')}` : 'xoshiro128** stream';
}

function halFailure(table: ResultTable): string | null {
  return table.status === 0 ? null : `${STATUS_NAMES[table.status] ?? `status ${table.status}`} at ${hex32(table.failAddress)} (HAL status ${table.halStatus})`;
}

/**
 * The erase with the agent on the terminal (docs/agent.md): upload and start it once, then one job per
 * step (keys, each pass of the method, retries), every block's digest checked against the host's
 * own SHA-256 of what the block must hold.
 */
export class AgentErase {
  private readonly plan: ErasePlan;
  private readonly nonce: Uint8Array;
  private readonly runner: AgentRunner;
  private readonly frameTimeoutMs: number;
  private readonly blankBytes = new Map<number, Buffer>();
  private readonly failedSectors: EraseOutcome['failedSectors'] = [];
  private readonly passes: PassOutcome[] = [];
  private finalBlocks: BlockOutcome[] = [];
  private coverage: EraseOutcome['coverage'];
  private retries = 0;
  private readonly keyRegions: Range[];
  private keysZeroized = false;

  constructor(private readonly ctx: SessionContext) {
    const { board, req, unlocked } = ctx;
    // after Readout Unprotect the part has mass-erased everything, protected regions too: check all of it
    this.plan = planErase(board, { blockSize: req.blockSize, includeProtected: req.includeProtected || unlocked });
    this.nonce = ctx.random(32);
    this.runner = new AgentRunner(ctx.client, board, {
      image: req.agent ?? agentOfKind(loadAgentManifest(), board.agent!.binary).bytes,
      moduleSha256: createHash('sha256').update(req.module).digest(),
      baud: req.baud ?? DEFAULT_BAUD,
      signature: req.signature,
      clockHz: req.agentClockHz,
      reenter: ctx.reset.enter.length ? () => playSequence(ctx.transport, ctx.reset.enter) : undefined,
    });
    this.frameTimeoutMs = Math.max(...this.plan.sectors.map((s) => eraseTimeFor(board, s.size).maxMs)) * 2 + 2000;
    this.coverage = { subsections: this.plan.blocks.length, fraction: 1, everyBlock: true };
    this.keyRegions = board.regions.filter((r) => r.kind === 'keys');
  }

  async run(): Promise<EraseOutcome> {
    const { ctx } = this;
    ctx.req.signal?.throwIfAborted();
    ctx.clock.start('upload');
    await this.runner.start((e) => e.kind === 'upload' && ctx.progress({ phase: 'upload', done: e.done, total: e.total }));
    try {
      await this.steps();
    } catch (err) {
      // the part goes back to its bootloader whatever happened, if the agent still answers
      await this.runner.leave().catch(() => undefined);
      throw err;
    }
    await this.runner.leave();

    return conclude({
      identity: ctx.identity,
      plan: this.plan,
      req: ctx.req,
      nonce: this.nonce,
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
      verification: 'agent-digest',
    });
  }

  /** Keys, the method's passes (or the check of the part's own mass erase), with the agent running. */
  private async steps(): Promise<void> {
    const { ctx } = this;
    // an unlocked part's key store went with its mass erase; the final check covers those blocks
    this.keysZeroized = this.keyRegions.length === 0 || ctx.unlocked || (await this.zeroizeKeys(this.keyRegions));

    const passList = ctx.unlocked ? [] : METHOD_SPECS[ctx.req.method].passes;
    for (const [i, pass] of passList.entries()) {
      ctx.req.signal?.throwIfAborted();
      ctx.clock.start(pass.name);
      ctx.progress({ phase: pass.name, done: 0, total: pass.kind === 'erase' ? this.plan.sectors.length : this.plan.blocks.length });
      if (pass.kind === 'program') await this.programPass(pass);
      else await this.erasePass(pass, i === passList.length - 1);
    }
    if (ctx.unlocked) await this.massEraseCheck();
  }

  private job(spec: Pick<JobSpec, 'ops' | 'pattern' | 'erase' | 'program' | 'hash'>): JobSpec {
    return { blockSize: this.plan.blockSize, erasedValue: this.ctx.board.flash.erasedValue, nonce: this.nonce, ...spec };
  }

  private runJob(job: JobSpec, blocks: Block[], onEvent?: (e: AgentEvent) => void): Promise<ResultTable> {
    return this.runner.run(job, blocks.length, { frameTimeoutMs: this.frameTimeoutMs, onEvent });
  }

  private expectBlank = (b: Range): Buffer => {
    let bytes = this.blankBytes.get(b.size);
    if (!bytes) this.blankBytes.set(b.size, (bytes = Buffer.alloc(b.size, this.ctx.board.flash.erasedValue)));
    return digestOf(this.nonce, b.address, bytes);
  };

  /** Compares each block's digest with the host's (the DATA frames that carried them have a CRC-32 each). */
  private compare(table: ResultTable, blocks: Block[], expected: (b: Block) => Buffer, good: BlockState = 'verified'): BlockOutcome[] {
    const out: BlockOutcome[] = [];
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i];
      const digest = i < table.blockCount ? Buffer.from(table.digests[i]) : Buffer.alloc(32);
      const ok = i < table.blockCount && digest.equals(expected(b));
      out.push({ address: b.address, size: b.size, digest: digest.toString('hex'), blank: table.blank[i] ?? false, ok });
      this.ctx.req.onBlock?.(b.address, ok ? good : 'failed');
    }
    return out;
  }

  /** Keys first, whatever the method: programming 0x00 needs no erase and takes milliseconds. */
  private async zeroizeKeys(keyRegions: Range[]): Promise<boolean> {
    const { ctx } = this;
    ctx.clock.start('keys');
    ctx.progress({ phase: 'keys', done: 0, total: 1, note: 'zeroizing the key store' });
    const blocks = keyRegions.flatMap((r) => blocksOfRange(r, this.plan.blockSize));
    const table = await this.runJob(this.job({ ops: { program: true, hash: true }, pattern: { kind: 'constant', value: 0 }, erase: [], program: keyRegions, hash: keyRegions }), blocks);
    const out = this.compare(table, blocks, (b) => digestOf(this.nonce, b.address, Buffer.alloc(b.size, 0)), 'programmed');
    const zeroized = halFailure(table) === null && out.every((o) => o.ok);
    this.passes.push({ name: 'zeroize-keys', kind: 'program', pattern: 'constant 0x00', blocks: out.length, failed: out.filter((o) => !o.ok).map((o) => o.address), verified: zeroized });
    ctx.progress({ phase: 'keys', done: 1, total: 1 });
    return zeroized;
  }

  /** A pattern pass onto erased flash, each block's digest checked against the host's own pattern. */
  private async programPass(pass: Extract<Pass, { kind: 'program' }>): Promise<void> {
    const { ctx, plan } = this;
    const seedBytes = ctx.random(16);
    const pattern: PatternSpec = pass.pattern.kind === 'constant' ? { kind: 'constant', value: pass.pattern.value } : { kind: 'xoshiro', seed: seedWords(seedBytes) };
    const outcome: PassOutcome = { name: pass.name, kind: 'program', pattern: describePattern(pass.pattern), seed: pass.pattern.kind === 'xoshiro' ? Buffer.from(seedBytes).toString('hex') : undefined, blocks: 0, failed: [], verified: true };
    let done = 0;
    for (const j of plan.jobs) {
      const table = await this.runJob(this.job({ ops: { program: true, hash: true }, pattern, erase: [], program: j.hash, hash: j.hash }), j.blocks);
      const expected = new Map<number, Uint8Array>();
      for (const r of j.hash) {
        const bytes = patternBytes(pattern, r.address, r.size);
        for (const b of j.blocks) if (b.address >= r.address && b.address < r.address + r.size) expected.set(b.address, bytes.subarray(b.address - r.address, b.address - r.address + b.size));
      }
      const out = this.compare(table, j.blocks, (b) => digestOf(this.nonce, b.address, expected.get(b.address)!), 'programmed');
      const hal = halFailure(table);
      if (hal) this.failedSectors.push({ index: -1, address: table.failAddress, reason: `${pass.name}: ${hal}` });
      outcome.blocks += out.length;
      outcome.failed.push(...out.filter((o) => !o.ok).map((o) => o.address));
      done += j.blocks.length;
      ctx.progress({ phase: pass.name, done, total: plan.blocks.length });
    }
    outcome.verified = outcome.failed.length === 0;
    this.passes.push(outcome);
  }

  /**
   * Erases the jobs' sectors, hashing in the same job when `outcomes` is given. A sector the HAL
   * cannot erase stops the engine there: it is named, and the rest of its job goes on without it.
   */
  private async eraseJobs(pass: string, jobs: JobPlan[], outcomes: Map<number, BlockOutcome> | null, counter: { erased: number }): Promise<void> {
    const { ctx, plan } = this;
    const total = plan.sectors.length;
    const queue = [...jobs];
    for (let current = queue.shift(); current; current = queue.shift()) {
      const j = current;
      const job = this.job({ ops: { erase: true, hash: outcomes !== null }, pattern: null, erase: j.erase, program: [], hash: outcomes ? j.hash : [] });
      const table = await this.runJob(job, outcomes ? j.blocks : [], (e) => {
        if (e.kind !== 'erased') return;
        ctx.progress({ phase: pass, done: Math.min(total, ++counter.erased), total });
        const s = j.erase[e.index];
        if (s && ctx.req.onBlock) for (const b of j.blocks) if (b.sectors.includes(s.index)) ctx.req.onBlock(b.address, 'erased');
      });
      const hal = halFailure(table);
      const bad = hal ? j.erase.find((x) => table.failAddress >= x.address && table.failAddress < x.address + x.size) : undefined;
      if (hal && !this.failedSectors.some((f) => f.index === (bad?.index ?? -1))) this.failedSectors.push({ index: bad?.index ?? -1, address: table.failAddress, reason: `${pass}: ${hal}` });
      if (bad) {
        // sectors before the failing one are erased already: only those after it are erased again
        const rest = unitsOf(j.erase, plan.blockSize).filter((u) => !u.some((x) => x.index === bad.index));
        queue.unshift(...packJobs(plan.blockSize, rest).map((f) => ({ ...f, erase: f.erase.filter((x) => x.address > bad.address) })));
        continue;
      }
      if (outcomes) for (const o of this.compare(table, j.blocks, this.expectBlank)) outcomes.set(o.address, o);
    }
  }

  /** An erase pass: erase and hash together (full), or erase, then hash a sample chosen afterwards; then retries. */
  private async erasePass(pass: Extract<Pass, { kind: 'erase' }>, last: boolean): Promise<void> {
    const { ctx, plan } = this;
    const sample = last && ctx.req.verify === 'sample';
    const outcomes = new Map<number, BlockOutcome>();
    const counter = { erased: 0 };
    await this.eraseJobs(pass.name, plan.jobs, sample ? null : outcomes, counter);
    let checked = plan.blocks;
    if (sample) {
      // the sample is drawn from a fresh seed after the erase: the terminal cannot know it in advance
      const s = sampleBlocks(plan.blocks, seededDraw(ctx.random(32)));
      this.coverage = { subsections: s.subsections, fraction: s.coverage, everyBlock: s.everyBlock };
      checked = s.blocks;
      ctx.clock.start('verify');
      await this.hashCheck(checked, outcomes);
    }
    // a block that is not blank gets its sector(s) erased and checked again, up to 3 times
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      ctx.req.signal?.throwIfAborted();
      const bad = checked.filter((b) => !outcomes.get(b.address)?.ok);
      if (!bad.length) break;
      this.retries++;
      ctx.clock.start('retry');
      ctx.progress({ phase: 'retry', done: attempt + 1, total: MAX_RETRIES, note: `${bad.length} block(s) not blank` });
      await this.eraseJobs(pass.name, planRetry(plan, bad), outcomes, counter);
    }
    const outs = checked.map((b) => outcomes.get(b.address) ?? { address: b.address, size: b.size, digest: '', blank: false, ok: false });
    this.passes.push({ name: pass.name, kind: 'erase', blocks: outs.length, failed: outs.filter((o) => !o.ok).map((o) => o.address), verified: outs.every((o) => o.ok) });
    if (last) this.finalBlocks = outs;
  }

  /** Hash-only jobs over `blocks` (at most 512 per job), outcomes into `into`. */
  private async hashCheck(blocks: Block[], into: Map<number, BlockOutcome>): Promise<void> {
    for (let i = 0; i < blocks.length; i += 512) {
      const part = blocks.slice(i, i + 512);
      const table = await this.runJob(this.job({ ops: { hash: true }, pattern: null, erase: [], program: [], hash: part.map((b) => ({ address: b.address, size: b.size })) }), part);
      for (const o of this.compare(table, part, this.expectBlank)) into.set(o.address, o);
    }
  }

  /** The part erased itself on Readout Unprotect: check that erase block by block. */
  private async massEraseCheck(): Promise<void> {
    this.ctx.clock.start('verify');
    const outcomes: BlockOutcome[] = [];
    for (const j of this.plan.jobs) {
      const table = await this.runJob(this.job({ ops: { hash: true }, pattern: null, erase: [], program: [], hash: j.hash }), j.blocks);
      outcomes.push(...(this.compare(table, j.blocks, this.expectBlank)));
    }
    this.passes.push({ name: 'mass-erase-check', kind: 'erase', blocks: outcomes.length, failed: outcomes.filter((o) => !o.ok).map((o) => o.address), verified: outcomes.every((o) => o.ok) });
    this.finalBlocks = outcomes;
  }
}
