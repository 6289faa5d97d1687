import type { Board } from '../boards/types';
import { DeviceError, EXIT, errorLine } from '../errors';
import type { MethodName } from '../plan/methods';
import { eraseTerminal, type EraseOutcome, type VerifyMode } from '../session/erase';
import { resetPlan } from '../session/reset';
import { FAST_CLOCK_HZ } from '../agent/clocks';
import { openPort, type EmuOptions } from './ports';
import { progressDisplay, progressWanted } from '../cli/progress';
import { eraseReport, eraseSummary } from './report';
import { out } from '../cli/common';
import { EraseRecords, type RecordOptions } from '../records/erase-records';

/** Everything one erase run needs; `erase` builds it from options, `flash` from a signed image. */
export interface EraseRun {
  board: Board;
  port: string;
  emu: EmuOptions & { baud?: string };
  method: MethodName;
  verify: VerifyMode;
  includeProtected?: boolean;
  unlock?: boolean;
  json?: boolean;
  /** the engine module the agent carries; the agent binary (a signed image's; default the committed one) and its signature */
  module: Uint8Array;
  agent?: Uint8Array;
  signature?: Uint8Array;
  /** with an `emu` port: the board to emulate when it is not `board` (flash --board) */
  emuBoard?: Board;
  /** backup, certificate, signing key, operator fields, audit database (records/erase-records.ts) */
  records?: RecordOptions;
  /** `--reset`: the DTR/RTS entry sequence instead of the board's (`none` for no reset) */
  reset?: string;
  /** what the audit log and the certificate call this run: erase (default) or flash */
  command?: string;
  /** --quiet: no progress bars */
  quiet?: boolean;
  /** --fast-clock: the agent's PLL clock for its kind (docs/agent.md, CLOCK) */
  fastClock?: boolean;
}

/**
 * The flow shared by `erase` and `flash`: open the port, run the session, report. Returns the
 * exit code: 0 only when the session ended verified.
 */
export async function runErase(run: EraseRun): Promise<number> {
  const records = EraseRecords.prepare({ command: run.command ?? 'erase', board: run.board, port: run.port, method: run.method, verify: run.verify }, run.records ?? {});
  try {
    return await runRecorded(run, records);
  } catch (err) {
    records.fail(err); // refused, device problem, failed backup: one audit row all the same
    throw err;
  }
}

/** The signals that stop a run (Ctrl-C, `kill`, a closed terminal window), each handled the same way. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * A stop signal ends the session at the end of its current phase (never in the middle of a flash
 * operation), so that the run is recorded (failure report, audit row) and exits 3; a second one
 * exits at once, with 3 as well.
 */
function interruptible(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const on = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(EXIT.DEVICE);
    process.stderr.write(`\nposwipe: interrupted (${sig}): stopping after the current phase (Ctrl-C again to quit at once)\n`);
    controller.abort(new DeviceError(`interrupted by the operator (${sig}): the terminal may be partly erased; run erase again to complete it`));
  };
  for (const s of STOP_SIGNALS) process.on(s, on);
  return { signal: controller.signal, release: () => STOP_SIGNALS.forEach((s) => process.off(s, on)) };
}

async function runRecorded(run: EraseRun, records: EraseRecords): Promise<number> {
  const interrupt = interruptible();
  try {
    const port = await openPort(run.port, run.emuBoard ?? run.board, run.emu);
    const display = progressDisplay(progressWanted(run.quiet));
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
        signal: interrupt.signal,
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
    const code = await records.finish(outcome, (paths) => eraseReport(outcome, { board: run.board.id, ...paths }));
    if (run.json) out(JSON.stringify(eraseReport(outcome, { board: run.board.id, certificate: records.paths.certificate, backup: records.paths.backup }), null, 2));
    else out([eraseSummary(outcome, run.board.id), ...records.lines].join('\n'));
    return code;
  } finally {
    interrupt.release();
  }
}
