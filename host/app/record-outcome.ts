import type { Board } from '../boards/types';
import type { EraseRecords } from '../records/erase-records';
import type { EraseOutcome } from '../session/erase';
import { eraseReport } from './report';

/**
 * Writes the records of a session that ended (certificate or failure report, audit row), each
 * carrying the JSON report; returns the exit code: 0 only when verified and recorded. One place
 * for `erase`, `flash` and the station, so their records hold the same report.
 */
export function recordOutcome(records: EraseRecords, outcome: EraseOutcome, board: Board): Promise<number> {
  return records.finish(outcome, (paths) => eraseReport(outcome, { board: board.id, ...paths }));
}
