/**
 * The peripheral side of the instruction-level terminal: every model is a `Peripheral` (a base
 * address, a size, and register reads and writes at offsets from the base). The `Bus` maps the
 * 4 KiB pages the models occupy into the CPU (Unicorn maps MMIO only in whole pages, and one
 * page can hold several peripherals: the F4's RCC and flash interface share 0x40023000) and sends
 * each access to the model that owns the address.
 *
 * An access inside a mapped page that no model owns is a bus error on silicon too (a reserved
 * address) or a peripheral that is not modelled: either way the machine stops with a fault
 * naming the address, never a silent zero.
 */
export interface Peripheral {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  /** `size` is the access width in bytes (1, 2 or 4); `offset` is relative to `base` */
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
  /**
   * false while the peripheral's clock is off in RCC: writes are ignored and reads return 0,
   * as on silicon. Absent = always clocked (the core's own system control space).
   */
  clocked?(): boolean;
}

export const PAGE = 0x1000;

export interface BusHooks {
  /** called before every access: brings virtual time up to the current instruction */
  sync(): void;
  /** an access no model owns */
  unowned(address: number, write: boolean): void;
}

export class Bus {
  private readonly pages = new Map<number, Peripheral[]>();

  constructor(
    readonly peripherals: Peripheral[],
    private readonly hooks: BusHooks,
  ) {
    for (const p of peripherals) {
      for (let page = p.base - (p.base % PAGE); page < p.base + p.size; page += PAGE) {
        const list = this.pages.get(page) ?? [];
        list.push(p);
        this.pages.set(page, list);
      }
    }
  }

  /** the page addresses to map, ascending */
  pageList(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  read(page: number, offset: number, size: number): number {
    this.hooks.sync();
    const address = page + offset;
    const p = this.owner(page, address);
    if (!p) {
      this.hooks.unowned(address, false);
      return 0;
    }
    if (p.clocked && !p.clocked()) return 0;
    return p.read(address - p.base, size) >>> 0;
  }

  write(page: number, offset: number, size: number, value: number): void {
    this.hooks.sync();
    const address = page + offset;
    const p = this.owner(page, address);
    if (!p) {
      this.hooks.unowned(address, true);
      return;
    }
    if (p.clocked && !p.clocked()) return;
    p.write(address - p.base, size, value >>> 0);
  }

  private owner(page: number, address: number): Peripheral | undefined {
    const list = this.pages.get(page);
    return list?.find((p) => address >= p.base && address < p.base + p.size);
  }
}

/**
 * A 32-bit register file read or written with byte, half-word or word accesses: returns the
 * value a `size`-byte read at `offset` sees within the aligned word `word`.
 */
export function lanesOf(word: number, offset: number, size: number): number {
  const shift = (offset & 3) * 8;
  const mask = size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
  return ((word >>> shift) & mask) >>> 0;
}

/** The aligned word after a `size`-byte write of `value` at `offset` into `old`. */
export function mergeLanes(old: number, offset: number, size: number, value: number): number {
  if (size >= 4) return value >>> 0;
  const shift = (offset & 3) * 8;
  const mask = (((1 << (size * 8)) - 1) << shift) >>> 0;
  return ((old & ~mask) | ((value << shift) & mask)) >>> 0;
}
