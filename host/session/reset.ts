import { parseResetSequence, ResetSequenceError, type ResetStep } from '../boards/reset';
import type { Board } from '../boards/types';
import { InputError } from '../errors';
import type { Transport } from '../transport/types';

/** Plays a DTR/RTS sequence (docs/reset-sequences.md) on the transport's modem lines. */
export async function playSequence(transport: Transport, steps: readonly ResetStep[]): Promise<void> {
  for (const s of steps) {
    if (s.kind === 'wait') await transport.sleep(s.ms);
    else await transport.setSignals({ [s.line]: s.asserted });
  }
}

export interface ResetPlan {
  enter: ResetStep[];
  exit: ResetStep[];
}

/**
 * The sequences for a run: `--reset <enter>` overrides the board's entry sequence (`none` turns
 * it off); the exit sequence comes from the board. Bad text is bad input (exit 2).
 */
export function resetPlan(board: Board, override?: string): ResetPlan {
  const parse = (text: string, what: string): ResetStep[] => {
    try {
      return parseResetSequence(text);
    } catch (err) {
      if (err instanceof ResetSequenceError) throw new InputError(`${what}: ${err.message}`);
      throw err;
    }
  };
  const enter =
    override === undefined
      ? board.reset
        ? parse(board.reset.enter, `board ${board.id} reset.enter`)
        : []
      : override.toLowerCase() === 'none'
        ? []
        : parse(override, '--reset');
  const exit = board.reset ? parse(board.reset.exit, `board ${board.id} reset.exit`) : [];
  return { enter, exit };
}

/**
 * Runs `fn` with the part in its bootloader: the entry sequence first, the exit sequence (back to
 * the application) afterwards whatever happened. A failing exit sequence never hides `fn`'s result.
 */
export async function inBootloader<T>(transport: Transport, plan: ResetPlan, fn: () => Promise<T>): Promise<T> {
  if (plan.enter.length) await playSequence(transport, plan.enter);
  try {
    return await fn();
  } finally {
    if (plan.exit.length) await playSequence(transport, plan.exit).catch(() => undefined);
  }
}
