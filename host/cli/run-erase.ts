import type { Board } from '../boards/types';
import { EXIT } from '../errors';
import type { MethodName } from '../plan/methods';
import { eraseTerminal, type VerifyMode } from '../session/erase';
import { openPort, type EmuOptions } from './ports';
import { progressDisplay } from './progress';
import { eraseReport, eraseSummary } from './report';
import { out } from './common';

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
  /** the engine module that runs on the terminal, and its signature (empty when unsigned) */
  module: Uint8Array;
  signature?: Uint8Array;
}

/**
 * The flow shared by `erase` and `flash`: open the port, run the session, report. Returns the
 * exit code: 0 only when the session ended verified.
 */
export async function runErase(run: EraseRun): Promise<number> {
  const port = await openPort(run.port, run.board, run.emu);
  const display = progressDisplay();
  try {
    const outcome = await eraseTerminal(port.transport, {
      board: run.board,
      method: run.method,
      verify: run.verify,
      includeProtected: run.includeProtected,
      unlock: run.unlock,
      module: run.module,
      signature: run.signature,
      onProgress: display.update,
    });
    display.stop();
    if (run.json) out(JSON.stringify(eraseReport(outcome, { board: run.board.id, certificate: null, backup: null }), null, 2));
    else out(eraseSummary(outcome, run.board.id));
    return outcome.verified ? EXIT.OK : EXIT.VERIFY_FAILED;
  } finally {
    display.stop();
    await port.close();
  }
}
