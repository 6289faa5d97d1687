import type { Board } from '../boards/types';
import type { BootloaderClient } from '../protocol/client';
import type { Transport } from '../transport/types';
import type { EraseRequest, Progress } from './request';
import type { Identity } from './identify';
import type { PhaseClock } from './phase-clock';
import type { ResetPlan } from './reset';

/** What an erase path gets once the part is connected, identified (and unlocked, if it was). */
export interface SessionContext {
  client: BootloaderClient;
  transport: Transport;
  /** the board resized to the planned flash size (flash-size.ts: register, then Read Memory probes) */
  board: Board;
  req: EraseRequest;
  identity: Identity;
  /** Readout Unprotect ran: the part mass-erased itself */
  unlocked: boolean;
  clock: PhaseClock;
  progress: (p: Progress) => void;
  random: (n: number) => Uint8Array;
  /** the bench's DTR/RTS sequences for this run (entry played again when the part resets) */
  reset: ResetPlan;
}

/** The bootloader's line speed when the session is not told another (AN3155 autobauds; 115200 is the bench default). */
export const DEFAULT_BAUD = 115200;

/** The four words of a pattern seed from 16 random bytes. */
export function seedWords(bytes: Uint8Array): [number, number, number, number] {
  const b = Buffer.from(bytes);
  return [b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(8), b.readUInt32LE(12)];
}
