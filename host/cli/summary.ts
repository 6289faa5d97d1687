import type { EraseOutcome } from '../session/erase';
import { hexPid } from '../session/identify';
import { coverageText, hex32 } from '../app/report';

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
