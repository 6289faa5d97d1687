import { DeviceError } from '../errors';
import { DEFAULT_WITNESS_TARGET, drawWitnessSample, escapeProbability, type WitnessTarget } from '../plan/witness-sample';
import type { SessionContext } from './context';
import type { EraseOutcome, WitnessOutcome } from './outcome';
import { hex32 } from '../format/hex';

/**
 * The independent witness (docs/verification.md): the agent's digests prove that the agent saw the
 * nonce, not that it erased anything, since the expected content of an erased block is public. So
 * once the agent has left and the part is back in its ROM bootloader, the host reads a sample of the
 * planned flash with Read Memory (ROM code the agent cannot change) and compares it with what every
 * method leaves there: the erased value.
 */

/**
 * Runs the witness after the agent path and returns the outcome with `witness` set; a mismatch or a
 * read the bootloader refuses makes it not verified. Bootloader-only paths are returned unchanged:
 * their check already went through the ROM (read-back or Get Checksum).
 */
export async function runWitness(ctx: SessionContext, outcome: EraseOutcome, target: WitnessTarget = DEFAULT_WITNESS_TARGET): Promise<EraseOutcome> {
  if (outcome.verification !== 'agent-digest') return outcome;
  ctx.req.signal?.throwIfAborted();
  const { client, board, clock } = ctx;
  // drawn now, after the agent has finished: the terminal could not know it while it ran
  const seed = ctx.random(32);
  const sample = drawWitnessSample(outcome.plan.sectors, seed, { target });
  const erased = board.flash.erasedValue;
  clock.start('witness');
  const mismatches: number[] = [];
  let error: string | null = null;
  for (const [i, c] of sample.chunks.entries()) {
    let got: Uint8Array;
    try {
      // two reads that agree: Read Memory has no checksum, and a flipped bit must not pass a non-erased byte
      got = await client.readMemoryConfirmed(c.address, c.size);
    } catch (err) {
      if (!(err instanceof DeviceError) || ctx.req.signal?.aborted) throw err;
      error = `Read Memory at ${hex32(c.address)}: ${err.message}`;
      break;
    }
    if (!got.every((x) => x === erased)) mismatches.push(c.address);
    ctx.progress({ phase: 'witness', done: i + 1, total: sample.chunks.length });
  }
  clock.stop();
  const ok = error === null && mismatches.length === 0;
  const witness: WitnessOutcome = {
    chunks: sample.chunks.length,
    chunkBytes: sample.chunkBytes,
    addresses: sample.chunks.map((c) => c.address),
    mismatches,
    ok,
    seed: Buffer.from(seed).toString('hex'),
    target: { fraction: target.fraction, escape: target.escape },
    uniform: sample.uniform,
    perSector: sample.perSector,
    escapeBound: escapeProbability(target.fraction, sample.uniform),
    error,
  };
  let reason = outcome.reason;
  // the agent's own failure explains more than the witness does; the witness speaks when the agent said all was well
  if (!ok && outcome.verified) {
    reason = error
      ? `the witness could not read the flash through the ROM bootloader (${error}): the erase is not confirmed`
      : `the witness read ${mismatches.length} of ${witness.chunks} chunk(s) not erased through the ROM bootloader, first at ${hex32(mismatches[0])}, although the agent's digests matched`;
  }
  return {
    ...outcome,
    verified: outcome.verified && ok,
    reason,
    witness,
    timings: clock.real(),
    terminalTimings: clock.terminal(),
    wire: ctx.transport.stats(),
  };
}

/** One line for the summary: what the witness read and found. */
export function witnessText(w: WitnessOutcome): string {
  const read = `witness ${w.chunks} chunks of ${w.chunkBytes} B read through the ROM bootloader`;
  if (w.error) return `${read}: could not read (${w.error})`;
  if (w.mismatches.length) return `${read}: ${w.mismatches.length} NOT erased, first at ${hex32(w.mismatches[0])}`;
  return `${read}: all erased`;
}

/** The witness as the report and the certificate show it: addresses in hex (docs/verification.md). */
export function witnessJson(w: WitnessOutcome | null): Record<string, unknown> | null {
  if (!w) return null;
  return {
    ok: w.ok,
    chunks: w.chunks,
    chunkBytes: w.chunkBytes,
    uniform: w.uniform,
    perSector: w.perSector,
    seed: w.seed,
    target: w.target,
    escapeBound: w.escapeBound,
    error: w.error,
    mismatches: w.mismatches.map(hex32),
    addresses: w.addresses.map(hex32),
  };
}
