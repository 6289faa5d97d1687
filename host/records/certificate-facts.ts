/**
 * What a certificate says happened, derived from the EraseOutcome alone (never from what the
 * method would have done): the method as executed, how each region was verified, which engine
 * ran, the flash sizes, the witness. Pure functions; certificate.ts lays them out and
 * docs/records.md says where each value comes from.
 */
import type { Board, Range } from '../boards/types';
import { METHOD_SPECS } from '../plan/methods';
import type { EraseOutcome, Verification } from '../session/outcome';
import { say } from './certificate-text';
import { hex32 } from '../format/hex';

/** How a region's blocks were checked, as the certificate names it. */
export type RegionCheck = 'agent digests' | 'ROM checksum' | 'ROM read-back' | 'witness sample' | 'not covered';

export const CHECK_OF: Record<Verification, RegionCheck> = {
  'agent-digest': 'agent digests',
  'get-checksum': 'ROM checksum',
  'read-back': 'ROM read-back',
};

/** The pattern passes over the planned flash that ran (the key store's zeroize pass is reported with the keys). */
function overwriteRan(o: EraseOutcome): boolean {
  return o.passes.some((p) => p.kind === 'program' && p.name !== 'zeroize-keys');
}

/**
 * The method as executed. After Readout Unprotect the part's own mass erase and a blank check are
 * all that ran: a Clear (every cell erased and checked), whatever method was asked for.
 */
export function methodAsExecuted(o: EraseOutcome): { methodType: 'Clear' | 'Purge'; methodUsed: string; methodDetails: string } {
  const spec = METHOD_SPECS[o.method];
  if (o.unlocked) return { methodType: 'Clear', methodUsed: say('methodUsedUnlock'), methodDetails: say('methodDetailsUnlock', { method: o.method }) };
  return { methodType: spec.nistType, methodUsed: overwriteRan(o) ? say('methodUsedOverwrite') : say('methodUsedErase'), methodDetails: spec.description };
}

export function digestSentence(v: Verification): string {
  return v === 'agent-digest' ? say('digestAgent') : v === 'get-checksum' ? say('digestChecksum') : say('digestReadBack');
}

export function keysNote(o: EraseOutcome): string {
  if (!o.keys.regions.length) return say('keysNone');
  if (o.unlocked) return say('keysMassErased');
  return say('keysZeroized', { check: CHECK_OF[o.verification] });
}

export interface RegionRow {
  name: string;
  kind: string;
  address: string;
  size: number;
  /** bytes of the region inside planned (erased) sectors */
  plannedBytes: number;
  /** blocks of the final check that lie in the region, and how many of them were checked */
  blocks: number;
  blocksChecked: number;
  /** witness chunks that fell in the region (null: no witness ran) */
  witnessChunks: number | null;
  verifiedBy: RegionCheck[];
  note: string;
}

function overlap(a: Range, b: Range): number {
  return Math.max(0, Math.min(a.address + a.size, b.address + b.size) - Math.max(a.address, b.address));
}

/** The board's regions, then the stretches of flash no region names ("unnamed"), in address order. */
function regionsOf(o: EraseOutcome, board: Board): { name: string; kind: string; address: number; size: number }[] {
  type Named = { name: string; kind: string; address: number; size: number };
  const named: Named[] = board.regions.map((r) => ({ name: r.name, kind: r.kind, address: r.address, size: r.size }));
  const sectors = [...o.plan.sectors, ...o.plan.skipped.map((s) => s.sector)].sort((a, b) => a.address - b.address);
  const out = [...named];
  if (sectors.length) {
    // the flash as planned (it may be larger than the board file when the probe found more)
    let at = sectors[0].address;
    const end = sectors[sectors.length - 1].address + sectors[sectors.length - 1].size;
    const sorted = [...named].sort((a, b) => a.address - b.address);
    for (const r of [...sorted, { address: end, size: 0 }]) {
      if (r.address > at) out.push({ name: 'unnamed', kind: 'none', address: at, size: Math.min(r.address, end) - at });
      at = Math.max(at, r.address + r.size);
      if (at >= end) break;
    }
  }
  return out.sort((a, b) => a.address - b.address);
}

/** One row per region: how much of it was planned, and how its blocks were verified. */
export function regionRows(o: EraseOutcome, board: Board): RegionRow[] {
  const w = o.witness ?? null;
  return regionsOf(o, board).map((r) => {
    const plannedBytes = o.plan.sectors.reduce((s, x) => s + overlap(x, r), 0);
    const blocks = o.plan.blocks.filter((b) => overlap(b, r) > 0).length;
    const blocksChecked = o.blocks.filter((b) => overlap(b, r) > 0).length;
    const witnessChunks = w ? w.addresses.filter((a) => a >= r.address && a < r.address + r.size).length : null;
    const skip = o.plan.skipped.find((s) => overlap(s.sector, r) > 0);
    const reason = skip ? skip.reason : 'outside the plan';
    const verifiedBy: RegionCheck[] = [];
    if (blocksChecked > 0) verifiedBy.push(CHECK_OF[o.verification]);
    if (w && w.ok && witnessChunks) verifiedBy.push('witness sample');
    let note: string;
    if (plannedBytes === 0) note = skip ? say('regionProtected', { reason: skip.reason }) : say('regionOutside');
    else if (plannedBytes < r.size) note = say('regionPartly', { planned: plannedBytes, size: r.size, reason });
    else if (blocksChecked === 0) note = say('regionUnchecked');
    else note = say('regionChecked', { checked: blocksChecked, blocks });
    if (!verifiedBy.length) verifiedBy.push('not covered');
    return { name: r.name, kind: r.kind, address: hex32(r.address), size: r.size, plannedBytes, blocks, blocksChecked, witnessChunks, verifiedBy, note };
  });
}

/**
 * The engine that ran on the terminal: null where none did (bootloader-only parts). Every agent
 * run records its provenance (outcome.ts: a caller that names none gets `custom`, never `manifest`).
 */
export function engineOf(o: EraseOutcome): Record<string, unknown> | null {
  const e = o.engine;
  if (o.verification !== 'agent-digest' || !e) return null;
  const NOTE = { custom: 'engineCustom', 'signed-image': 'engineSignedImage', manifest: 'engineManifest' } as const;
  return {
    sha256: e.moduleSha256,
    bytes: o.moduleBytes,
    source: e.source,
    custom: e.source === 'custom',
    agentSha256: e.agentSha256,
    file: e.file ?? null,
    note: say(NOTE[e.source]),
  };
}

/** The flash sizes (bytes): what the register claimed, the board file's, what was found and planned (every run records them: flash-size.ts). */
export function flashSizeOf(o: EraseOutcome): Record<string, unknown> {
  const f = o.flashSize;
  const vars = { register: f.register ?? 'none', found: f.found, planned: f.planned, probe: f.probe, boardFile: f.boardFile };
  const note = f.register === null ? say('flashSizeNoRegister', vars) : f.register === f.found ? say('flashSizeSame', vars) : say('flashSizeDiffers', vars);
  return { register: f.register, boardFile: f.boardFile, found: f.found, planned: f.planned, probe: f.probe, note };
}

/** Where the witness's addresses come from, so that a reader can recompute them from the seed. */
export const WITNESS_SAMPLER = 'drawWitnessSample (host/plan/witness-sample.ts) over the planned sectors from seed; docs/verification.md';

/**
 * The ROM witness as the certificate lists it, or null when none ran. The addresses (a few hundred)
 * are one string, hex addresses separated by spaces: one JSON line per address would make most of
 * the file's lines address lines, where a flipped byte breaks the JSON rather than reaching the
 * signature check (records-certificate.test.ts, the byte-flip test).
 */
export function witnessOf(o: EraseOutcome): Record<string, unknown> | null {
  const w = o.witness;
  if (!w) return null;
  const vars = { chunks: w.chunks, chunkBytes: w.chunkBytes, mismatches: w.mismatches.length };
  return {
    chunks: w.chunks,
    chunkBytes: w.chunkBytes,
    addresses: w.addresses.map(hex32).join(' '),
    sampler: WITNESS_SAMPLER,
    mismatches: w.mismatches.map(hex32),
    ok: w.ok,
    seed: w.seed,
    target: { fraction: w.target.fraction, escape: w.target.escape },
    note: w.ok ? say('witnessOk', vars) : say('witnessFailed', vars),
  };
}
