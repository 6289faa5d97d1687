import type { EngineProvenance } from '../agent/pinned';
import type { Board } from '../boards/types';
import type { MethodName } from '../plan/methods';
import type { BootloaderClient } from '../protocol/client';
import type { Identity } from './identify';
import type { ResetPlan } from './reset';
import type { VerifyMode } from './verify-mode';

// The request and progress types of a session, in a module of their own: erase.ts, the driver, the
// backends, context.ts and outcome.ts all import them from here, so none of them imports another's
// types back (no import cycle inside host/session, type-only imports included).

export type { VerifyMode } from './verify-mode';

export interface Progress {
  phase: string;
  done: number;
  total: number;
  note?: string;
}

/** A block's state as the session learns it: its sector erased, its pattern or blank content checked, or failed. */
export type BlockState = 'erased' | 'programmed' | 'verified' | 'failed';

export interface EraseRequest {
  board: Board;
  method: MethodName;
  verify: VerifyMode;
  includeProtected?: boolean;
  unlock?: boolean;
  /** the engine module the agent must carry (build/terminal.wasm, or a signed image's): HELLO's module SHA-256 is checked against it */
  module: Uint8Array;
  /** where `module` and `agent` came from (host/agent/pinned.ts); omitted = not checked, and the outcome calls it custom */
  engine?: EngineProvenance;
  /** the agent binary to upload (a signed image's); by default the committed one of the board's kind (agent/manifest.json) */
  agent?: Uint8Array;
  /** Ed25519 signature over the agent binary (signed images): written in the signature block at params + 64 */
  signature?: Uint8Array;
  /** the line's baud rate, written into the agent's parameter block (default 115200) */
  baud?: number;
  /** ask the agent for this core clock (Hz) before the first job; off by default */
  agentClockHz?: number;
  blockSize?: number;
  onProgress?: (p: Progress) => void;
  /** runs after identification and before anything is written (the backup goes here) */
  beforeErase?: (ctx: { client: BootloaderClient; identity: Identity }) => Promise<void>;
  /** a backup is wanted before the erase: a read-protected part (whose data cannot be read) is then refused */
  backupPlanned?: boolean;
  /** DTR/RTS sequences into the bootloader before the session and back to the application after it */
  reset?: ResetPlan;
  /** randomness source (tests may pin it); node:crypto by default */
  random?: (n: number) => Uint8Array;
  /** each block's state as the session learns it (live sector maps), on both backends */
  onBlock?: (address: number, state: BlockState) => void;
  /** once aborted, the session throws the signal's reason before its next phase (stop after the current phase), on both backends */
  signal?: AbortSignal;
}
