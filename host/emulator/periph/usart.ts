import type { Peripheral } from './bus';
import { lanesOf, mergeLanes } from './bus';

/**
 * The USART the bootloader talks on, in both register layouts:
 * - F2/F4 (RM0033 §24.6, RM0090 §30.6): SR 0x00, DR 0x04, BRR 0x08, CR1 0x0C, CR2 0x10, CR3 0x14,
 *   GTPR 0x18.
 * - L4 (RM0351 §40.8): CR1 0x00, CR2 0x04, CR3 0x08, BRR 0x0C, GTPR 0x10, RTOR 0x14, RQR 0x18,
 *   ISR 0x1C, ICR 0x20, RDR 0x24, TDR 0x28.
 *
 * A byte written to the data register reaches the line only when the USART's clock is on (the
 * bus ignores the write otherwise), UE and TE are set and the TX pin is handed to the USART
 * (alternate-function mode with the right AF, port clock on). The line's format is fixed by the
 * host: 8 data bits + even parity (11 bits a byte: M=1 + PCE=1, PS=0, 1 stop bit) or 8N1 (10
 * bits: M=0, PCE=0), at the host's baud rate; on a byte stream without framing (a pty or stdio
 * served by `poswipe emu`, `UsartLine.byteStream`) there is no parity bit to mismatch, so either
 * of the two 8-data-bit formats is heard. The agent's BRR gives
 * baud = fCK / USARTDIV (OVER8=0: USARTDIV = BRR; OVER8=1: BRR[15:4] << 4 | BRR[2:0] << 1, baud =
 * 2 fCK / USARTDIV); more than `BAUD_TOLERANCE` off, or a different word format, and the host
 * hears a random byte for every byte sent, and the agent receives every host byte as a random
 * byte with FE (framing error) set. So an agent that does not bring the USART up itself is not
 * heard.
 *
 * Timing: the byte's line time is charged by the terminal (`emit`) when DR is written, so TXE and
 * TC read 1 at once afterwards. Receiving: when the same instruction reads the status register
 * twice in a row with RXNE clear (no other USART access in between), the agent is in a receive
 * loop, waiting for the host: the model asks
 * the machine for a byte (`wantInput`), which stops the CPU and resumes it once the host has
 * sent one (the machine lets the core poll through the virtual time the wait lasted before the
 * byte reaches RDR/DR: cpu/machine.ts, IDLE_STEP_SECONDS). Not modelled: overrun (ORE: bytes wait in the
 * terminal's input queue instead), IDLE, LIN, IrDA, smartcard, DMA, interrupts.
 */
export type UsartLayout = 'f2' | 'l4';

export const USART_F2 = { SR: 0x00, DR: 0x04, BRR: 0x08, CR1: 0x0c, CR2: 0x10, CR3: 0x14, GTPR: 0x18 } as const;
export const USART_L4 = {
  CR1: 0x00,
  CR2: 0x04,
  CR3: 0x08,
  BRR: 0x0c,
  GTPR: 0x10,
  RTOR: 0x14,
  RQR: 0x18,
  ISR: 0x1c,
  ICR: 0x20,
  RDR: 0x24,
  TDR: 0x28,
} as const;

/** status bits, same positions in F2 SR and L4 ISR */
export const SR_PE = 1 << 0;
export const SR_FE = 1 << 1;
export const SR_ORE = 1 << 3;
export const SR_RXNE = 1 << 5;
export const SR_TC = 1 << 6;
export const SR_TXE = 1 << 7;
/** L4 ISR only */
export const ISR_TEACK = 1 << 21;
export const ISR_REACK = 1 << 22;

/** F2 CR1 bits */
const F2_CR1_RE = 1 << 2;
const F2_CR1_TE = 1 << 3;
const F2_CR1_PS = 1 << 9;
const F2_CR1_PCE = 1 << 10;
const F2_CR1_M = 1 << 12;
const F2_CR1_UE = 1 << 13;
const F2_CR1_OVER8 = 1 << 15;
/** L4 CR1 bits */
const L4_CR1_UE = 1 << 0;
const L4_CR1_RE = 1 << 2;
const L4_CR1_TE = 1 << 3;
const L4_CR1_PS = 1 << 9;
const L4_CR1_PCE = 1 << 10;
const L4_CR1_M0 = 1 << 12;
const L4_CR1_OVER8 = 1 << 15;
const L4_CR1_M1 = 1 << 28;
/** CR2 STOP[13:12]: 00 = 1 stop bit */
const CR2_STOP_SHIFT = 12;

/** how far the agent's baud rate may be from the host's (3 %: a 16x-oversampled receiver's margin) */
export const BAUD_TOLERANCE = 0.03;

export interface UsartLine {
  baud: number;
  /** 11 = 8E1, 10 = 8N1 */
  bitsPerByte: number;
  /**
   * a byte stream without framing (pty, stdio): no parity bit on it, so only the 8 data bits of
   * the USART's word format must fit (8E1 and 8N1 are both heard); the baud rate is still checked
   */
  byteStream?: boolean;
}

export interface UsartWiring {
  /** bus clock of the USART (fCK) */
  clockHz(): number;
  clockOn(): boolean;
  /** TX pin in AF mode with the USART's AF, its port clocked */
  txPinReady(): boolean;
  rxPinReady(): boolean;
  /** a byte onto the line (the terminal charges its line time and applies line faults) */
  emit(byte: number): void;
  /** a random byte (what a garbled byte sounds like) */
  random(): number;
  /** the agent waits for a byte from the host: stop the CPU and `deliver` one */
  wantInput(): void;
  /** address of the instruction making the current access */
  pc(): number;
}

export class Usart implements Peripheral {
  readonly size = 0x400;
  private cr1 = 0;
  private cr2 = 0;
  private cr3 = 0;
  private brr = 0;
  private gtpr = 0;
  private rtor = 0;
  /** the received byte waiting in RDR/DR, with its error flags */
  private rx: { value: number; flags: number } | null = null;
  /** the instruction that last read the status register with RXNE clear, or -1 */
  private lastEmptyPoll = -1;
  private tcCleared = false;
  /** bytes put on the line, garbled or not (for tests) */
  sent = 0;

  constructor(
    readonly name: string,
    readonly base: number,
    readonly layout: UsartLayout,
    private readonly line: UsartLine,
    private readonly wiring: UsartWiring,
  ) {}

  clocked(): boolean {
    return this.wiring.clockOn();
  }

  private bit(f2: number, l4: number): boolean {
    return (this.cr1 & (this.layout === 'f2' ? f2 : l4)) !== 0;
  }

  get enabled(): boolean {
    return this.bit(F2_CR1_UE, L4_CR1_UE);
  }

  private transmitter(): boolean {
    return this.enabled && this.bit(F2_CR1_TE, L4_CR1_TE);
  }

  private receiver(): boolean {
    return this.enabled && this.bit(F2_CR1_RE, L4_CR1_RE);
  }

  /** the baud rate the agent's BRR gives at the current bus clock */
  agentBaud(): number {
    const over8 = this.bit(F2_CR1_OVER8, L4_CR1_OVER8);
    const fck = this.wiring.clockHz();
    if (!over8) return this.brr >= 16 ? fck / (this.brr & 0xffff) : 0;
    const div = ((this.brr >>> 4) << 4) | ((this.brr & 0x7) << 1);
    return div >= 16 ? (2 * fck) / div : 0;
  }

  /** the agent's word format and baud rate match the line's */
  matchesLine(): boolean {
    const parity = this.bit(F2_CR1_PCE, L4_CR1_PCE);
    const odd = this.bit(F2_CR1_PS, L4_CR1_PS);
    const nine = this.layout === 'f2' ? (this.cr1 & F2_CR1_M) !== 0 : (this.cr1 & L4_CR1_M0) !== 0 && (this.cr1 & L4_CR1_M1) === 0;
    const eight = this.layout === 'f2' ? (this.cr1 & F2_CR1_M) === 0 : (this.cr1 & (L4_CR1_M0 | L4_CR1_M1)) === 0;
    const oneStop = ((this.cr2 >>> CR2_STOP_SHIFT) & 3) === 0;
    const eightE1 = nine && parity && !odd;
    const eightN1 = eight && !parity;
    const format = this.line.byteStream ? eightE1 || eightN1 : this.line.bitsPerByte === 11 ? eightE1 : eightN1;
    const baud = this.agentBaud();
    return format && oneStop && baud > 0 && Math.abs(baud - this.line.baud) / this.line.baud <= BAUD_TOLERANCE;
  }

  /** A byte from the host arrives (the machine calls this after `wantInput`). */
  deliver(byte: number): void {
    this.lastEmptyPoll = -1;
    if (!this.receiver() || !this.wiring.rxPinReady()) return; // nobody listens: the byte is lost
    this.rx = this.matchesLine() ? { value: byte & 0xff, flags: 0 } : { value: this.wiring.random(), flags: SR_FE };
  }

  private status(): number {
    let v = SR_TXE | (this.tcCleared ? 0 : SR_TC);
    if (this.rx) v |= SR_RXNE | this.rx.flags;
    if (this.layout === 'l4') {
      if (this.transmitter()) v |= ISR_TEACK;
      if (this.receiver()) v |= ISR_REACK;
    }
    return v >>> 0;
  }

  private pollStatus(): number {
    const v = this.status();
    if (!this.rx && this.receiver()) {
      const pc = this.wiring.pc();
      if (pc === this.lastEmptyPoll) {
        this.lastEmptyPoll = -1;
        this.wiring.wantInput();
      } else {
        this.lastEmptyPoll = pc;
      }
    } else {
      this.lastEmptyPoll = -1;
    }
    return v;
  }

  private takeRx(): number {
    const v = this.rx ? this.rx.value : 0;
    this.rx = null;
    return v;
  }

  private transmit(value: number): void {
    this.tcCleared = false;
    if (!this.transmitter() || !this.wiring.txPinReady()) return; // the pin is not driven: silence
    this.sent++;
    this.wiring.emit(this.matchesLine() ? value & 0xff : this.wiring.random());
  }

  read(offset: number, size: number): number {
    const at = offset & ~3;
    if (at !== (this.layout === 'f2' ? USART_F2.SR : USART_L4.ISR)) this.lastEmptyPoll = -1;
    let v = 0;
    if (this.layout === 'f2') {
      if (at === USART_F2.SR) v = this.pollStatus();
      else if (at === USART_F2.DR) v = this.takeRx();
      else v = this.config(at);
    } else {
      if (at === USART_L4.ISR) v = this.pollStatus();
      else if (at === USART_L4.RDR) v = this.takeRx();
      else if (at === USART_L4.TDR || at === USART_L4.ICR || at === USART_L4.RQR) v = 0;
      else v = this.config(at);
    }
    return lanesOf(v, offset, size);
  }

  private config(at: number): number {
    const r = this.layout === 'f2' ? USART_F2 : USART_L4;
    if (at === r.CR1) return this.cr1;
    if (at === r.CR2) return this.cr2;
    if (at === r.CR3) return this.cr3;
    if (at === r.BRR) return this.brr;
    if (at === r.GTPR) return this.gtpr;
    if (this.layout === 'l4' && at === USART_L4.RTOR) return this.rtor;
    return 0;
  }

  write(offset: number, size: number, value: number): void {
    const at = offset & ~3;
    this.lastEmptyPoll = -1;
    const v = mergeLanes(this.layout === 'f2' || at !== USART_L4.TDR ? this.config(at) : 0, offset, size, value);
    if (this.layout === 'f2') {
      if (at === USART_F2.DR) return this.transmit(value);
      if (at === USART_F2.SR) {
        // RM0090 §30.6.1: RXNE and TC are cleared by writing 0; the other flags are read-only
        if ((value & SR_RXNE) === 0) this.rx = null;
        if ((value & SR_TC) === 0) this.tcCleared = true;
        return;
      }
    } else {
      if (at === USART_L4.TDR) return this.transmit(value);
      if (at === USART_L4.ICR) {
        // PECF, FECF, NCF, ORECF: clear the held byte's error flags; TCCF clears TC
        if (this.rx) this.rx.flags &= ~(value & (SR_PE | SR_FE | 0x4 | SR_ORE));
        if (value & SR_TC) this.tcCleared = true;
        return;
      }
      if (at === USART_L4.RQR) {
        if (value & (1 << 3)) this.rx = null; // RXFRQ: drop the received byte
        return;
      }
      if (at === USART_L4.RTOR) {
        this.rtor = v;
        return;
      }
    }
    const r = this.layout === 'f2' ? USART_F2 : USART_L4;
    if (at === r.CR1) this.cr1 = v;
    else if (at === r.CR2) this.cr2 = v;
    else if (at === r.CR3) this.cr3 = v;
    else if (at === r.BRR) this.brr = v & 0xffff;
    else if (at === r.GTPR) this.gtpr = v & 0xffff;
  }
}
