/**
 * What the bootloader loop (bootloader.ts) and the code that Go starts in RAM (agent-model.ts,
 * cpu/machine.ts) see of an emulated terminal: narrow interfaces that EmulatedTerminal
 * implements, so that those modules depend on this one and not on the terminal class (which
 * builds them), and change the part's state only through its methods.
 */
import type { Board } from '../boards/types';
import type { VirtualClock } from './clock';
import type { FaultSet } from './faults';
import type { FlashModel, PowerLoss } from './flash';
import type { ByteQueue } from './queue';
import type { Rng } from './rng';

/**
 * `agent`: code started by Go in RAM runs (the ROM is not listening). `faulted`: that code
 * faulted; the part is silent until a reset through NRST (RTS) or a power cycle.
 */
export type PartState = 'bootloader' | 'application' | 'reset' | 'agent' | 'faulted';

/**
 * What happens on the part, for whoever watches it (the serial endpoint's session lines, tests).
 * `sync`: a 0x7F answered; `opened` is true when it was the autobaud sync (ACK), false for a 0x7F
 * inside an open session (NACK). `command`: a command frame, accepted (ACK) or refused (NACK).
 * `flash`: one flash operation (the line the operation log gets). `rdp`: read protection changed.
 * `go`: the part left the bootloader's command loop (`into` what). `fault`: the code Go started
 * faulted (the part is silent until reset). `restart`: a reset.
 */
export type TerminalEvent =
  | { type: 'sync'; opened: boolean }
  | { type: 'command'; code: number; accepted: boolean }
  | { type: 'flash'; kind: 'erase' | 'program'; line: string }
  | { type: 'rdp'; from: 0 | 1; to: 0 | 1 }
  | { type: 'go'; address: number; into: 'agent' | 'application' | 'reset' }
  | { type: 'fault'; why: string }
  | { type: 'restart'; into: 'bootloader' | 'application'; why: string };

/**
 * Pushed into the part's input by a reset: the bootloader drops whatever command it was in the
 * middle of (the ROM starts over) instead of taking the next client's bytes as the rest of it.
 */
export const RESET_MARK = -1;

/** The part as code running in RAM sees it: its line, memories and clock. */
export interface LinePart {
  readonly board: Board;
  readonly clock: VirtualClock;
  readonly rng: Rng;
  readonly flash: FlashModel;
  readonly ram: Uint8Array;
  readonly baud: number;
  readonly bitsPerByte: number;
  /** the line carries no framing (TerminalOptions.byteStream) */
  readonly byteStream: boolean;
  readonly options: { readonly iwdg?: boolean };
  /** the host's bytes; RESET_MARK after a reset */
  readonly input: ByteQueue;
  /** host bytes that found the part waiting for input, and the virtual time the last arrived */
  readonly wakes: number;
  readonly wokeAt: number;
  /** sessions served */
  readonly resets: number;
  readonly rdpLevel: 0 | 1;
  /** the injected faults (the agent's models read fake-digests and replay-results) */
  readonly faults: FaultSet;
  readonly events: string[];
  /** bytes from the part to the host side of the line */
  emit(bytes: ArrayLike<number>): void;
  readMemory(address: number, length: number): Uint8Array | null;
  ramOffset(address: number, length: number): number | null;
  /** the flash the code Go starts drives for one run: the true flash, or a shadow under the fake-digests fault */
  agentFlash(): FlashModel;
}

/** The part as its ROM bootloader sees it: the line part, plus the pins, resets and state it drives. */
export interface BootloaderPart extends LinePart {
  readonly faults: FaultSet;
  readonly trust: readonly string[];
  readonly runner: CodeRunner;
  readonly state: PartState;
  readonly synced: boolean;
  readonly bootPin: boolean;
  markSynced(): void;
  leaveBootloader(into: 'application' | 'agent' | 'faulted'): void;
  restart(into: 'bootloader' | 'application', why: string): void;
  powerLoss(err: PowerLoss): void;
  setRdp(level: 0 | 1): void;
  notify(e: TerminalEvent): void;
  executable(address: number, length?: number): boolean;
}

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
  go(t: LinePart, address: number): Promise<GoOutcome>;
}

export type GoOutcome = { kind: 'reset'; why: string } | { kind: 'powerloss'; error: Error } | { kind: 'fault'; why: string } | { kind: 'interrupted' };
