import { randomBytes } from 'node:crypto';
import type { Board } from '../boards/types';
import { DeviceError, SafetyError } from '../errors';
import { BootloaderClient } from '../protocol/client';
import type { Transport } from '../transport/types';
import type { MethodName } from '../plan/methods';
import { checkVerifyMode, type VerifyMode } from './verify-mode';
import { AgentErase } from './agent-erase';
import { bootloaderOnlyErase } from './bootloader-erase';
import type { SessionContext } from './context';
import type { EngineProvenance } from '../agent/pinned';
import { identify, refuseIfProtected, type Identity } from './identify';
import { probeFlashSize, type FlashSizeOutcome } from './flash-size';
import type { EraseOutcome } from './outcome';
import { PhaseClock } from './phase-clock';
import { runWitness } from './witness';
import { inBootloader, playSequence, resetPlan, type ResetPlan } from './reset';

export type { BlockOutcome, EraseOutcome, PassOutcome } from './outcome';
export type { FlashSizeOutcome } from './flash-size';

export type { VerifyMode } from './verify-mode';

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
  /** the engine module the agent must carry (build/terminal.wasm, or a signed image's): HELLO's module SHA-256 is checked against it */
  module: Uint8Array;
  /** where `module` and `agent` came from (host/agent/pinned.ts); omitted = not checked, and the outcome calls it custom */
  engine?: EngineProvenance;
  /** the agent binary to upload (a signed image's); by default the committed one of the board's kind (agent/manifest.json) */
  agent?: Uint8Array;
  /** Ed25519 signature over the agent binary (signed images): written in the signature block at params + 64 */
  signature?: Uint8Array;
  /** the line's baud rate, written into the agent's parameter block (default 115200) */
  baud?: number;
  /** ask the agent for this core clock (Hz) before the first job; off by default */
  agentClockHz?: number;
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

/**
 * One terminal, start to finish: the bench's entry sequence, identify (product ID, unique ID, read
 * protection; unlock when asked), the backup hook, then the erase path the board allows: the Wasm
 * agent (agent-erase.ts, followed by the ROM witness of witness.ts) or the bootloader's own commands
 * (bootloader-erase.ts). The returned outcome says `verified` only when every checked block matched
 * what the host computed itself and, on the agent path, the witness read only erased flash.
 */
export async function eraseTerminal(transport: Transport, req: EraseRequest): Promise<EraseOutcome> {
  checkVerifyMode(req.method, req.verify);
  const random = req.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
  const clock = new PhaseClock(transport);
  const progress = (p: Progress): void => req.onProgress?.(p);
  const client = new BootloaderClient(transport, {});

  clock.start('connect');
  progress({ phase: 'connect', done: 0, total: 1 });
  const reset = req.reset ?? resetPlan(req.board);
  return inBootloader(transport, reset, async () => {
    const { identity, board, unlocked, flashSize } = await connect(client, transport, req, reset, progress);
    progress({ phase: 'connect', done: 1, total: 1 });
    if (req.beforeErase && !unlocked) await req.beforeErase({ client, identity });
    const ctx: SessionContext = { client, transport, board, req, identity, unlocked, clock, progress, random, reset };
    if (!board.agent) return { ...(await bootloaderOnlyErase(ctx)), flashSize };
    // the agent has left (the part is in its ROM bootloader again): the witness reads behind it
    return runWitness(ctx, { ...(await new AgentErase(ctx).run()), flashSize });
  });
}

/**
 * Identifies the part and finds its flash size (flash-size.ts: the register's claim, then Read
 * Memory past it); a read-protected one is refused, or unlocked with `--unlock` (Readout
 * Unprotect mass-erases it; a part whose data was to be backed up needs --no-backup first) and
 * probed once it reads again.
 */
async function connect(
  client: BootloaderClient,
  transport: Transport,
  req: EraseRequest,
  reset: ResetPlan,
  progress: (p: Progress) => void,
): Promise<{ identity: Identity; board: Board; unlocked: boolean; flashSize: FlashSizeOutcome }> {
  let identity = await identify(client, req.board);
  if (!identity.readProtected) return { identity, unlocked: false, ...(await probeFlashSize(client, req.board, identity)) };
  if (!req.unlock) refuseIfProtected(identity, req.board);
  if (req.backupPlanned) {
    throw new SafetyError(
      `the terminal (${req.board.id}) is read-protected: its data cannot be backed up, and --unlock mass-erases it; ` +
        'pass --no-backup to go ahead without a backup',
    );
  }
  progress({ phase: 'unlock', done: 0, total: 1, note: 'Readout Unprotect: the part mass-erases itself' });
  await client.readoutUnprotect(req.board.timing.massErase.maxMs * 2 + 1000);
  await transport.sleep(100);
  // the part reset itself: BOOT0 is sampled again, so a wired bench must put it back in its bootloader
  if (reset.enter.length) await playSequence(transport, reset.enter);
  identity = await identify(client, req.board);
  if (identity.readProtected) throw new DeviceError('the terminal is still read-protected after Readout Unprotect');
  try {
    return { identity, unlocked: true, ...(await probeFlashSize(client, req.board, identity)) };
  } catch (err) {
    // the register was hidden until now and the part has already mass-erased itself: not a refusal
    // before anything changed (exit 4 promises that), but a part this session cannot finish
    if (err instanceof SafetyError) throw new DeviceError(`after Readout Unprotect (the part mass-erased itself): ${err.message}`);
    throw err;
  }
}
