import type { Transport } from '../transport/types';

/** Real and terminal-side seconds spent per named phase of a session. */
export class PhaseClock {
  private current: string | null = null;
  private startReal = 0;
  private startTerminal = 0;
  private readonly realTimes: Record<string, number> = {};
  private readonly terminalTimes: Record<string, number> = {};
  private readonly t0 = performance.now();

  constructor(private readonly transport: Transport) {}

  start(phase: string): void {
    this.stop();
    this.current = phase;
    this.startReal = performance.now();
    this.startTerminal = this.transport.terminalTime();
  }

  stop(): void {
    if (this.current === null) return;
    const p = this.current;
    this.realTimes[p] = (this.realTimes[p] ?? 0) + (performance.now() - this.startReal) / 1000;
    this.terminalTimes[p] = (this.terminalTimes[p] ?? 0) + (this.transport.terminalTime() - this.startTerminal);
    this.current = null;
  }

  real(): Record<string, number> {
    return { ...round(this.realTimes), total: +((performance.now() - this.t0) / 1000).toFixed(4) };
  }

  terminal(): Record<string, number> {
    return { ...round(this.terminalTimes), total: +this.transport.terminalTime().toFixed(4) };
  }
}

function round(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, +v.toFixed(4)]));
}
