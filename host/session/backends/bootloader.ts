import type { Sector } from '../../boards/types';
import { eraseTimeFor } from '../../boards/load';
import { expectedDigest, type PatternSpec } from '../../engine/abi';
import { DeviceError } from '../../errors';
import { CMD, stm32Crc32 } from '../../protocol/frames';
import type { Block, JobPlan } from '../../plan/erase-plan';
import type { SessionContext } from '../context';
import type { EraseBackend, Expected, StepFailure, StepSink } from './backend';

/** Pages per Erase/Extended Erase request (AN3155 takes up to 511; the part answers after the whole group). */
const ERASE_GROUP = 64;

/**
 * The ROM bootloader's own commands as a backend, for parts with no room for the agent: Erase or
 * Extended Erase (timeouts from the board's worst-case erase time), Write Memory for patterns, and
 * each block checked by Get Checksum (0xA1, the CRC computed on the host the STM32 way) where the
 * bootloader has it, else by a confirmed read-back. A read-back's digest is SHA-256 under a fresh
 * nonce of each check (as an agent job's), so the report's digests are recomputable the same way.
 */
export class BootloaderBackend implements EraseBackend {
  readonly verification: 'get-checksum' | 'read-back';
  readonly nonces: string[] = [];
  private readonly useChecksum: boolean;

  constructor(private readonly ctx: SessionContext) {
    this.useChecksum = ctx.board.bootloader.getChecksum && ctx.identity.commands.includes(CMD.GET_CHECKSUM);
    this.verification = this.useChecksum ? 'get-checksum' : 'read-back';
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async program(job: JobPlan, _pattern: PatternSpec, bytes: Uint8Array[], expected: Expected, _phase: string, sink: StepSink): Promise<StepFailure[]> {
    for (const [i, r] of job.hash.entries()) await this.ctx.client.writeMemory(r.address, bytes[i]);
    await this.checkBlocks(job.blocks, expected, sink);
    return [];
  }

  async erase(job: JobPlan, expected: Expected | null, phase: string, sink: StepSink): Promise<StepFailure[]> {
    const { ctx } = this;
    const failures: StepFailure[] = [];
    if (job.erase.length) {
      const worst = Math.max(...job.erase.map((s) => eraseTimeFor(ctx.board, s.size).maxMs));
      for (let i = 0; i < job.erase.length; i += ERASE_GROUP) {
        const group: Sector[] = job.erase.slice(i, i + ERASE_GROUP);
        try {
          await ctx.client.erasePages(
            group.map((s) => s.index),
            worst,
          );
        } catch (err) {
          if (!(err instanceof DeviceError)) throw err;
          failures.push({ index: group[0].index, address: group[0].address, reason: err.message });
          continue;
        }
        for (const s of group) sink.erased(s);
      }
    }
    if (expected) {
      // the check's time shows apart from the erase's (the bootloader cannot fuse them as the agent does)
      ctx.clock.start(`${phase}-verify`);
      await this.checkBlocks(job.blocks, expected, sink);
      ctx.clock.start(phase);
    }
    return failures;
  }

  check(job: JobPlan, expected: Expected, _phase: string, sink: StepSink): Promise<void> {
    return this.checkBlocks(job.blocks, expected, sink);
  }

  /** Checks blocks against what they must hold; the digest field carries the CRC or the SHA-256 of what was read. */
  private async checkBlocks(blocks: Block[], expected: Expected, sink: StepSink): Promise<void> {
    const { client, board } = this.ctx;
    const erased = board.flash.erasedValue;
    let nonce: Uint8Array | null = null;
    for (const b of blocks) {
      const want = expected(b);
      if (this.useChecksum) {
        const crc = await client.getChecksum(b.address, b.size);
        const ok = crc === stm32Crc32(want);
        sink.checked({ address: b.address, size: b.size, digest: crc.toString(16).padStart(8, '0'), blank: ok && want.every((x) => x === erased), ok });
        continue;
      }
      if (!nonce) {
        nonce = this.ctx.random(32);
        this.nonces.push(Buffer.from(nonce).toString('hex'));
      }
      // Read Memory has no checksum: one flipped bit could make a stuck byte look erased, so a
      // block counts only when two reads of it agree
      const got = await client.readMemoryConfirmed(b.address, b.size);
      const ok = Buffer.from(got).equals(Buffer.from(want));
      const digest = Buffer.from(expectedDigest(nonce, b.address, got)).toString('hex');
      sink.checked({ address: b.address, size: b.size, digest, blank: got.every((x) => x === erased), ok, nonce: this.nonces[this.nonces.length - 1] });
    }
  }
}
