import type { EraseOutcome } from '../session/erase';
import { hexPid } from '../format/hex';
import { witnessText } from '../session/witness';
import { coverageText, hex32 } from '../app/report';

/**
 * e.g. "flash: register says 64 KiB, 128 KiB found and erased": the register is a claim, the
 * found size what answered Read Memory, and only a verified run says "erased".
 */
export function flashSizeText(o: Pick<EraseOutcome, 'flashSize' | 'verified'>): string {
  const f = o.flashSize;
  const kib = (n: number): string => `${n / 1024} KiB`;
  const claim = f.register === null ? 'no flash-size register' : `register says ${kib(f.register)}`;
  const found = f.probe === 'read-memory' ? `${kib(f.found)} found` : `${kib(f.found)} assumed (not probed)`;
  const done = o.verified ? 'erased' : 'planned (not verified)';
  const planned = f.planned === f.found ? ` and ${done}` : `, ${kib(f.planned)} ${done}`;
  return `flash: ${claim}, ${found}${planned}${f.planned < f.boardFile ? ` (board file: up to ${kib(f.boardFile)})` : ''}`;
}

/** A few lines for a person at the bench. */
export function eraseSummary(o: EraseOutcome, board: string): string {
  const lines = [
    `${o.verified ? 'VERIFIED' : 'NOT VERIFIED'}: ${board} pid ${hexPid(o.identity.pid)} uid ${o.identity.uid ?? 'unknown'}`,
    flashSizeText(o),
    `method ${o.method}, ${o.blocks.length} block(s) of ${o.blockSize} bytes checked (${coverageText(o)}), ${o.failed.length} failed`,
  ];
  for (const p of o.passes) lines.push(`  pass ${p.name}: ${p.verified ? 'verified' : `FAILED (${p.failed.length} block(s))`}`);
  if (o.witness) lines.push(`  ${witnessText(o.witness)}`);
  if (o.plan.skipped.length) lines.push(`  skipped: ${o.plan.skipped.length} protected sector(s)`);
  if (o.plan.notSanitizable.length)
    lines.push(`  not sanitizable: one-time-programmable area at ${o.plan.notSanitizable.map((r) => hex32(r.address)).join(', ')}`);
  if (o.reason) lines.push(`  reason: ${o.reason}`);
  const e = o.engine;
  if (e?.source === 'custom') lines.push(`  engine: CUSTOM module ${e.moduleSha256}${e.file ? ` (${e.file})` : ''}, not the pinned one`);
  if (o.emulation)
    lines.push(`  emulated terminal: ${o.emulation === 'model' ? 'the TypeScript model of the agent' : 'instruction-level (the agent binary executed)'}`);
  lines.push(
    `  time: ${o.timings.total.toFixed(2)} s real, ${o.terminalTimings.total.toFixed(2)} s on the terminal; line: ${o.wire.bytesTx} bytes out, ${o.wire.bytesRx} bytes in`,
  );
  return lines.join('\n');
}
