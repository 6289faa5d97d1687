import { SingleBar, Presets } from 'cli-progress';

/** One step of a long phase: `done` of `total` units (bytes when unit is 'bytes'). */
export interface ProgressStep {
  phase: string;
  done: number;
  total: number;
  note?: string;
  /** what done and total count: bytes are shown in KiB; default: items (blocks, sectors) */
  unit?: 'bytes' | 'items';
}

export interface ProgressDisplay {
  update: (p: ProgressStep) => void;
  stop: () => void;
}

function amount(p: ProgressStep): string {
  if (p.unit === 'bytes') return `${(p.done / 1024).toFixed(1)}/${(p.total / 1024).toFixed(1)} KiB`;
  return `${p.done}/${p.total}`;
}

/** Whether bars are drawn: never with --quiet, never when stderr is not a terminal (scripts, CI logs). */
export function progressWanted(quiet: boolean | undefined, stream: { isTTY?: boolean } = process.stderr): boolean {
  return quiet !== true && stream.isTTY === true;
}

/**
 * A progress display on stderr, one bar per phase (connect, backup, the erase passes, restore,
 * verify), drawn only when `enabled` (see progressWanted).
 */
export function progressDisplay(enabled = progressWanted(false)): ProgressDisplay {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  let bar: SingleBar | null = null;
  let phase = '';
  const stop = (): void => {
    bar?.stop();
    bar = null;
    phase = '';
  };
  return {
    update: (p) => {
      if (p.phase !== phase) {
        stop();
        phase = p.phase;
        bar = new SingleBar(
          { format: `{phase} [{bar}] {percentage}% {amount} {note}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
          Presets.shades_classic,
        );
        bar.start(Math.max(1, p.total), 0, { phase: p.phase.padEnd(10), note: p.note ?? '', amount: amount(p) });
      }
      bar?.setTotal(Math.max(1, p.total));
      bar?.update(p.done, { note: p.note ?? '', amount: amount(p) });
    },
    stop,
  };
}
