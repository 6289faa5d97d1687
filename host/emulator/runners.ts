import type { Board } from '../boards/types';
import { InputError } from '../errors';
import { ModelRunner, type ModelRunnerOptions } from './agent-model';
import { CpuRunner } from './cpu/machine';
import type { CodeRunner } from './part';

/**
 * Which CodeRunner runs the code Go starts in RAM: the instruction-level CPU when it is available
 * and wanted, else the TypeScript model of the agent. `auto` (the default) takes the CPU where it
 * loads (libunicorn2 present, not a browser) and the model elsewhere.
 */
export type EmulationChoice = 'auto' | 'instruction' | 'model';

export const EMULATION_CHOICES: readonly EmulationChoice[] = ['auto', 'instruction', 'model'];

/**
 * Makes the instruction-level runner for one terminal of `board`, or says why it cannot here
 * (the library is missing, the board's core is not supported).
 */
export type InstructionRunnerFactory = (board: Board) => CodeRunner | { unavailable: string };

// The instruction-level CPU (host/emulator/cpu/machine.ts, Unicorn through koffi) is the default
// factory; it answers `unavailable` where libunicorn2 or the native counter is missing, and the
// browser build maps cpu/machine to a stub that is always unavailable (host/web/build.ts).
let instructionFactory: InstructionRunnerFactory | null = (board) => CpuRunner.tryCreate(board);

/** Registers the instruction-level runner (null unregisters it); returns the one registered before (tests restore it). */
export function registerInstructionRunner(factory: InstructionRunnerFactory | null): InstructionRunnerFactory | null {
  const before = instructionFactory;
  instructionFactory = factory;
  return before;
}

/** The registered instruction-level runner for `board`, or why there is none (a factory that throws counts as unavailable). */
function instructionRunner(board: Board): CodeRunner | { unavailable: string } {
  if (!instructionFactory) return { unavailable: 'no instruction-level runner is registered in this poswipe' };
  try {
    return instructionFactory(board);
  } catch (err) {
    return { unavailable: (err as Error).message };
  }
}

export interface RunnerOptions {
  emulation?: EmulationChoice;
  /** the model's sources of agent binaries and engine module (tests hand-make them) */
  model?: ModelRunnerOptions;
}

/** The runner for a terminal of `board`; InputError when `instruction` is asked for and cannot run here. */
export function selectRunner(board: Board, options: RunnerOptions = {}): CodeRunner {
  const choice = options.emulation ?? 'auto';
  if (!EMULATION_CHOICES.includes(choice)) throw new InputError(`emulation "${String(choice)}": expected ${EMULATION_CHOICES.join(', ')}`);
  if (choice !== 'model') {
    const made = instructionRunner(board);
    if (!('unavailable' in made)) return made;
    if (choice === 'instruction') throw new InputError(`instruction-level emulation is not available for ${board.id}: ${made.unavailable}`);
  }
  return new ModelRunner(options.model);
}
