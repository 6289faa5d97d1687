/**
 * A board, resolved: every fact the host, the planner and the emulator need about one terminal's
 * microcontroller. Board files (boards/*.json) hold the same fields with hex-string addresses;
 * `loadBoard` parses, resolves `inherits` and validates them into this shape.
 */

/** `count` consecutive erase units of `size` bytes each. */
export interface SectorRun {
  count: number;
  size: number;
}

/** One erase unit (sector or page), computed from the runs. */
export interface Sector {
  index: number; // the bootloader's sector/page number
  address: number;
  size: number;
  bank: number; // 1-based
}

export interface Range {
  address: number;
  size: number;
}

export type RegionKind = 'keys' | 'protected' | 'data';

export interface Region extends Range {
  name: string;
  kind: RegionKind;
}

export interface EraseTiming {
  unitBytes: number; // erase unit size this figure applies to
  typicalMs: number;
  maxMs: number;
}

export interface Board {
  id: string;
  name: string;
  /** free text from the board file (what the board is, why a field has an unusual value) */
  description?: string;
  /** ids of the files this one was resolved from, most general first (empty when none) */
  inherits: string[];
  /** file the board was loaded from */
  source: string;
  productIds: number[];
  flash: {
    base: number;
    size: number;
    sectors: SectorRun[];
    banks: Range[];
    erasedValue: number;
    /** bytes per program operation (4 on F2/F4 at x32, 2 on F1, 8 on L4) */
    programUnit: number;
    /** address of the 16-bit flash size register (KiB), or null */
    sizeRegister: number | null;
  };
  ram: {
    base: number;
    size: number;
    /** first address the bootloader leaves free */
    freeFrom: number;
  };
  systemMemory: Range;
  optionBytes: Range[];
  otp: Range | null;
  uniqueId: { address: number; bytes: number };
  bootloader: {
    version: number; // e.g. 0x31
    eraseCommand: 0x43 | 0x44;
    getChecksum: boolean;
    /** option bytes reported by Get Version (two bytes) */
    optionBytes: [number, number];
    /** RDP byte values: level 0, level 2 (permanent); anything else is level 1 */
    rdp: { level0: number; level2: number | null };
  };
  timing: {
    erase: EraseTiming[];
    massErase: { typicalMs: number; maxMs: number };
    program: { unitBytes: number; typicalUs: number; maxUs: number };
  };
  /** where the Wasm agent lives in RAM, or null when the part has no room for it */
  agent: null | {
    module: number;
    moduleMax: number;
    job: number;
    jobMax: number;
    result: number;
    resultMax: number;
    /** RAM the agent's runtime needs besides the three areas (Wasm memory, stack) */
    ramBytes: number;
  };
  regions: Region[];
  /** DTR/RTS sequences (docs/reset-sequences.md); null = no wiring described */
  reset: { enter: string; exit: string } | null;
}
