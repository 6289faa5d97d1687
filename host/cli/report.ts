import type { EraseOutcome } from '../session/erase';
import { hex32, hexPid } from '../format/hex';

export interface ReportExtras {
  board: string;
  certificate: string | null;
  backup: string | null;
}


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
    emulation: o.emulation,
    nonce: o.nonce,
    blockSize: o.blockSize,
    blocks: o.blocks.map((b) => ({ address: hex32(b.address), size: b.size, digest: b.digest, blank: b.blank, ok: b.ok })),
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
    retries: o.retries,
    unlocked: o.unlocked,
    engine: { sha256: o.moduleSha256, bytes: o.moduleBytes },
    timings: o.timings,
    terminalTimings: o.terminalTimings,
    wire: o.wire,
  };
}

/** How much the final check covered; a sample that covered every block says so (too few blocks to sample). */
export function coverageText(o: Pick<EraseOutcome, 'verify' | 'coverage' | 'blocks'>): string {
  if (o.coverage.everyBlock) return o.verify === 'sample' ? `sample: every block checked, since ${o.blocks.length} block(s) are fewer than sampling needs (2 in each of 1,000 subsections)` : 'full, every block';
  return `sample, ${(o.coverage.fraction * 100).toFixed(1)}% in ${o.coverage.subsections} subsections`;
}

/** A few lines for a person at the bench. */
export function eraseSummary(o: EraseOutcome, board: string): string {
  const lines = [
    `${o.verified ? 'VERIFIED' : 'NOT VERIFIED'}: ${board} pid ${hexPid(o.identity.pid)} uid ${o.identity.uid ?? 'unknown'}`,
    `method ${o.method}, ${o.blocks.length} block(s) of ${o.blockSize} bytes checked (${coverageText(o)}), ${o.failed.length} failed`,
  ];
  for (const p of o.passes) lines.push(`  pass ${p.name}: ${p.verified ? 'verified' : `FAILED (${p.failed.length} block(s))`}`);
  if (o.plan.skipped.length) lines.push(`  skipped: ${o.plan.skipped.length} protected sector(s)`);
  if (o.plan.notSanitizable.length) lines.push(`  not sanitizable: one-time-programmable area at ${o.plan.notSanitizable.map((r) => hex32(r.address)).join(', ')}`);
  if (o.reason) lines.push(`  reason: ${o.reason}`);
  if (o.emulation) lines.push(`  emulated terminal: ${o.emulation === 'model' ? 'the TypeScript model of the agent' : 'instruction-level (the agent binary executed)'}`);
  lines.push(`  time: ${o.timings.total.toFixed(2)} s real, ${o.terminalTimings.total.toFixed(2)} s on the terminal; line: ${o.wire.bytesTx} bytes out, ${o.wire.bytesRx} bytes in`);
  return lines.join('\n');
}
