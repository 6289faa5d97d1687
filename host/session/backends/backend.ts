import type { Sector } from '../../boards/types';
import type { PatternSpec } from '../../engine/abi';
import type { Block, JobPlan } from '../../plan/erase-plan';
import type { BlockOutcome, FailedSector, Verification } from '../outcome';

/** What a block must hold, as bytes: each backend checks it its own way (agent digest, Get Checksum CRC, read-back). */
export type Expected = (b: Block) => Uint8Array;

/** Where a backend reports what it learns during one step; the driver turns it into progress and block states. */
export interface StepSink {
  /** a sector of the step is erased */
  erased(sector: Sector): void;
  /** a block of the step is checked against what it must hold */
  checked(o: BlockOutcome): void;
}

/** A sector (index -1 when the backend cannot tell which) that would not erase or program, and why (the driver adds the phase). */
export type StepFailure = FailedSector;

/**
 * The primitives an erase path provides (docs/agent.md, AN3155): erase, program and check. The
 * driver (erase-driver.ts) decides what runs when: keys first, the method's passes, sampling,
 * retries, the completeness check, cancellation and progress. A backend only runs one step,
 * `phase` naming it for its clock and its failure reasons.
 */
export interface EraseBackend {
  readonly verification: Verification;
  /** the nonces drawn so far, hex, in order (the agent's, one per job; the read-back's, one per check) */
  readonly nonces: readonly string[];
  /** before the first step (the agent: upload and start it) */
  open(): Promise<void>;
  /** after the last step, and after a failure (the agent: back into the bootloader) */
  close(): Promise<void>;
  /** writes the pattern over the job's hash ranges (`bytes[i]` for `job.hash[i]`), then checks the job's blocks */
  program(job: JobPlan, pattern: PatternSpec, bytes: Uint8Array[], expected: Expected, phase: string, sink: StepSink): Promise<StepFailure[]>;
  /** erases the job's sectors; with `expected`, checks the job's blocks too (in the same agent job) */
  erase(job: JobPlan, expected: Expected | null, phase: string, sink: StepSink): Promise<StepFailure[]>;
  /** checks the job's blocks, nothing written */
  check(job: JobPlan, expected: Expected, phase: string, sink: StepSink): Promise<void>;
}
