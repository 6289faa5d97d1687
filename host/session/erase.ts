import { randomBytes } from 'node:crypto';
import type { Board } from '../boards/types';
import { DeviceError, SafetyError } from '../errors';
import { BootloaderClient } from '../protocol/client';
import type { Transport } from '../transport/types';
import { checkVerifyMode } from './verify-mode';
import { AgentBackend } from './backends/agent';
import { BootloaderBackend } from './backends/bootloader';
import type { SessionContext } from './context';
import { EraseDriver } from './erase-driver';
import { identify, refuseIfProtected, type Identity } from './identify';
import { probeFlashSize, type FlashSizeOutcome } from './flash-size';
import type { EraseOutcome } from './outcome';
import { PhaseClock } from './phase-clock';
import { runWitness } from './witness';
import { inBootloader, playSequence, resetPlan, type ResetPlan } from './reset';
import type { EraseRequest, Progress } from './request';

export type { BlockOutcome, EraseOutcome, PassOutcome } from './outcome';
export type { FlashSizeOutcome } from './flash-size';

export type { BlockState, EraseRequest, Progress, VerifyMode } from './request';

/**
 * One terminal, start to finish: the bench's entry sequence, identify (product ID, unique ID, read
 * protection; unlock when asked), the backup hook, then the one erase driver (erase-driver.ts) over
 * the backend the board allows: the Wasm agent (backends/agent.ts) or the bootloader's own commands
 * (backends/bootloader.ts). The returned outcome says `verified` only when every checked block
 * matched what the host computed itself and, on the agent path, the ROM witness (witness.ts) read only
 * erased flash. An aborted `signal` stops it before anything is written.
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
    const { identity, board, unlocked, flashSize } = await connect(client, transport, req, reset, progress);
    progress({ phase: 'connect', done: 1, total: 1 });
    if (req.beforeErase && !unlocked) await req.beforeErase({ client, identity });
    const ctx: SessionContext = { client, transport, board, req, identity, unlocked, clock, progress, random, reset };
    const outcome = { ...(await new EraseDriver(ctx, (plan) => (board.agent ? new AgentBackend(ctx, plan) : new BootloaderBackend(ctx))).run()), flashSize };
    // the agent has left (the part is in its ROM bootloader again): the witness reads behind it
    return board.agent ? runWitness(ctx, outcome) : outcome;
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
  // Readout Unprotect mass-erases the part: a stop asked before it writes nothing
  req.signal?.throwIfAborted();
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
