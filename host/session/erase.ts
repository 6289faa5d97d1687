import { randomBytes } from 'node:crypto';
import type { Board } from '../boards/types';
import { boardWithFlashSize } from '../boards/layout';
import { DeviceError, SafetyError } from '../errors';
import { BootloaderClient } from '../protocol/client';
import type { Transport } from '../transport/types';
import { checkVerifyMode } from './verify-mode';
import { AgentBackend } from './backends/agent';
import { BootloaderBackend } from './backends/bootloader';
import type { SessionContext } from './context';
import { EraseDriver } from './erase-driver';
import { identify, refuseIfProtected, type Identity } from './identify';
import type { EraseOutcome } from './outcome';
import { PhaseClock } from './phase-clock';
import { inBootloader, playSequence, resetPlan, type ResetPlan } from './reset';
import type { EraseRequest, Progress } from './request';

export type { BlockOutcome, EraseOutcome, PassOutcome } from './outcome';

/** The board as the part reports itself: its flash-size register, where readable, overrides the file's size. */
function boardForIdentity(board: Board, id: Identity): Board {
  return id.flashSizeRegister !== null && id.flashSizeRegister !== board.flash.size ? boardWithFlashSize(board, id.flashSizeRegister) : board;
}

export type { BlockState, EraseRequest, Progress, VerifyMode } from './request';

/**
 * One terminal, start to finish: the bench's entry sequence, identify (product ID, unique ID, read
 * protection; unlock when asked), the backup hook, then the one erase driver (erase-driver.ts) over
 * the backend the board allows: the Wasm agent (backends/agent.ts) or the bootloader's own commands
 * (backends/bootloader.ts). The returned outcome says `verified` only when every checked block
 * matched what the host computed itself. An aborted `signal` stops it before anything is written.
 */
export async function eraseTerminal(transport: Transport, req: EraseRequest): Promise<EraseOutcome> {
  checkVerifyMode(req.method, req.verify);
  req.signal?.throwIfAborted();
  const random = req.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
  const clock = new PhaseClock(transport);
  const progress = (p: Progress): void => req.onProgress?.(p);
  const client = new BootloaderClient(transport, {});

  clock.start('connect');
  progress({ phase: 'connect', done: 0, total: 1 });
  const reset = req.reset ?? resetPlan(req.board);
  return inBootloader(transport, reset, async () => {
    const { identity, board, unlocked } = await connect(client, transport, req, reset, progress);
    progress({ phase: 'connect', done: 1, total: 1 });
    if (req.beforeErase && !unlocked) await req.beforeErase({ client, identity });
    const ctx: SessionContext = { client, transport, board, req, identity, unlocked, clock, progress, random, reset };
    return new EraseDriver(ctx, (plan) => (board.agent ? new AgentBackend(ctx, plan) : new BootloaderBackend(ctx))).run();
  });
}

/**
 * Identifies the part; a read-protected one is refused, or unlocked with `--unlock` (Readout
 * Unprotect mass-erases it; a part whose data was to be backed up needs --no-backup first).
 */
async function connect(client: BootloaderClient, transport: Transport, req: EraseRequest, reset: ResetPlan, progress: (p: Progress) => void): Promise<{ identity: Identity; board: Board; unlocked: boolean }> {
  let identity = await identify(client, req.board);
  const board = boardForIdentity(req.board, identity);
  if (!identity.readProtected) return { identity, board, unlocked: false };
  if (!req.unlock) refuseIfProtected(identity, board);
  // Readout Unprotect mass-erases the part: a stop asked before it writes nothing
  req.signal?.throwIfAborted();
  if (req.backupPlanned) {
    throw new SafetyError(`the terminal (${board.id}) is read-protected: its data cannot be backed up, and --unlock mass-erases it; pass --no-backup to go ahead without a backup`);
  }
  progress({ phase: 'unlock', done: 0, total: 1, note: 'Readout Unprotect: the part mass-erases itself' });
  await client.readoutUnprotect(board.timing.massErase.maxMs * 2 + 1000);
  await transport.sleep(100);
  // the part reset itself: BOOT0 is sampled again, so a wired bench must put it back in its bootloader
  if (reset.enter.length) await playSequence(transport, reset.enter);
  identity = await identify(client, req.board);
  if (identity.readProtected) throw new DeviceError('the terminal is still read-protected after Readout Unprotect');
  return { identity, board, unlocked: true };
}
