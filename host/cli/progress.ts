import { SingleBar, Presets } from 'cli-progress';
import type { Progress } from '../session/erase';

/**
 * A progress display on stderr, one bar per phase, shown only when stderr is a terminal (scripts
 * and CI logs get nothing).
 */
export function progressDisplay(enabled = process.stderr.isTTY === true): { update: (p: Progress) => void; stop: () => void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  let bar: SingleBar | null = null;
  let phase = '';
  const stop = (): void => {
    bar?.stop();
    bar = null;
  };
  return {
    update: (p) => {
      if (p.phase !== phase) {
        stop();
        phase = p.phase;
        bar = new SingleBar({ format: `{phase} [{bar}] {percentage}% {value}/{total} {note}`, stream: process.stderr, hideCursor: true, clearOnComplete: false }, Presets.shades_classic);
        bar.start(Math.max(1, p.total), 0, { phase: p.phase.padEnd(10), note: p.note ?? '' });
      }
      bar?.setTotal(Math.max(1, p.total));
      bar?.update(p.done, { note: p.note ?? '' });
    },
    stop,
  };
}
