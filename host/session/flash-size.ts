import type { Board } from '../boards/types';
import { boardWithFlashSize } from '../boards/layout';
import { DeviceError, NackError } from '../errors';
import { BootloaderClient } from '../protocol/client';
import { judgeSizeProbe, planSizeProbe, type SizeFinding } from '../plan/size-probe';
import type { Identity } from './identify';
import { hex32 } from '../format/hex';

/** The flash sizes of a session (bytes), as EraseOutcome.flashSize records them. */
export interface FlashSizeOutcome extends SizeFinding {
  /** how `found` was established: Read Memory probes ('register-only' and 'none' are for records of runs that did not probe) */
  probe: 'read-memory' | 'register-only' | 'none';
}

/** Tries of one probe: a NACK may be the line's doing (a garbled address frame), so a byte counts as absent only when every try was refused. */
const PROBE_TRIES = 8;

/**
 * Does the bootloader serve Read Memory of the byte at `address`? One exchange per try (the
 * client's own retries would hide the NACK); an answer is proof (noise cannot turn NACK 0x1F into
 * ACK 0x79 or invent the data), a refusal only after every try. Tries that never got a NACK
 * (timeouts, garbage) are the line's problem: DeviceError.
 */
async function answers(probe: BootloaderClient, address: number): Promise<boolean> {
  let nacks = 0;
  let last: Error | null = null;
  for (let i = 0; i < PROBE_TRIES; i++) {
    try {
      await probe.readMemory(address, 1);
      return true;
    } catch (err) {
      if (!(err instanceof DeviceError)) throw err;
      if (err instanceof NackError) nacks++;
      last = err;
      await probe.resync();
    }
  }
  if (nacks === 0) {
    const at = hex32(address);
    throw new DeviceError(`probing the flash size at ${at}: no answer in ${PROBE_TRIES} tries (${last?.message ?? 'no reply'})`);
  }
  return false;
}

/**
 * The session step of size probing (host/plan/size-probe.ts has the rule): probes past the end
 * the flash-size register reports, up to the board file's layout, and returns the board resized
 * to the planned size with the sizes to record. Refuses (SafetyError) when the answers do not
 * settle one size; runs before anything is written.
 */
export async function probeFlashSize(client: BootloaderClient, board: Board, identity: Identity): Promise<{ board: Board; flashSize: FlashSizeOutcome }> {
  const plan = planSizeProbe(board, identity.flashSizeRegister);
  const probe = new BootloaderClient(client.transport, { attempts: 1, byteTimeoutMs: client.byteTimeoutMs });
  const seen = new Map<number, boolean>();
  for (const p of plan.probes) if (!seen.has(p.address)) seen.set(p.address, await answers(probe, p.address));
  const finding = judgeSizeProbe(plan, (a) => seen.get(a) ?? false);
  const planned = finding.planned === board.flash.size ? board : boardWithFlashSize(board, finding.planned);
  return { board: planned, flashSize: { ...finding, probe: 'read-memory' } };
}
