import type { Board } from '../boards/types';
import { VirtualClock } from './clock';
import { FlashModel, type PowerLoss } from './flash';
import type { FaultSet } from './faults';
import { noFaults } from './faults';
import { InputError } from '../errors';
import { initialImage } from './image';
import { ByteQueue } from './queue';
import { Rng } from './rng';
import { serveBootloader } from './bootloader';
import { RESET_MARK, type BootloaderPart, type CodeRunner, type PartState, type TerminalEvent } from './part';
import { selectRunner, type EmulationChoice } from './runners';
import type { ModelRunnerOptions } from './agent-model';

export interface TerminalOptions {
  /** flash contents; a deterministic realistic image when absent */
  image?: Uint8Array;
  faults?: FaultSet;
  seed?: number;
  /** 1 = read protection active at start */
  rdp?: 0 | 1;
  baud?: number;
  /** bits per byte on the line: 11 for 8E1 (default), 10 for 8N1 */
  bitsPerByte?: number;
  /**
   * The line is a byte stream without framing (a pty, standard input/output: `poswipe emu`): it
   * carries no parity bit, so the parity of the part's USART cannot mismatch it, as the ROM
   * bootloader (8E1 by AN3155) is served on it too; `bitsPerByte` then only sets the time a byte
   * takes. Default false: a modelled wire, where the word format must be the line's.
   */
  byteStream?: boolean;
  /** receives one line per flash operation */
  log?: (line: string) => void;
  /**
   * Simulated secure boot (`--emu-trust`): Ed25519 public keys (PEM). With any, Go into RAM runs
   * only an image whose signature block verifies with one of them (docs/emulator.md); empty = any
   * code runs, as on a stock part. No STM32 ROM bootloader does this: it is a simulation.
   */
  trust?: string[];
  /** who runs the code Go starts in RAM: 'auto' (default) = instruction level where available, else the model */
  emulation?: EmulationChoice;
  /** the model's agent binaries and engine module, when not the committed ones (tests) */
  model?: ModelRunnerOptions;
  /** the independent watchdog runs from reset (the hardware-watchdog option bit): the agent must refresh it */
  iwdg?: boolean;
  /** a runner given outright (tests); overrides `emulation` */
  runner?: CodeRunner;
}

// the part's vocabulary lives in part.ts (the bootloader and the code runners import it from there)
export { RESET_MARK, type PartState, type TerminalEvent } from './part';

/**
 * One emulated payment terminal: the board's flash (NOR model), RAM, system areas, read
 * protection, the two bench lines (DTR = BOOT0, RTS = NRST), the serial line with its faults and
 * clock, and the bootloader loop that serves it. The same object serves the in-process `emu` port
 * and the pseudo-terminal endpoint.
 */
export class EmulatedTerminal implements BootloaderPart {
  readonly clock = new VirtualClock();
  readonly rng: Rng;
  readonly flash: FlashModel;
  readonly ram: Uint8Array;
  readonly faults: FaultSet;
  readonly uniqueId: Uint8Array;
  readonly baud: number;
  readonly bitsPerByte: number;
  /** TerminalOptions.byteStream */
  readonly byteStream: boolean;
  readonly trust: string[];
  /** runs the code Go starts in RAM */
  readonly runner: CodeRunner;
  rdpLevel: 0 | 1;
  private partState: PartState = 'bootloader';
  /** the bootloader has seen its 0x7F since the last reset */
  private isSynced = false;
  readonly input = new ByteQueue();
  /**
   * Host bytes that found the part blocked waiting for input (counted), and the virtual time the
   * last of them arrived: the instruction-level runner lets the waiting code live through the
   * time between its wait and that arrival (cpu/machine.ts).
   */
  wakes = 0;
  wokeAt = 0;
  private output: number[] = [];
  private outputHead = 0;
  private outputListener: ((bytes: Uint8Array) => void) | null = null;
  private boot0 = true;
  private resetHeld = false;
  /** sessions served (a session starts with the first sync after a reset) */
  resets = 0;
  events: string[] = [];
  private readonly observers = new Set<(e: TerminalEvent) => void>();
  private readonly flashLog: ((line: string) => void) | undefined;

  constructor(
    readonly board: Board,
    readonly options: TerminalOptions = {},
  ) {
    this.faults = options.faults ?? noFaults();
    this.rng = new Rng(options.seed ?? 1);
    this.baud = options.baud ?? 115200;
    this.bitsPerByte = options.bitsPerByte ?? 11;
    this.byteStream = options.byteStream ?? false;
    this.trust = options.trust ?? [];
    this.runner = options.runner ?? selectRunner(board, { emulation: options.emulation, model: options.model });
    if (this.faults.replayResults && this.runner.emulation !== 'model') {
      // the lying agent is simulated in the TypeScript model; executed agent bytes cannot be made to lie
      throw new InputError('fault replay-results needs the TypeScript model of the agent: this terminal runs the agent at instruction level');
    }
    this.rdpLevel = options.rdp ?? this.faults.rdp ?? 0;
    const image = options.image ?? initialImage(board, options.seed ?? 1);
    const log = (line: string): void => {
      options.log?.(line);
      if (this.observers.size) this.notify({ type: 'flash', kind: /^\S+ erase/.test(line) ? 'erase' : 'program', line });
    };
    this.flash = new FlashModel(board, image, { clock: this.clock, faults: this.faults, rng: this.rng, log });
    this.flashLog = options.log;
    this.ram = new Uint8Array(board.ram.size);
    const uidRng = new Rng(`uid:${board.id}:${options.seed ?? 1}`);
    this.uniqueId = new Uint8Array(board.uniqueId.bytes);
    uidRng.fill(this.uniqueId);
    void serveBootloader(this);
  }

  /**
   * The flash the code Go starts in RAM drives, for one run of it (both runners take it at Go). It is
   * the true flash, except with the `fake-digests` fault: then a shadow copy of it, made now, takes
   * that code's erase and program operations (and its reads show their result), while the true flash
   * the ROM bootloader reads stays as it was. This simulates a lying terminal; no real part does it.
   */
  agentFlash(): FlashModel {
    if (!this.faults.fakeDigests) return this.flash;
    const log = (line: string): void => this.flashLog?.(`${line} (fake-digests: shadow only, the flash is unchanged)`);
    return new FlashModel(this.board, this.flash.bytes.slice(), { clock: this.clock, faults: this.faults, rng: this.rng, log });
  }

  get state(): PartState {
    return this.partState;
  }

  get synced(): boolean {
    return this.isSynced;
  }

  /** The bootloader answered the autobaud 0x7F: a session is open until the next reset. */
  markSynced(): void {
    this.isSynced = true;
  }

  /** The part left the bootloader's command loop (Go: the application or code in RAM; a fault in that code). */
  leaveBootloader(into: 'application' | 'agent' | 'faulted'): void {
    this.partState = into;
    this.isSynced = false;
  }

  /** which emulation runs code started in RAM (for the report) */
  get emulation(): 'instruction' | 'model' {
    return this.runner.emulation;
  }

  /** Calls `listener` with every TerminalEvent until the returned function is called. */
  observe(listener: (e: TerminalEvent) => void): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  notify(e: TerminalEvent): void {
    for (const o of this.observers) o(e);
  }

  /** Sets the read protection level (option bytes), telling observers when it changes. */
  setRdp(level: 0 | 1): void {
    if (level === this.rdpLevel) return;
    const from = this.rdpLevel;
    this.rdpLevel = level;
    this.notify({ type: 'rdp', from, to: level });
  }

  /** seconds one byte takes on the line */
  get byteTime(): number {
    return this.bitsPerByte / this.baud;
  }

  /** Bytes from the host side of the line. */
  receive(bytes: Uint8Array): void {
    for (const b of bytes) {
      this.clock.advance(this.byteTime);
      const v = this.lineFault(b);
      if (v === null) continue;
      if (this.input.waiting) {
        this.wakes++;
        this.wokeAt = this.clock.now();
      }
      this.input.push(v);
    }
  }

  /** Bytes from the part to the host side of the line. */
  emit(bytes: ArrayLike<number>): void {
    const passed: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      this.clock.advance(this.byteTime);
      const v = this.lineFault(bytes[i]);
      if (v !== null) passed.push(v);
    }
    if (this.outputListener) {
      if (passed.length) this.outputListener(Uint8Array.from(passed));
    } else {
      for (const v of passed) this.output.push(v);
    }
  }

  /** Sends everything the part emits to `listener` instead of buffering it (serial endpoints); null buffers again. */
  onOutput(listener: ((bytes: Uint8Array) => void) | null): void {
    this.outputListener = listener;
  }

  availableOutput(): number {
    return this.output.length - this.outputHead;
  }

  takeOutput(n: number): Uint8Array {
    const out = Uint8Array.from(this.output.slice(this.outputHead, this.outputHead + n));
    this.outputHead += out.length;
    if (this.outputHead === this.output.length) {
      this.output = [];
      this.outputHead = 0;
    }
    return out;
  }

  discardOutput(): void {
    this.output = [];
    this.outputHead = 0;
  }

  /** the part is blocked waiting for line input (nothing more will come out until it gets some) */
  get idle(): boolean {
    return this.input.waiting;
  }

  private lineFault(b: number): number | null {
    if (this.faults.drop > 0 && this.rng.float() < this.faults.drop) return null;
    if (this.faults.flip > 0 && this.rng.float() < this.faults.flip) return b ^ (1 << this.rng.below(8));
    return b;
  }

  /** DTR drives BOOT0 (asserted = high); RTS drives NRST (asserted = held in reset). */
  setSignals(s: { dtr?: boolean; rts?: boolean }): void {
    if (s.dtr !== undefined) this.boot0 = s.dtr;
    if (s.rts !== undefined) {
      if (s.rts && !this.resetHeld) {
        this.resetHeld = true;
        this.partState = 'reset';
        // the core stops at once: whatever runs (ROM command, agent) is abandoned
        this.input.clear();
        this.input.push(RESET_MARK);
      } else if (!s.rts && this.resetHeld) {
        this.resetHeld = false;
        this.restart(this.boot0 ? 'bootloader' : 'application', 'reset released');
      }
    }
  }

  /**
   * A reset: back into the bootloader (waiting for 0x7F) or into the application. Pending input is
   * dropped and the bootloader abandons the command it was in the middle of (RESET_MARK).
   */
  restart(into: 'bootloader' | 'application', why: string): void {
    this.partState = into;
    this.isSynced = false;
    this.resets++;
    this.input.clear();
    this.input.push(RESET_MARK);
    this.events.push(`${this.clock.now().toFixed(3)} restart into ${into}: ${why}`);
    this.notify({ type: 'restart', into, why });
  }

  /** The level of BOOT0 (DTR): where a reset lands. */
  get bootPin(): boolean {
    return this.boot0;
  }

  /** Power lost: RAM contents are gone, the part restarts in its bootloader. */
  powerLoss(err: PowerLoss): void {
    this.rng.fill(this.ram);
    this.restart(this.boot0 ? 'bootloader' : 'application', err.message);
  }

  /** Every byte of `length` at `address` is flash or RAM (where Go may jump). */
  executable(address: number, length = 4): boolean {
    return this.flash.contains(address, length) || this.ramOffset(address, length) !== null;
  }

  // ---- the part's address space as the bootloader sees it ----

  /** Reads `length` bytes at `address`, or null when any of them is not mapped. */
  readMemory(address: number, length: number): Uint8Array | null {
    if (this.flash.contains(address, length)) return this.flash.read(address, length);
    const r = this.ramOffset(address, length);
    if (r !== null) return this.ram.slice(r, r + length);
    const uid = this.board.uniqueId.address;
    if (address >= uid && address + length <= uid + this.uniqueId.length) return this.uniqueId.slice(address - uid, address - uid + length);
    const reg = this.board.flash.sizeRegister;
    if (reg !== null && address >= reg && address + length <= reg + 2) {
      // the register may lie (fault flash-size=<KiB>); the flash model keeps the board's physical size
      const kib = this.faults.flashSizeKiB ?? this.board.flash.size / 1024;
      return Uint8Array.of(kib & 0xff, kib >> 8).slice(address - reg, address - reg + length);
    }
    return null;
  }

  ramOffset(address: number, length: number): number | null {
    const { base, size } = this.board.ram;
    return address >= base && length >= 0 && address + length <= base + size ? address - base : null;
  }
}
