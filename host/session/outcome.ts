import { createHash } from 'node:crypto';
import type { EngineProvenance } from '../agent/pinned';
import type { Range } from '../boards/types';
import type { ErasePlan } from '../plan/erase-plan';
import type { MethodName, Pass } from '../plan/methods';
import type { Transport } from '../transport/types';
import type { FlashSizeOutcome } from './flash-size';
import type { EraseRequest, VerifyMode } from './request';
import type { Identity } from './identify';
import type { PhaseClock } from './phase-clock';
import type { WitnessTarget } from '../plan/witness-sample';
import { hex32 } from '../format/hex';

/** Sectors whose blocks stay wrong are erased again and re-checked this many times. */
export const MAX_RETRIES = 3;

export type Verification = 'agent-digest' | 'read-back' | 'get-checksum';

export interface BlockOutcome {
  address: number;
  size: number;
  digest: string;
  blank: boolean;
  ok: boolean;
  /** hex of the 32-byte nonce of the job (or read-back) that gave `digest`; absent for Get Checksum CRCs, which take none */
  nonce?: string;
}

/** A sector that would not erase (or program: index -1 where the backend cannot tell which), and why. */
export interface FailedSector {
  index: number;
  address: number;
  reason: string;
}

export interface PassOutcome {
  name: string;
  kind: Pass['kind'];
  pattern?: string;
  seed?: string;
  blocks: number;
  failed: number[];
  verified: boolean;
}

/** The ROM witness's record (witness.ts runs it): chunks read back through the bootloader after the agent left. */
export interface WitnessOutcome {
  chunks: number;
  chunkBytes: number;
  /** start of every chunk read, in address order */
  addresses: number[];
  /** chunks whose bytes were not all erased (start addresses) */
  mismatches: number[];
  ok: boolean;
  /** hex of the 32 random bytes the sample was drawn from (after the agent finished) */
  seed: string;
  target: WitnessTarget;
  /** how many of the chunks were drawn uniformly (the n of (1 - f)^n) and how many placed one per sector */
  uniform: number;
  perSector: number;
  /** (1 - f)^uniform for the target's f */
  escapeBound: number;
  /** why the bootloader could not read (Read Memory refused, e.g. read protection set after the erase), or null */
  error: string | null;
}

export interface EraseOutcome {
  verified: boolean;
  identity: Identity;
  plan: ErasePlan;
  method: MethodName;
  verify: VerifyMode;
  /** the first job's nonce (hex; '' when none was drawn): every job has its own, each block names its job's */
  nonce: string;
  blockSize: number;
  blocks: BlockOutcome[];
  failed: number[];
  failedSectors: FailedSector[];
  passes: PassOutcome[];
  keys: { regions: Range[]; zeroized: boolean };
  coverage: { subsections: number; fraction: number; everyBlock: boolean };
  retries: number;
  unlocked: boolean;
  /** how blocks were checked: digests from the agent, bootloader read-back, or Get Checksum CRCs */
  verification: Verification;
  /**
   * the independent witness on the agent path (host/session/witness.ts): chunks read back through the
   * ROM bootloader after the agent left; null on bootloader-only paths, whose check is already the ROM's
   */
  witness: WitnessOutcome | null;
  /** how the emulated terminal ran the agent ('instruction': its bytes executed; 'model': the TypeScript model); null on a serial port */
  emulation: 'instruction' | 'model' | null;
  moduleSha256: string;
  moduleBytes: number;
  /** where the engine and agent came from (manifest, signed image, custom); null where no agent ran (bootloader-only boards) */
  engine: EngineProvenance | null;
  timings: Record<string, number>;
  terminalTimings: Record<string, number>;
  wire: { bytesTx: number; bytesRx: number };
  /** why the run is not verified, in one line (null when verified) */
  reason: string | null;
  /** the flash sizes (bytes): what the register claimed, the board file's layout, what answered Read Memory, what was planned (flash-size.ts) */
  flashSize: FlashSizeOutcome;
}

/** What an erase path concludes; eraseTerminal adds the flash sizes its connect step found. */
export type PathOutcome = Omit<EraseOutcome, 'flashSize'>;

/** The emulated transport's terminal says how it runs code (EmulatedTerminal.emulation); a serial port has no terminal object. */
export function emulationOf(transport: Transport): 'instruction' | 'model' | null {
  const e = (transport as { terminal?: { emulation?: unknown } }).terminal?.emulation;
  return e === 'instruction' || e === 'model' ? e : null;
}

/** The request's engine provenance; a caller that did not say where its module came from gets `custom`, never `manifest`. */
function engineOf(req: EraseRequest): EngineProvenance {
  if (req.engine) return req.engine;
  const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  return { source: 'custom', moduleSha256: sha(req.module), agentSha256: req.agent ? sha(req.agent) : null };
}

export interface OutcomeParts {
  identity: Identity;
  plan: ErasePlan;
  req: EraseRequest;
  /** every nonce the session drew, hex, in order */
  nonces: readonly string[];
  finalBlocks: BlockOutcome[];
  failedSectors: EraseOutcome['failedSectors'];
  passes: PassOutcome[];
  keyRegions: Range[];
  keysZeroized: boolean;
  coverage: EraseOutcome['coverage'];
  retries: number;
  unlocked: boolean;
  clock: PhaseClock;
  transport: Transport;
  verification: Verification;
}

/**
 * The verdict of a session: verified only when the final check covered blocks, every one of them
 * matched, every pattern pass verified, the key store was zeroized and no sector failed.
 */
export function conclude(p: OutcomeParts): PathOutcome {
  p.clock.stop();
  const failedSectors = [...p.failedSectors];
  const failed = p.finalBlocks.filter((b) => !b.ok).map((b) => b.address);
  for (const a of failed) {
    const s = p.plan.sectors.find((x) => a >= x.address && a < x.address + x.size);
    if (s && !failedSectors.some((f) => f.index === s.index))
      failedSectors.push({ index: s.index, address: s.address, reason: `block ${hex32(a)} not blank after ${MAX_RETRIES} retries` });
  }
  const passFailures = p.passes.filter((x) => !x.verified);
  const verified = p.finalBlocks.length > 0 && failed.length === 0 && passFailures.length === 0 && p.keysZeroized && failedSectors.length === 0;
  let reason: string | null = null;
  if (!verified) {
    // a HAL failure (a sector that would not erase or program) explains the blocks behind it
    if (p.failedSectors.length) reason = p.failedSectors[0].reason + (failed.length ? `; ${failed.length} block(s) not verified` : '');
    else if (failed.length) reason = `${failed.length} block(s) not blank: first at ${hex32(failed[0])}`;
    else if (!p.keysZeroized) reason = 'the key store could not be zeroized';
    else if (passFailures.length) reason = `pass ${passFailures[0].name} did not verify (first block ${hex32(passFailures[0].failed[0] ?? 0)})`;
    else reason = 'nothing was verified';
  }
  return {
    verified,
    identity: p.identity,
    plan: p.plan,
    method: p.req.method,
    verify: p.req.verify,
    nonce: p.nonces[0] ?? '',
    blockSize: p.plan.blockSize,
    blocks: p.finalBlocks,
    failed,
    failedSectors,
    passes: p.passes,
    keys: { regions: p.keyRegions.map((r) => ({ address: r.address, size: r.size })), zeroized: p.keysZeroized },
    coverage: p.coverage,
    retries: p.retries,
    unlocked: p.unlocked,
    verification: p.verification,
    witness: null, // set by runWitness (erase.ts) once the agent has left
    emulation: emulationOf(p.transport),
    moduleSha256: p.verification === 'agent-digest' ? createHash('sha256').update(p.req.module).digest('hex') : '',
    moduleBytes: p.verification === 'agent-digest' ? p.req.module.length : 0,
    engine: p.verification === 'agent-digest' ? engineOf(p.req) : null,
    timings: p.clock.real(),
    terminalTimings: p.clock.terminal(),
    wire: p.transport.stats(),
    reason,
  };
}
