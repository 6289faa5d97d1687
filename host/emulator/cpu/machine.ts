import type { Board } from '../../boards/types';
import { PowerLoss, type FlashModel } from '../flash';
import { RESET_MARK, type CodeRunner, type GoOutcome, type LinePart } from '../part';
import { Bus, PAGE } from '../periph/bus';
import type { Peripheral } from '../periph/bus';
import { FlashF2 } from '../periph/flash-f2';
import { FlashL4 } from '../periph/flash-l4';
import { GpioPort, MODE, gpioReset } from '../periph/gpio';
import { Iwdg } from '../periph/iwdg';
import { Pwr } from '../periph/pwr';
import { RccF2, RccL4 } from '../periph/rcc';
import { Dwt, SystemControlSpace, DEMCR_TRCENA } from '../periph/scb';
import { Usart } from '../periph/usart';
import type { CpuFamily, CpuKind } from './family';
import { cpuKindOf, familyOf } from './family';
import {
  Cpu,
  UC_ARM_REG,
  UC_ERR,
  UC_MEM_NAMES,
  UC_PROT_ALL,
  UC_PROT_EXEC,
  UC_PROT_READ,
  instructionLevelAvailable,
  instructionLevelUnavailableReason,
  ucStrerror,
} from './unicorn';

/**
 * Cycles per instruction used for virtual time: executed instructions x CPI / core clock. 1.5 is
 * an estimate for integer code running from zero-wait-state SRAM on a Cortex-M3/M4 (PM0056 /
 * PM0214 and the Cortex-M4 TRM's cycle tables: most data processing 1 cycle, loads and stores 2,
 * taken branches 2-4 with the pipeline refill, multiply 1, divide 2-12).
 */
export const CYCLES_PER_INSTRUCTION = 1.5;

/** instructions of one uc_emu_start before the machine yields to the event loop */
export const SLICE_INSTRUCTIONS = 2_000_000;

/**
 * While the code waits for a host byte that arrives later in virtual time, it lives through the
 * wait in steps of this many seconds (each step: one more turn of its polling loop, with the time
 * charged to the core cycles its timers read). Well under the 100 ms inter-byte timeout of the
 * link and under a 24-bit SysTick's wrap at the fastest core clock (2^24 / 168 MHz = 99.9 ms),
 * so a timer polled once a turn sees all of it.
 */
export const IDLE_STEP_SECONDS = 0.002;

/** ARM exception numbers as QEMU (Unicorn) reports them to an interrupt hook */
const QEMU_EXCEPTIONS: Record<number, string> = {
  1: 'undefined instruction',
  2: 'supervisor call (SVC)',
  3: 'prefetch abort',
  4: 'data abort',
  5: 'interrupt',
  7: 'breakpoint (BKPT)',
  8: 'exception return',
  16: 'semihosting call',
  17: 'coprocessor access (NOCP: FPU off)',
  18: 'invalid state (INVSTATE: Thumb bit clear)',
  19: 'stack overflow',
  21: 'lazy FP state preservation',
  22: 'unaligned access',
};

/**
 * The instruction-level emulated terminal: Go runs the uploaded bytes on a Cortex-M core
 * (Unicorn), with the part's memory map and peripheral models (host/emulator/periph/). A fresh
 * core and fresh peripherals per Go: everything at its reset value, as AN3155's Go leaves the
 * bootloader's peripherals.
 */
export class CpuRunner implements CodeRunner {
  readonly emulation = 'instruction' as const;

  /** `kind` overrides the kind worked out from the board (cpuKindOf). */
  constructor(private readonly kind?: CpuKind) {}

  /**
   * The runner for terminals of `board`, or why it cannot run here (for the terminal's runner
   * selection: `registerInstructionRunner((board) => CpuRunner.tryCreate(board))`).
   */
  static tryCreate(board: Board): CpuRunner | { unavailable: string } {
    if (!instructionLevelAvailable()) return { unavailable: instructionLevelUnavailableReason() };
    const kind = cpuKindOf(board);
    if (!kind) return { unavailable: `${board.id} is not an F2, F4 or L4 part (no instruction-level model)` };
    if (!board.link) return { unavailable: `${board.id} has no link (the bootloader's USART and pins) in its board file` };
    return new CpuRunner(kind);
  }

  /** Unicorn and the native instruction counter load on this machine. */
  static available(): boolean {
    return instructionLevelAvailable();
  }

  static unavailableReason(): string {
    return instructionLevelUnavailableReason();
  }

  async go(t: LinePart, address: number): Promise<GoOutcome> {
    const kind = this.kind ?? cpuKindOf(t.board);
    if (!kind) return { kind: 'fault', why: `hard fault: no instruction-level model of ${t.board.id} (not an F2, F4 or L4 part)` };
    const m = new Machine(t, familyOf(t.board, kind));
    try {
      return await m.run(address);
    } finally {
      m.close();
    }
  }
}

/** statistics of the last run, for the bench */
export interface MachineStats {
  instructions: number;
  cycles: number;
  /** virtual seconds spent executing instructions (the rest: flash operations, line bytes) */
  computeSeconds: number;
  wallMs: number;
}

export class Machine {
  readonly cpu: Cpu;
  readonly usart: Usart;
  readonly iwdg: Iwdg;
  readonly flashInterface: FlashF2 | FlashL4;
  readonly rcc: RccF2 | RccL4;
  private readonly bus: Bus;
  /** the flash this run drives: the terminal's, or its shadow under the fake-digests fault (EmulatedTerminal.agentFlash) */
  private readonly flash: FlashModel;
  private outcome: GoOutcome | null = null;
  private wantInput = false;
  /**
   * The code waited for input from virtual time `at` and a byte came at `until` (the clock is
   * already there: the host's timeouts and bytes moved it): the CPU runs its polling loop through
   * that gap before `byte` is delivered, so its timeouts (a partial frame after 100 ms, the idle
   * reset) expire as they would on silicon.
   */
  private replay: { at: number; until: number; byte: number } | null = null;
  private syncedInstructions = 0;
  private cycleCount = 0;
  private lastNow: number;
  private memFault: string | null = null;
  readonly stats: MachineStats = { instructions: 0, cycles: 0, computeSeconds: 0, wallMs: 0 };

  constructor(
    private readonly t: LinePart,
    family: CpuFamily,
  ) {
    this.lastNow = t.clock.now();
    this.flash = t.agentFlash();
    const board = t.board;
    const now = (): number => t.clock.now();
    const rcc = family.kind === 'l4' ? new RccL4(family.rcc, now) : new RccF2(family.rcc, now);
    this.rcc = rcc;
    const rdpByte = t.rdpLevel === 0 ? board.bootloader.rdp.level0 : 0x55;
    const onBusError = (why: string): void => this.end({ kind: 'fault', why: `hard fault: bus error: ${why} at 0x${hex(this.cpu.instructionAddress)}` });
    const iwdg = new Iwdg(family.iwdg, now, t.options.iwdg === true);
    this.iwdg = iwdg;
    const busy = (on: boolean): void => iwdg.busyWait(on);
    this.flashInterface =
      family.kind === 'l4'
        ? new FlashL4(family.flashInterface, this.flash, { rdpByte, busy, onBusError })
        : new FlashF2(family.flashInterface, this.flash, { rdpByte, busy, onBusError, dualBank: board.flash.banks.length > 1 });
    const ports: GpioPort[] = [];
    for (let n = 0; n < family.gpioPorts; n++) {
      const mask = 1 << n;
      ports.push(
        new GpioPort(`GPIO${String.fromCharCode(65 + n)}`, family.gpio + n * 0x400, gpioReset(family.kind, n), () =>
          rcc.enabled(family.gpioEnableRegister, mask),
        ),
      );
    }
    const line = family.line;
    const port = ports.find((p) => p.base === line.gpio)!;
    const pinReady = (pin: number): boolean =>
      rcc.enabled(line.gpioEnable.register, line.gpioEnable.mask) && port.pinMode(pin) === MODE.AF && port.pinAf(pin) === line.af;
    this.usart = new Usart(
      'USART1',
      line.usart,
      family.usartLayout,
      { baud: t.baud, bitsPerByte: t.bitsPerByte, byteStream: t.byteStream },
      {
        clockHz: () => rcc.busHz(line.bus),
        clockOn: () => rcc.enabled(line.usartEnable.register, line.usartEnable.mask),
        txPinReady: () => pinReady(line.txPin),
        rxPinReady: () => pinReady(line.rxPin),
        emit: (b) => t.emit([b]),
        random: () => t.rng.below(256),
        wantInput: () => {
          const r = this.replay;
          if (r && r.until - r.at > 0) {
            const step = Math.min(IDLE_STEP_SECONDS, r.until - r.at);
            r.at += step;
            this.cycleCount += step * this.rcc.coreHz();
            return; // the code polls on; the byte is not there yet
          }
          this.wantInput = true;
          this.cpu.stop();
        },
        pc: () => this.cpu.instructionAddress,
      },
    );
    const time = { cycles: (): number => this.cycleCount };
    const scs = new SystemControlSpace(family.cpuid, time, () => this.end({ kind: 'reset', why: 'SYSRESETREQ' }));
    const dwt = new Dwt(time, () => (scs.demcr & DEMCR_TRCENA) !== 0);
    const pwr = new Pwr(family.pwr, family.kind, () => rcc.enabled(family.pwrEnable.register, family.pwrEnable.mask));
    const peripherals: Peripheral[] = [rcc, this.flashInterface, iwdg, pwr, this.usart, scs, dwt, ...ports];
    this.bus = new Bus(peripherals, {
      sync: () => this.sync(),
      unowned: (address, write) =>
        this.end({
          kind: 'fault',
          why: `hard fault: bus error: ${write ? 'write to' : 'read of'} 0x${hex(address)} (no peripheral modelled there) at 0x${hex(this.cpu.instructionAddress)}`,
        }),
    });

    this.cpu = new Cpu(family.model);
    try {
      this.mapMemory();
    } catch (err) {
      this.cpu.close();
      throw err;
    }
  }

  private mapMemory(): void {
    const { t, cpu } = this;
    const board = t.board;
    // SRAM: the terminal's own bytes, so RAM keeps its contents across Go and reset
    if (board.ram.size % PAGE !== 0 || board.ram.base % PAGE !== 0) throw new RangeError(`RAM of ${board.id} is not whole 4 KiB pages`);
    cpu.mapBytes(board.ram.base, t.ram, UC_PROT_ALL);
    // flash: reads straight from the FlashModel's array (native callback), writes to the interface;
    // under fake-digests that is the shadow, so the code reads back what it believes it wrote
    const fi = this.flashInterface;
    const flashBase = this.flash.base;
    cpu.mmioBytes(flashBase, this.flash.bytes, (offset, size, value) => {
      this.sync();
      fi.arrayWrite(flashBase + offset, size, value);
    });
    // system memory: ROM (not modelled: reads 0xFF), OTP, unique ID, flash size, option bytes
    const ranges: Array<{ address: number; size: number }> = [
      board.systemMemory,
      { address: board.uniqueId.address, size: board.uniqueId.bytes },
      ...board.optionBytes,
    ];
    if (board.otp) ranges.push(board.otp);
    if (board.flash.sizeRegister !== null) ranges.push({ address: board.flash.sizeRegister, size: 2 });
    const pages = new Set<number>();
    for (const r of ranges) for (let p = r.address - (r.address % PAGE); p < r.address + r.size; p += PAGE) pages.add(p);
    for (const p of [...pages].sort((a, b) => a - b)) {
      cpu.map(p, PAGE, UC_PROT_READ | UC_PROT_EXEC);
      cpu.write(p, new Uint8Array(PAGE).fill(0xff));
    }
    const uid = t.readMemory(board.uniqueId.address, board.uniqueId.bytes);
    if (uid) cpu.write(board.uniqueId.address, uid);
    if (board.flash.sizeRegister !== null) {
      const size = t.readMemory(board.flash.sizeRegister, 2);
      if (size) cpu.write(board.flash.sizeRegister, size);
    }
    // peripherals
    for (const page of this.bus.pageList()) {
      cpu.mmio(
        page,
        PAGE,
        (offset, size) => this.bus.read(page, offset, size),
        (offset, size, value) => this.bus.write(page, offset, size, value),
      );
    }
    cpu.onInvalidMemory((type, address) => {
      this.memFault = `${UC_MEM_NAMES[type] ?? `memory fault ${type}`} 0x${hex(address)}`;
    });
    cpu.onInterrupt((intno) => {
      this.end({ kind: 'fault', why: `hard fault: ${QEMU_EXCEPTIONS[intno] ?? `exception ${intno}`} at 0x${hex(this.pc())}` });
    });
    cpu.countInstructions();
  }

  private pc(): number {
    return this.cpu.reg(UC_ARM_REG.PC);
  }

  /** core cycles since Go */
  get cycles(): number {
    return this.cycleCount;
  }

  /**
   * A sync point (every peripheral access, every slice end): charges the instructions executed
   * since the last one at the current core clock, and converts the virtual time others charged
   * meanwhile (flash operations, line bytes) into core cycles.
   */
  sync(): void {
    const n = this.cpu.instructions;
    const executed = n - this.syncedInstructions;
    this.syncedInstructions = n;
    const hz = this.rcc.coreHz();
    const seconds = (executed * CYCLES_PER_INSTRUCTION) / hz;
    if (this.replay) {
      // inside a wait the clock has already passed: the polling loop's instructions are part of it
      this.replay.at += seconds;
      this.cycleCount += executed * CYCLES_PER_INSTRUCTION;
      return;
    }
    const external = this.t.clock.now() - this.lastNow;
    this.cycleCount += external * hz + executed * CYCLES_PER_INSTRUCTION;
    this.t.clock.advance(seconds);
    this.stats.computeSeconds += seconds;
    this.lastNow = this.t.clock.now();
    if (this.iwdg.expired()) this.end({ kind: 'reset', why: 'independent watchdog expired' });
  }

  private end(outcome: GoOutcome): void {
    if (!this.outcome) this.outcome = outcome;
    this.cpu.stop();
  }

  /** Runs from the vector table at `address` until the code gives the part back. */
  async run(address: number): Promise<GoOutcome> {
    const started = performance.now();
    try {
      return await this.loop(address);
    } finally {
      this.stats.instructions = this.cpu.instructions;
      this.stats.cycles = this.cycleCount;
      this.stats.wallMs = performance.now() - started;
    }
  }

  private async loop(address: number): Promise<GoOutcome> {
    const { t, cpu } = this;
    const vector = t.readMemory(address, 8);
    if (!vector) return { kind: 'fault', why: `hard fault: vector table at 0x${hex(address)} is not in memory` };
    const dv = new DataView(vector.buffer, vector.byteOffset, 8);
    const sp = dv.getUint32(0, true);
    const entry = dv.getUint32(4, true);
    const { base, size } = t.board.ram;
    if (!(sp > base && sp <= base + size)) {
      return { kind: 'fault', why: `hard fault: initial stack pointer 0x${hex(sp)} at 0x${hex(address)} is outside RAM (the first stacking faults)` };
    }
    if ((entry & 1) === 0) return { kind: 'fault', why: `hard fault: invalid state (entry 0x${hex(entry)} without the Thumb bit) at 0x${hex(entry)}` };
    if (t.ramOffset(entry & ~1, 2) === null) {
      return { kind: 'fault', why: `hard fault: entry point 0x${hex(entry)} at 0x${hex(address + 4)} is outside RAM (the first fetch faults)` };
    }
    cpu.setReg(UC_ARM_REG.MSP, sp & ~3);
    cpu.setReg(UC_ARM_REG.SP, sp & ~3);
    const resetsAtGo = t.resets;
    let pc = entry;
    for (;;) {
      cpu.stopAt(cpu.instructions + SLICE_INSTRUCTIONS);
      const err = cpu.run(pc | 1, 0);
      this.sync();
      const thrown = cpu.pendingError;
      if (thrown instanceof PowerLoss) return { kind: 'powerloss', error: thrown };
      if (thrown) throw thrown;
      if (this.outcome) return this.outcome;
      if (err !== UC_ERR.OK) {
        const what = this.memFault ?? (err === UC_ERR.INSN_INVALID ? 'undefined instruction' : ucStrerror(err));
        return { kind: 'fault', why: `hard fault: ${what} at 0x${hex(this.pc())}` };
      }
      if (t.resets !== resetsAtGo) return { kind: 'interrupted' };
      pc = this.pc();
      if (this.wantInput) {
        this.wantInput = false;
        const r = this.replay;
        if (r) {
          // the code has lived through the wait: the byte arrives now
          this.replay = null;
          if (r.at > t.clock.now()) t.clock.advance(r.at - t.clock.now());
          this.lastNow = r.at;
          this.usart.deliver(r.byte);
          continue;
        }
        const waitedFrom = this.lastNow;
        const wakes = t.wakes;
        const b = await t.input.next();
        if (b === RESET_MARK) return { kind: 'interrupted' };
        if (t.wakes !== wakes && t.wokeAt > waitedFrom) this.replay = { at: waitedFrom, until: t.wokeAt, byte: b };
        else this.usart.deliver(b);
      } else {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (t.resets !== resetsAtGo) return { kind: 'interrupted' };
      }
    }
  }

  close(): void {
    this.cpu.close();
  }
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
