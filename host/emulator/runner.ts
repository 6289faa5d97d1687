import type { EmulatedTerminal } from './terminal';

/**
 * How the code that Go starts in RAM runs on the emulated terminal. Two implementations, equals
 * behind this interface: the instruction-level CPU (`cpu/`, Unicorn: the uploaded bytes are
 * executed) and the TypeScript model of the agent (`agent-model.ts`: recognises the committed
 * agent binaries and speaks the same link, docs/agent.md). Both read the host's bytes from
 * `t.input` and answer with `t.emit`.
 */
export interface CodeRunner {
  readonly emulation: 'instruction' | 'model';
  /**
   * Go into RAM at `address` (the word there is the stack pointer, the next the entry point).
   * Resolves when the code gives the part back: 'reset' (a system reset or the watchdog: the
   * terminal restarts in its bootloader), 'powerloss' (an injected power loss struck a flash
   * operation), 'fault' (the core faulted or the code is not an agent: the part is silent until
   * the next reset, which the terminal's reset lines deliver as RESET_MARK on `t.input`).
   */
  go(t: EmulatedTerminal, address: number): Promise<GoOutcome>;
}

export type GoOutcome =
  | { kind: 'reset'; why: string }
  | { kind: 'powerloss'; error: Error }
  | { kind: 'fault'; why: string }
  | { kind: 'interrupted' };
