import type { EraseRecords } from '../records/erase-records';
import type { EraseOutcome } from '../session/erase';

/** One step of a long phase, for a progress display: the session's phases count items (sectors, blocks), the upload and the backup bytes. */
export interface RunProgress {
  phase: string;
  done: number;
  total: number;
  note?: string;
  unit: 'bytes' | 'items';
}

/** What a front end hears of a run and how it stops one; every field is optional. */
export interface RunEvents {
  /** aborted: the session stops at the end of its current phase (recorded, exit 3) */
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** heard once, when the session is over (ended, failed, or never began), before the records are written: progress displays stop here */
  onSessionEnd?: () => void;
}

/** A recorded run: its outcome, its records (paths, lines to show) and the exit code (0 only when verified and recorded). */
export interface RunResult {
  outcome: EraseOutcome;
  records: EraseRecords;
  code: number;
}

/** The run's events as a progress display: `stop` tells the end of the session once however often it is called. */
export function progressOf(events: RunEvents): { update: (p: RunProgress) => void; stop: () => void } {
  let stopped = false;
  return {
    update: (p) => events.onProgress?.(p),
    stop: () => {
      if (stopped) return;
      stopped = true;
      events.onSessionEnd?.();
    },
  };
}
