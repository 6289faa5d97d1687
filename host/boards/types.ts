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
  /** the Cortex-M core: which build of the agent can run on it */
  core: CoreKind;
  /** the flash interface (reference manual) the agent's flash driver must be written for */
  flashInterface: FlashInterface;
  /**
   * The agent (docs/agent.md): which committed binary (agent/manifest.json kind) and where it is
   * written and started; null when the part has no room for it (bootloader-only path).
   */
  agent: null | {
    binary: string;
    /** the binary's link address: Write Memory and Go go there */
    load: number;
  };
  /** the bootloader's USART and pins, which the agent brings up again (AN2606); null without an agent */
  link: null | BoardLink;
  regions: Region[];
  /** DTR/RTS sequences (docs/reset-sequences.md); null = no wiring described */
  reset: { enter: string; exit: string } | null;
}

export const CORE_KINDS = ['cortex-m3', 'cortex-m4'] as const;
export type CoreKind = (typeof CORE_KINDS)[number];

export const FLASH_INTERFACES = ['stm32f1', 'stm32f2', 'stm32f4', 'stm32l4'] as const;
export type FlashInterface = (typeof FLASH_INTERFACES)[number];

/** An RCC enable: the register's address and the bit(s) to set in it. */
export interface ClockEnable {
  register: number;
  mask: number;
}

/** What the agent's parameter block says about the line (docs/agent.md, "Parameter block"). */
export interface BoardLink {
  usart: number;
  usartClock: ClockEnable;
  gpio: number;
  gpioClock: ClockEnable;
  /** pin numbers 0..15 of the TX and RX pins on `gpio` */
  tx: number;
  rx: number;
  /** alternate function number of both pins */
  af: number;
  /** core clock when Go hands over (HSI 16 MHz on F2/F4, MSI 4 MHz on L4) */
  resetClockHz: number;
}
