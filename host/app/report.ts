import type { EraseOutcome } from '../session/erase';
import { hex32, hexPid } from '../format/hex';
import { witnessJson } from '../session/witness';

export interface ReportExtras {
  board: string;
  certificate: string | null;
  backup: string | null;
}

export { hex32 };

/** The JSON report of `erase` and `flash` (docs/cli.md): one object, stable field names. */
export function eraseReport(o: EraseOutcome, extras: ReportExtras): Record<string, unknown> {
  return {
    verified: o.verified,
    board: extras.board,
    pid: hexPid(o.identity.pid),
    uid: o.identity.uid,
    method: o.method,
    verify: o.verify,
    verification: o.verification,
    witness: witnessJson(o.witness),
    emulation: o.emulation,
    nonce: o.nonce,
    blockSize: o.blockSize,
    blocks: o.blocks.map((b) => ({
      address: hex32(b.address),
      size: b.size,
      digest: b.digest,
      ...(b.nonce === undefined ? {} : { nonce: b.nonce }),
      blank: b.blank,
      ok: b.ok,
    })),
    failed: o.failed.map(hex32),
    failedSectors: o.failedSectors.map((s) => ({ index: s.index, address: hex32(s.address), reason: s.reason })),
    reason: o.reason,
    certificate: extras.certificate,
    backup: extras.backup,
    passes: o.passes,
    keys: { regions: o.keys.regions.map((r) => ({ address: hex32(r.address), size: r.size })), zeroized: o.keys.zeroized },
    skipped: o.plan.skipped.map((s) => ({ index: s.sector.index, address: hex32(s.sector.address), size: s.sector.size, reason: s.reason })),
    notSanitizable: o.plan.notSanitizable.map((r) => ({ address: hex32(r.address), size: r.size, reason: 'one-time-programmable area: cannot be erased' })),
    coverage: o.coverage,
    flashSize: o.flashSize,
    retries: o.retries,
    unlocked: o.unlocked,
    engine: { sha256: o.moduleSha256, bytes: o.moduleBytes, ...(o.engine ?? {}) },
    timings: o.timings,
    terminalTimings: o.terminalTimings,
    wire: o.wire,
  };
}

/** How much the final check covered; a sample that covered every block says so (too few blocks to sample). */
export function coverageText(o: Pick<EraseOutcome, 'verify' | 'coverage' | 'blocks'>): string {
  if (o.coverage.everyBlock)
    return o.verify === 'sample'
      ? `sample: every block checked, since ${o.blocks.length} block(s) are fewer than sampling needs (2 in each of 1,000 subsections)`
      : 'full, every block';
  return `sample, ${(o.coverage.fraction * 100).toFixed(1)}% in ${o.coverage.subsections} subsections`;
}
