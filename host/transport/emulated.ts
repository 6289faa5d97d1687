import { TimeoutError } from '../errors';
import type { LinkStats, Signals, Transport } from './types';

/**
 * What the transport needs of an emulated terminal (host/emulator/terminal.ts's EmulatedTerminal
 * is one): its line, its modem signals and its virtual clock. Declared here so that the link layer
 * does not import the emulator (docs/architecture.md).
 */
export interface EmulatedLine {
  readonly board: { readonly id: string };
  readonly clock: { now(): number; advance(seconds: number): void };
  /** no bytes will come out until more go in */
  readonly idle: boolean;
  receive(bytes: Uint8Array): void;
  availableOutput(): number;
  takeOutput(n: number): Uint8Array;
  discardOutput(): void;
  setSignals(signals: Signals): void;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * The in-process emulated terminal as a transport. Time is the terminal's virtual clock: a read
 * that the part cannot answer (it is idle, waiting for input) times out at once in real time and
 * advances the virtual clock by the timeout. With `realtime`, reads wait until the wall clock has
 * caught up with the virtual one, so the link behaves like the real line.
 */
export class EmulatedTransport implements Transport {
  private counters: LinkStats = { bytesTx: 0, bytesRx: 0 };
  private readonly startReal = Date.now();
  private readonly startVirtual: number;

  constructor(
    readonly terminal: EmulatedLine,
    private readonly options: { realtime?: boolean } = {},
  ) {
    this.startVirtual = terminal.clock.now();
  }

  get description(): string {
    return `emu:${this.terminal.board.id}`;
  }

  async write(data: Uint8Array): Promise<void> {
    this.counters.bytesTx += data.length;
    this.terminal.receive(data);
    await this.catchUp();
  }

  async read(n: number, timeoutMs: number): Promise<Uint8Array> {
    for (;;) {
      if (this.terminal.availableOutput() >= n) {
        const out = this.terminal.takeOutput(n);
        this.counters.bytesRx += out.length;
        await this.catchUp();
        return out;
      }
      await tick();
      if (this.terminal.idle && this.terminal.availableOutput() < n) {
        const got = this.terminal.availableOutput();
        this.terminal.clock.advance(timeoutMs / 1000);
        await this.catchUp();
        throw new TimeoutError(`no answer from ${this.description}: expected ${n} byte(s), got ${got} within ${timeoutMs} ms`);
      }
    }
  }

  async discardInput(): Promise<void> {
    await tick();
    this.terminal.discardOutput();
  }

  async setSignals(signals: Signals): Promise<void> {
    this.terminal.setSignals(signals);
  }

  async sleep(ms: number): Promise<void> {
    this.terminal.clock.advance(ms / 1000);
    await this.catchUp();
  }

  async close(): Promise<void> {
    await tick();
  }

  stats(): LinkStats {
    return { ...this.counters };
  }

  terminalTime(): number {
    return this.terminal.clock.now() - this.startVirtual;
  }

  private async catchUp(): Promise<void> {
    if (!this.options.realtime) return;
    const ahead = this.terminalTime() * 1000 - (Date.now() - this.startReal);
    if (ahead > 1) await new Promise((r) => setTimeout(r, ahead));
  }
}
