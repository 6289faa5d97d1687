import type { Board } from '../boards/types';
import { errorLine } from '../errors';
import type { MethodName } from '../plan/methods';
import { eraseTerminal, type EraseOutcome, type VerifyMode } from '../session/erase';
import { resetPlan } from '../session/reset';
import { FAST_CLOCK_HZ } from '../agent/clocks';
import { openPort, type EmuOptions } from './ports';
import { recordOutcome } from './record-outcome';
import { progressOf, type RunEvents, type RunResult } from './run-events';
import { EraseRecords, type RecordOptions } from '../records/erase-records';
import type { EngineProvenance } from '../agent/pinned';

/** Everything one erase run needs; `erase` builds it from options, `flash` from a signed image. */
export interface EraseRun {
  board: Board;
  port: string;
  emu: EmuOptions & { baud?: string };
  method: MethodName;
  verify: VerifyMode;
  includeProtected?: boolean;
  unlock?: boolean;
  /** the engine module the agent carries; the agent binary (a signed image's; default the committed one) and its signature */
  module: Uint8Array;
  agent?: Uint8Array;
  signature?: Uint8Array;
  /** where module and agent came from (host/agent/pinned.ts: manifest, signed image or --engine) */
  engine: EngineProvenance;
  /** `--engine` without `--agent` on an emulated port: the model of the agent runs this module */
  modelEngine?: Uint8Array;
  /** backup, certificate, signing key, operator fields, audit database (records/erase-records.ts) */
  records?: RecordOptions;
  /** `--reset`: the DTR/RTS entry sequence instead of the board's (`none` for no reset) */
  reset?: string;
  /** what the audit log and the certificate call this run: erase (default) or flash */
  command?: string;
  /** --fast-clock: the agent's PLL clock for its kind (docs/agent.md, CLOCK) */
  fastClock?: boolean;
}

/**
 * The flow shared by `erase` and `flash`: open the port, run the session, write the records (the
 * front end shows them). The exit code is 0 only when the session ended verified and recorded.
 */
export async function runErase(run: EraseRun, events: RunEvents = {}): Promise<RunResult> {
  const records = EraseRecords.prepare(
    { command: run.command ?? 'erase', board: run.board, port: run.port, method: run.method, verify: run.verify },
    run.records ?? {},
  );
  try {
    return await runRecorded(run, records, events);
  } catch (err) {
    records.fail(err); // refused, device problem, failed backup: one audit row all the same
    throw err;
  }
}

async function runRecorded(run: EraseRun, records: EraseRecords, events: RunEvents): Promise<RunResult> {
  const display = progressOf(events);
  try {
    // a custom engine without its agent runs only on the model of the agent, which is handed that module
    const model = run.modelEngine ? { emulation: 'model' as const, model: { customEngine: run.modelEngine } } : {};
    const port = await openPort(run.port, run.board, run.emu, model);
    records.onBackupProgress = (p) => display.update({ phase: 'backup', done: p.done, total: p.total, note: p.region, unit: 'bytes' });
    let outcome: EraseOutcome;
    try {
      outcome = await eraseTerminal(port.transport, {
        board: run.board,
        method: run.method,
        verify: run.verify,
        includeProtected: run.includeProtected,
        unlock: run.unlock,
        module: run.module,
        agent: run.agent,
        engine: run.engine,
        signature: run.signature,
        baud: port.baud,
        agentClockHz: run.fastClock && run.board.agent ? FAST_CLOCK_HZ[run.board.agent.binary] : undefined,
        onProgress: (p) => {
          records.notePhase(p.phase);
          // the agent's upload counts bytes; the passes count sectors or blocks
          display.update({ ...p, unit: p.phase === 'upload' ? 'bytes' : 'items' });
        },
        beforeErase: records.beforeErase,
        backupPlanned: records.backupPlanned,
        signal: events.signal,
        reset: resetPlan(run.board, run.reset),
      });
    } catch (err) {
      display.stop();
      await port.close().catch((e: unknown) => process.stderr.write(`poswipe: also: ${errorLine(e)}\n`));
      throw err;
    }
    display.stop();
    // the emulated flash (--emu-image) is saved before any record says what it holds
    await port.close();
    const code = await recordOutcome(records, outcome, run.board);
    return { outcome, records, code };
  } finally {
    display.stop();
  }
}
