import { createHash } from 'node:crypto';
import { eraseTimeFor } from '../../boards/load';
import { STATUS_NAMES, expectedDigest, type JobSpec, type PatternSpec, type ResultTable } from '../../engine/abi';
import { packJobs, unitsOf, type Block, type ErasePlan, type JobPlan } from '../../plan/erase-plan';
import { agentOfKind, loadAgentManifest } from '../../agent/manifest';
import { AgentRunner, type AgentEvent } from '../agent-runner';
import { DEFAULT_BAUD, type SessionContext } from '../context';
import { playSequence } from '../reset';
import type { EraseBackend, Expected, StepFailure, StepSink } from './backend';
import { hex32 } from '../../format/hex';

/** A hash-only job covers at most this many blocks (its result table stays within the engine's RESULT_MAX). */
const HASH_JOB_BLOCKS = 512;

function halFailure(table: ResultTable): string | null {
  return table.status === 0 ? null : `${STATUS_NAMES[table.status] ?? `status ${table.status}`} at ${hex32(table.failAddress)} (HAL status ${table.halStatus})`;
}

type JobBody = Pick<JobSpec, 'ops' | 'pattern' | 'erase' | 'program' | 'hash'>;

/**
 * The agent on the terminal as a backend (docs/agent.md): uploaded and started once, then one job
 * per step, erase and hash fused in one job where the step checks what it erased. Every job gets
 * a fresh 32-byte nonce of its own and its digests are checked against that nonce only, so that
 * no result table of one job can stand for another's (a replayed table fails every block).
 */
export class AgentBackend implements EraseBackend {
  readonly verification = 'agent-digest' as const;
  readonly nonces: string[] = [];
  private readonly runner: AgentRunner;
  private readonly frameTimeoutMs: number;

  constructor(
    private readonly ctx: SessionContext,
    private readonly plan: ErasePlan,
  ) {
    const { board, req } = ctx;
    this.runner = new AgentRunner(ctx.client, board, {
      image: req.agent ?? agentOfKind(loadAgentManifest(), board.agent!.binary).bytes,
      moduleSha256: createHash('sha256').update(req.module).digest(),
      baud: req.baud ?? DEFAULT_BAUD,
      signature: req.signature,
      clockHz: req.agentClockHz,
      reenter: ctx.reset.enter.length ? () => playSequence(ctx.transport, ctx.reset.enter) : undefined,
    });
    this.frameTimeoutMs = Math.max(...plan.sectors.map((s) => eraseTimeFor(board, s.size).maxMs)) * 2 + 2000;
  }

  async open(): Promise<void> {
    const { ctx } = this;
    ctx.clock.start('upload');
    await this.runner.start((e) => e.kind === 'upload' && ctx.progress({ phase: 'upload', done: e.done, total: e.total }));
  }

  close(): Promise<void> {
    return this.runner.leave();
  }

  /** One job with a nonce of its own (recorded in `nonces` and with each block it checks). */
  private async runJob(body: JobBody, blocks: Block[], onEvent?: (e: AgentEvent) => void): Promise<{ table: ResultTable; nonce: Uint8Array }> {
    const nonce = this.ctx.random(32);
    this.nonces.push(Buffer.from(nonce).toString('hex'));
    const spec: JobSpec = { blockSize: this.plan.blockSize, erasedValue: this.ctx.board.flash.erasedValue, nonce, ...body };
    const table = await this.runner.run(spec, blocks.length, { frameTimeoutMs: this.frameTimeoutMs, onEvent });
    return { table, nonce };
  }

  /** Compares each block's digest with the host's, under this job's nonce (the DATA frames that carried them have a CRC-32 each). */
  private compare(table: ResultTable, nonce: Uint8Array, blocks: Block[], expected: Expected, sink: StepSink): void {
    const nonceHex = Buffer.from(nonce).toString('hex');
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i];
      const digest = i < table.blockCount ? Buffer.from(table.digests[i]) : Buffer.alloc(32);
      const ok = i < table.blockCount && digest.equals(expectedDigest(nonce, b.address, expected(b)));
      sink.checked({ address: b.address, size: b.size, digest: digest.toString('hex'), blank: table.blank[i] ?? false, ok, nonce: nonceHex });
    }
  }

  async program(job: JobPlan, pattern: PatternSpec, _bytes: Uint8Array[], expected: Expected, _phase: string, sink: StepSink): Promise<StepFailure[]> {
    // the agent computes the pattern itself from its spec: only the spec goes over the line
    const { table, nonce } = await this.runJob({ ops: { program: true, hash: true }, pattern, erase: [], program: job.hash, hash: job.hash }, job.blocks);
    this.compare(table, nonce, job.blocks, expected, sink);
    const hal = halFailure(table);
    return hal ? [{ index: -1, address: table.failAddress, reason: hal }] : [];
  }

  /**
   * Erases the job's sectors, hashing in the same job when `expected` is given. A sector the HAL
   * cannot erase stops the engine there: it is named, and the rest of its job goes on without it.
   */
  async erase(job: JobPlan, expected: Expected | null, _phase: string, sink: StepSink): Promise<StepFailure[]> {
    const { plan } = this;
    const failures: StepFailure[] = [];
    const queue = [job];
    for (let current = queue.shift(); current; current = queue.shift()) {
      const j = current;
      const body: JobBody = { ops: { erase: true, hash: expected !== null }, pattern: null, erase: j.erase, program: [], hash: expected ? j.hash : [] };
      const { table, nonce } = await this.runJob(body, expected ? j.blocks : [], (e) => {
        const s = e.kind === 'erased' ? j.erase[e.index] : undefined;
        if (s) sink.erased(s);
      });
      const hal = halFailure(table);
      const bad = hal ? j.erase.find((x) => table.failAddress >= x.address && table.failAddress < x.address + x.size) : undefined;
      if (hal) failures.push({ index: bad?.index ?? -1, address: table.failAddress, reason: hal });
      if (bad) {
        // sectors before the failing one are erased already: only those after it are erased again
        const rest = unitsOf(j.erase, plan.blockSize).filter((u) => !u.some((x) => x.index === bad.index));
        queue.unshift(...packJobs(plan.blockSize, rest).map((f) => ({ ...f, erase: f.erase.filter((x) => x.address > bad.address) })));
        continue;
      }
      if (expected) this.compare(table, nonce, j.blocks, expected, sink);
    }
    return failures;
  }

  /** Hash-only jobs: the job's own ranges when its table fits, else one range per block, HASH_JOB_BLOCKS at a time. */
  async check(job: JobPlan, expected: Expected, _phase: string, sink: StepSink): Promise<void> {
    if (job.blocks.length <= HASH_JOB_BLOCKS) {
      const { table, nonce } = await this.runJob({ ops: { hash: true }, pattern: null, erase: [], program: [], hash: job.hash }, job.blocks);
      this.compare(table, nonce, job.blocks, expected, sink);
      return;
    }
    for (let i = 0; i < job.blocks.length; i += HASH_JOB_BLOCKS) {
      const part = job.blocks.slice(i, i + HASH_JOB_BLOCKS);
      const hash = part.map((b) => ({ address: b.address, size: b.size }));
      const { table, nonce } = await this.runJob({ ops: { hash: true }, pattern: null, erase: [], program: [], hash }, part);
      this.compare(table, nonce, part, expected, sink);
    }
  }
}
