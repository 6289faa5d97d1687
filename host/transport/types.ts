/**
 * A byte link to a terminal's bootloader. The serial port and the emulated terminal implement it
 * as equals; protocol code sees only this interface.
 */
export interface Signals {
  /** DTR asserted (true) or released (false) */
  dtr?: boolean;
  /** RTS asserted (true) or released (false) */
  rts?: boolean;
}

export interface LinkStats {
  bytesTx: number;
  bytesRx: number;
}

export interface Transport {
  /** what the user named: a device path, or `emu:<board>` */
  readonly description: string;
  write(data: Uint8Array): Promise<void>;
  /**
   * Resolves with exactly `n` bytes, or rejects with a TimeoutError when fewer arrived within
   * `timeoutMs` of the call (the bytes that did arrive are kept for the next read).
   */
  read(n: number, timeoutMs: number): Promise<Uint8Array>;
  /** Drops any bytes received but not yet read (stale answers). */
  discardInput(): Promise<void>;
  setSignals(signals: Signals): Promise<void>;
  /** Waits `ms` milliseconds of link time (virtual on the emulator). */
  sleep(ms: number): Promise<void>;
  close(): Promise<void>;
  stats(): LinkStats;
  /**
   * Seconds of terminal-side time elapsed since the transport opened: the emulator's clock, or
   * wall-clock time on a real port.
   */
  terminalTime(): number;
}
