import { createHash, randomBytes } from 'node:crypto';
import type { Board, Range } from '../boards/types';
import { eraseTimeFor } from '../boards/load';
import { STATUS_NAMES, type JobSpec, type ResultTable, patternBytes } from '../engine/abi';
import { DeviceError, SafetyError } from '../errors';
import { BootloaderClient } from '../protocol/client';
import type { Transport } from '../transport/types';
import { blocksOfRange, packJobs, planErase, planRetry, unitsOf, type Block, type ErasePlan, type JobPlan } from '../plan/erase-plan';
import { METHOD_SPECS, type MethodName, type Pass, type PassPattern } from '../plan/methods';
import { sampleBlocks, seededDraw } from '../plan/sampling';
import { AgentRunner, type AgentEvent } from './agent-runner';
import { identify, refuseIfProtected, type Identity } from './identify';

/** The board as the part reports itself: its flash-size register, where readable, overrides the file's size. */
function boardForIdentity(board: Board, id: Identity): Board {
  return id.flashSizeRegister !== null && id.flashSizeRegister !== board.flash.size ? boardWithFlashSize(board, id.flashSizeRegister) : board;
}
import { PhaseClock } from './phase-clock';
import { bootloaderOnlyErase } from './bootloader-erase';
import { playSequence, resetPlan, type ResetPlan } from './reset';
import { boardWithFlashSize } from '../boards/layout';

export type VerifyMode = 'full' | 'sample';

export interface Progress {
  phase: string;
  done: number;
  total: number;
  note?: string;
}

export interface EraseRequest {
  board: Board;
  method: MethodName;
  verify: VerifyMode;
  includeProtected?: boolean;
  unlock?: boolean;
  module: Uint8Array;
  signature?: Uint8Array;
  blockSize?: number;
  onProgress?: (p: Progress) => void;
  /** runs after identification and before anything is written (the backup goes here) */
  beforeErase?: (ctx: { client: BootloaderClient; identity: Identity }) => Promise<void>;
  /** a backup is wanted before the erase: a read-protected part (whose data cannot be read) is then refused */
  backupPlanned?: boolean;
  /** DTR/RTS sequences into the bootloader before the session and back to the application after it */
  reset?: ResetPlan;
  /** randomness source (tests may pin it); node:crypto by default */
  random?: (n: number) => Uint8Array;
  /** each block's state as the session learns it (live sector maps): sector erased, pattern or blank digest checked */
  onBlock?: (address: number, state: BlockState) => void;
  /** once aborted, the session throws the signal's reason before its next phase (stop after the current phase) */
  signal?: AbortSignal;
}

export type BlockState = 'erased' | 'programmed' | 'verified' | 'failed';

import { MAX_RETRIES, conclude, type BlockOutcome, type EraseOutcome, type PassOutcome } from './outcome';
export type { BlockOutcome, EraseOutcome, PassOutcome } from './outcome';

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/**
 * One terminal, start to finish: identify, (backup hook), zeroize keys, the method's passes with
 * the Wasm agent on the terminal, digest verification on the host, retries of failed sectors.
 * The returned outcome says `verified` only when every checked block matched what the host
 * computed itself.
 */
export async function eraseTerminal(transport: Transport, req: EraseRequest): Promise<EraseOutcome> {
  const spec = METHOD_SPECS[req.method];
  if (req.verify === 'sample' && !spec.allowsSampling) {
    throw new SafetyError(`method ${req.method} requires full verification (--verify full): sampling is refused`);
  }
  const random = req.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
  const clock = new PhaseClock(transport);
  const progress = (p: Progress): void => req.onProgress?.(p);
  const client = new BootloaderClient(transport, {});

  clock.start('connect');
  progress({ phase: 'connect', done: 0, total: 1 });
  const reset = req.reset ?? resetPlan(req.board);
  if (reset.enter.length) await playSequence(transport, reset.enter);
  try {
    return await session();
  } finally {
    if (reset.exit.length) await playSequence(transport, reset.exit).catch(() => undefined);
  }

  async function session(): Promise<EraseOutcome> {
  let identity = await identify(client, req.board);
  const board = boardForIdentity(req.board, identity);
  let unlocked = false;
  if (identity.readProtected) {
    if (!req.unlock) refuseIfProtected(identity, board);
    if (req.backupPlanned) {
      throw new SafetyError(`the terminal (${board.id}) is read-protected: its data cannot be backed up, and --unlock mass-erases it; pass --no-backup to go ahead without a backup`);
    }
    progress({ phase: 'unlock', done: 0, total: 1, note: 'Readout Unprotect: the part mass-erases itself' });
    const mass = board.timing.massErase.maxMs;
    await client.readoutUnprotect(mass * 2 + 1000);
    await transport.sleep(100);
    // the part reset itself: BOOT0 is sampled again, so a wired bench must put it back in its bootloader
    if (reset.enter.length) await playSequence(transport, reset.enter);
    identity = await identify(client, req.board);
    if (identity.readProtected) throw new DeviceError('the terminal is still read-protected after Readout Unprotect');
    unlocked = true;
  }
  progress({ phase: 'connect', done: 1, total: 1 });
  if (req.beforeErase && !unlocked) await req.beforeErase({ client, identity });
  if (!board.agent) return bootloaderOnlyErase({ client, transport, board, req, identity, unlocked, clock, progress, random });

  // after Readout Unprotect the part has mass-erased everything, protected regions too: check all of it
  const plan = planErase(board, { blockSize: req.blockSize, includeProtected: req.includeProtected || unlocked });
  const nonce = random(32);
  const runner = new AgentRunner(client, board, req.module, req.signature);
  const maxEraseMs = Math.max(...plan.sectors.map((s) => eraseTimeFor(board, s.size).maxMs));
  const frameTimeoutMs = maxEraseMs * 2 + 2000;

  req.signal?.throwIfAborted();
  clock.start('upload');
  await runner.upload((e) => e.kind === 'upload' && progress({ phase: 'upload', done: e.done, total: e.total }));

  const runJob = async (job: JobSpec, blocks: Block[], phase: string, onEvent?: (e: AgentEvent) => void): Promise<ResultTable> => {
    const table = await runner.run(job, blocks.length, { frameTimeoutMs, onEvent });
    return table;
  };
  const baseJob = (erasedValue: number): Omit<JobSpec, 'ops' | 'erase' | 'hash' | 'program' | 'pattern'> => ({ blockSize: plan.blockSize, erasedValue, nonce });

  // expected digests: the host's own SHA-256 over what each block must hold
  const blankDigest = new Map<number, Buffer>();
  const expectBlank = (b: Range): Buffer => {
    let d = blankDigest.get(b.size);
    if (!d) {
      d = Buffer.alloc(b.size, board.flash.erasedValue);
      blankDigest.set(b.size, d);
    }
    return digestOf(nonce, b.address, d);
  };

  const failedSectors: EraseOutcome['failedSectors'] = [];
  const passes: PassOutcome[] = [];
  let finalBlocks: BlockOutcome[] = [];
  let coverage = { subsections: plan.blocks.length, fraction: 1, everyBlock: true };
  let retries = 0;

  const compare = async (table: ResultTable, blocks: Block[], expected: (b: Block) => Buffer, good: BlockState = 'verified'): Promise<BlockOutcome[]> => {
    const out: BlockOutcome[] = [];
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i];
      const want = expected(b);
      let digest = i < table.blockCount ? Buffer.from(table.digests[i]) : Buffer.alloc(32);
      // Read Memory carries no checksum: a mismatch may be the line's, so read that digest again
      // until it matches or two reads in a row agree on the same wrong value
      for (let tries = 0; i < table.blockCount && !digest.equals(want) && tries < 5; tries++) {
        const again = Buffer.from(await runner.rereadDigest(i, table.blockCount));
        const stable = again.equals(digest);
        digest = again;
        if (stable) break;
      }
      out.push({ address: b.address, size: b.size, digest: digest.toString('hex'), blank: table.blank[i] ?? false, ok: i < table.blockCount && digest.equals(want) });
      req.onBlock?.(b.address, out[i].ok ? good : 'failed');
    }
    return out;
  };

  const halFailure = (table: ResultTable): string | null =>
    table.status === 0 ? null : `${STATUS_NAMES[table.status] ?? `status ${table.status}`} at ${hex32(table.failAddress)} (HAL status ${table.halStatus})`;

  // 1. keys first, whatever the method: programming 0x00 needs no erase and takes milliseconds
  clock.start('keys');
  const keyRegions = board.regions.filter((r) => r.kind === 'keys');
  // an unlocked part's key store went with its mass erase; the final check covers those blocks
  let keysZeroized = keyRegions.length === 0 || unlocked;
  if (keyRegions.length && !unlocked) {
    const blocks: Block[] = keyRegions.flatMap((r) => blocksOfRange(r, plan.blockSize));
    const zeros = new Map<number, Buffer>();
    const job: JobSpec = { ...baseJob(board.flash.erasedValue), ops: { program: true, hash: true }, pattern: { kind: 'constant', value: 0 }, erase: [], program: keyRegions, hash: keyRegions };
    progress({ phase: 'keys', done: 0, total: 1, note: 'zeroizing the key store' });
    const table = await runJob(job, blocks, 'keys');
    const out = await compare(table, blocks, (b) => {
      let z = zeros.get(b.size);
      if (!z) zeros.set(b.size, (z = Buffer.alloc(b.size, 0)));
      return digestOf(nonce, b.address, z);
    }, 'programmed');
    keysZeroized = halFailure(table) === null && out.every((o) => o.ok);
    passes.push({ name: 'zeroize-keys', kind: 'program', pattern: 'constant 0x00', blocks: out.length, failed: out.filter((o) => !o.ok).map((o) => o.address), verified: keysZeroized });
    progress({ phase: 'keys', done: 1, total: 1 });
  }

  // 2. the method's passes
  const totalBlocks = plan.blocks.length;
  const passList = unlocked ? [] : spec.passes;
  for (const pass of passList) {
    req.signal?.throwIfAborted();
    const last = pass === passList[passList.length - 1];
    clock.start(pass.name);
    progress({ phase: pass.name, done: 0, total: pass.kind === 'erase' ? plan.sectors.length : totalBlocks });
    if (pass.kind === 'program') {
      const seedBytes = random(16);
      const seed: [number, number, number, number] = [0, 4, 8, 12].map((o) => Buffer.from(seedBytes).readUInt32LE(o)) as [number, number, number, number];
      const pattern = pass.pattern.kind === 'constant' ? ({ kind: 'constant', value: pass.pattern.value } as const) : ({ kind: 'xoshiro', seed } as const);
      const outcome: PassOutcome = { name: pass.name, kind: 'program', pattern: describePattern(pass.pattern), seed: pass.pattern.kind === 'xoshiro' ? Buffer.from(seedBytes).toString('hex') : undefined, blocks: 0, failed: [], verified: true };
      let done = 0;
      for (const j of plan.jobs) {
        const job: JobSpec = { ...baseJob(board.flash.erasedValue), ops: { program: true, hash: true }, pattern, erase: [], program: j.hash, hash: j.hash };
        const table = await runJob(job, j.blocks, pass.name, (e) => e.kind === 'programmed' && progress({ phase: pass.name, done: done + 0, total: totalBlocks }));
        const expectedBytes = new Map<number, Uint8Array>();
        for (const r of j.hash) {
          const bytes = patternBytes(pattern, r.address, r.size);
          for (const b of j.blocks) if (b.address >= r.address && b.address < r.address + r.size) expectedBytes.set(b.address, bytes.subarray(b.address - r.address, b.address - r.address + b.size));
        }
        const out = await compare(table, j.blocks, (b) => digestOf(nonce, b.address, expectedBytes.get(b.address)!), 'programmed');
        const hal = halFailure(table);
        if (hal) failedSectors.push({ index: -1, address: table.failAddress, reason: `${pass.name}: ${hal}` });
        outcome.blocks += out.length;
        outcome.failed.push(...out.filter((o) => !o.ok).map((o) => o.address));
        done += j.blocks.length;
        progress({ phase: pass.name, done, total: totalBlocks });
      }
      outcome.verified = outcome.failed.length === 0;
      passes.push(outcome);
      continue;
    }

    // an erase pass: erase and hash in one job (full), or erase, then hash a sample chosen afterwards
    const sample = last && req.verify === 'sample';
    const outcomes = new Map<number, BlockOutcome>();
    let erased = 0;
    const eraseTotal = plan.sectors.length;
    const runErase = async (jobs: JobPlan[], hashToo: boolean): Promise<void> => {
      const queue = [...jobs];
      for (let j = queue.shift(); j; j = queue.shift()) {
        const current = j;
        const job: JobSpec = { ...baseJob(board.flash.erasedValue), ops: { erase: true, hash: hashToo }, pattern: null, erase: current.erase, program: [], hash: hashToo ? current.hash : [] };
        const table = await runJob(job, hashToo ? current.blocks : [], pass.name, (e) => {
          if (e.kind !== 'erased') return;
          progress({ phase: pass.name, done: Math.min(eraseTotal, ++erased), total: eraseTotal });
          const s = current.erase[e.index];
          if (s && req.onBlock) for (const b of current.blocks) if (b.sectors.includes(s.index)) req.onBlock(b.address, 'erased');
        });
        const hal = halFailure(table);
        const bad = hal ? current.erase.find((x) => table.failAddress >= x.address && table.failAddress < x.address + x.size) : undefined;
        if (hal) {
          if (!failedSectors.some((f) => f.index === (bad?.index ?? -1))) failedSectors.push({ index: bad?.index ?? -1, address: table.failAddress, reason: `${pass.name}: ${hal}` });
          if (bad) {
            // the engine stopped at the failing sector: go on with the rest of this job without its unit
            // (sectors before it are erased already, so only those after it are erased again)
            const rest = unitsOf(current.erase, plan.blockSize).filter((u) => !u.some((x) => x.index === bad.index));
            const follow = packJobs(board, plan.blockSize, rest).map((f) => ({ ...f, erase: f.erase.filter((x) => x.address > bad.address) }));
            queue.unshift(...follow);
            continue;
          }
        }
        if (hashToo) for (const o of await compare(table, current.blocks, expectBlank)) outcomes.set(o.address, o);
      }
    };
    await runErase(plan.jobs, !sample);
    let checked = plan.blocks;
    if (sample) {
      const seed = random(32);
      const s = sampleBlocks(plan.blocks, seededDraw(seed));
      coverage = { subsections: s.subsections, fraction: s.coverage, everyBlock: s.everyBlock };
      checked = s.blocks;
      clock.start('verify');
      for (let i = 0; i < checked.length; i += 512) {
        const part = checked.slice(i, i + 512);
        const hash = part.map((b) => ({ address: b.address, size: b.size }));
        const job: JobSpec = { ...baseJob(board.flash.erasedValue), ops: { hash: true }, pattern: null, erase: [], program: [], hash };
        const table = await runJob(job, part, 'verify');
        for (const o of await compare(table, part, expectBlank)) outcomes.set(o.address, o);
      }
    }
    // retries: a block that is not blank gets its sector(s) erased and checked again, up to 3 times
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      req.signal?.throwIfAborted();
      const bad = checked.filter((b) => !outcomes.get(b.address)?.ok);
      if (!bad.length) break;
      retries++;
      clock.start('retry');
      progress({ phase: 'retry', done: attempt + 1, total: MAX_RETRIES, note: `${bad.length} block(s) not blank` });
      await runErase(planRetry(board, plan, bad), true);
    }
    const outs = checked.map((b) => outcomes.get(b.address) ?? { address: b.address, size: b.size, digest: '', blank: false, ok: false });
    passes.push({ name: pass.name, kind: 'erase', blocks: outs.length, failed: outs.filter((o) => !o.ok).map((o) => o.address), verified: outs.every((o) => o.ok) });
    if (last) finalBlocks = outs;
  }

  if (unlocked) {
    // the part erased itself on Readout Unprotect: check that erase block by block
    clock.start('verify');
    const outcomes: BlockOutcome[] = [];
    for (const j of plan.jobs) {
      const job: JobSpec = { ...baseJob(board.flash.erasedValue), ops: { hash: true }, pattern: null, erase: [], program: [], hash: j.hash };
      const table = await runJob(job, j.blocks, 'verify');
      outcomes.push(...(await compare(table, j.blocks, expectBlank)));
    }
    passes.push({ name: 'mass-erase-check', kind: 'erase', blocks: outcomes.length, failed: outcomes.filter((o) => !o.ok).map((o) => o.address), verified: outcomes.every((o) => o.ok) });
    finalBlocks = outcomes;
  }
  clock.stop();

  return conclude({
    identity,
    plan,
    req,
    nonce,
    finalBlocks,
    failedSectors,
    passes,
    keyRegions,
    keysZeroized,
    coverage,
    retries,
    unlocked,
    clock,
    transport,
    verification: 'agent-digest',
  });
  }
}

export function digestOf(nonce: Uint8Array, address: number, bytes: Uint8Array): Buffer {
  const a = Buffer.alloc(4);
  a.writeUInt32LE(address >>> 0);
  return createHash('sha256').update(nonce).update(a).update(bytes).digest();
}

function describePattern(p: PassPattern): string {
  return p.kind === 'constant' ? `constant 0x${p.value.toString(16).padStart(2, '0')}` : 'xoshiro128** stream';
}
