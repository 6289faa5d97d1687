import { runErase, type EraseRun } from '../app/run-erase';
import { eraseReport } from '../app/report';
import { DeviceError, EXIT } from '../errors';
import { out } from './common';
import { progressDisplay, progressWanted } from './progress';
import { eraseSummary } from './summary';

/** An erase run as `erase` and `flash` give it: the run, and how its result is shown. */
export interface EraseCommandRun extends EraseRun {
  /** --json: print the JSON report instead of the summary */
  json?: boolean;
  /** --quiet: no progress bars */
  quiet?: boolean;
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

/**
 * `erase` and `flash`: one recorded run (app/run-erase.ts) with the operator's stop signals and
 * progress bars, then the summary (or the JSON report) on stdout. Returns the exit code.
 */
export async function runEraseCommand(run: EraseCommandRun): Promise<number> {
  const interrupt = interruptible();
  const display = progressDisplay(progressWanted(run.quiet));
  try {
    const { outcome, records, code } = await runErase(run, {
      signal: interrupt.signal,
      onProgress: (p) => display.update(p),
      onSessionEnd: () => display.stop(),
    });
    const paths = { certificate: records.paths.certificate, backup: records.paths.backup };
    if (run.json) out(JSON.stringify(eraseReport(outcome, { board: run.board.id, ...paths }), null, 2));
    else out([eraseSummary(outcome, run.board.id), ...records.lines].join('\n'));
    return code;
  } finally {
    display.stop();
    interrupt.release();
  }
}
