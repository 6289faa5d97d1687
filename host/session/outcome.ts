import { createHash } from 'node:crypto';
import type { Range } from '../boards/types';
import type { ErasePlan } from '../plan/erase-plan';
import type { MethodName, Pass } from '../plan/methods';
import type { Transport } from '../transport/types';
import type { EraseRequest, VerifyMode } from './erase';
import type { Identity } from './identify';
import type { PhaseClock } from './phase-clock';
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

export interface EraseOutcome {
  verified: boolean;
  identity: Identity;
  plan: ErasePlan;
  method: MethodName;
  verify: VerifyMode;
  nonce: string;
  blockSize: number;
  blocks: BlockOutcome[];
  failed: number[];
  failedSectors: { index: number; address: number; reason: string }[];
  passes: PassOutcome[];
  keys: { regions: Range[]; zeroized: boolean };
  coverage: { subsections: number; fraction: number; everyBlock: boolean };
  retries: number;
  unlocked: boolean;
  /** how blocks were checked: digests from the agent, bootloader read-back, or Get Checksum CRCs */
  verification: Verification;
  /** how the emulated terminal ran the agent ('instruction': its bytes executed; 'model': the TypeScript model); null on a serial port */
  emulation: 'instruction' | 'model' | null;
  moduleSha256: string;
  moduleBytes: number;
  timings: Record<string, number>;
  terminalTimings: Record<string, number>;
  wire: { bytesTx: number; bytesRx: number };
  /** why the run is not verified, in one line (null when verified) */
  reason: string | null;
}

/** The emulated transport's terminal says how it runs code (EmulatedTerminal.emulation); a serial port has no terminal object. */
export function emulationOf(transport: Transport): 'instruction' | 'model' | null {
  const e = (transport as { terminal?: { emulation?: unknown } }).terminal?.emulation;
  return e === 'instruction' || e === 'model' ? e : null;
}


export interface OutcomeParts {
  identity: Identity;
  plan: ErasePlan;
  req: EraseRequest;
  nonce: Uint8Array;
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
export function conclude(p: OutcomeParts): EraseOutcome {
  p.clock.stop();
  const failedSectors = [...p.failedSectors];
  const failed = p.finalBlocks.filter((b) => !b.ok).map((b) => b.address);
  for (const a of failed) {
    const s = p.plan.sectors.find((x) => a >= x.address && a < x.address + x.size);
    if (s && !failedSectors.some((f) => f.index === s.index)) failedSectors.push({ index: s.index, address: s.address, reason: `block ${hex32(a)} not blank after ${MAX_RETRIES} retries` });
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
    nonce: Buffer.from(p.nonce).toString('hex'),
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
    emulation: emulationOf(p.transport),
    moduleSha256: p.verification === 'agent-digest' ? createHash('sha256').update(p.req.module).digest('hex') : '',
    moduleBytes: p.verification === 'agent-digest' ? p.req.module.length : 0,
    timings: p.clock.real(),
    terminalTimings: p.clock.terminal(),
    wire: p.transport.stats(),
    reason,
  };
}
