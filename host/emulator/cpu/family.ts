import type { Board } from '../../boards/types';
import { UC_CPU_ARM_CORTEX_M3, UC_CPU_ARM_CORTEX_M4 } from './unicorn';
import { CPUID } from '../periph/scb';

/**
 * What the instruction-level terminal needs to know about a part beyond its board file: the
 * core and where its peripherals sit (RM0033 §1.3 / RM0090 §2.3 / RM0351 §2.2.2 memory maps);
 * which USART and pins the bootloader's line is wired to is the board file's `link`.
 */
export type CpuKind = 'f2' | 'f4' | 'l4';

export interface LineWiring {
  usart: number;
  /** the bus the USART hangs on (its fCK) */
  bus: 'apb1' | 'apb2';
  /** RCC register (absolute address) and bit that clock the USART */
  usartEnable: { register: number; mask: number };
  gpio: number;
  gpioEnable: { register: number; mask: number };
  txPin: number;
  rxPin: number;
  af: number;
}

export interface CpuFamily {
  kind: CpuKind;
  /** Unicorn CPU model */
  model: number;
  cpuid: number;
  rcc: number;
  flashInterface: number;
  pwr: number;
  /** RCC register and bit that clock PWR */
  pwrEnable: { register: number; mask: number };
  iwdg: number;
  /** GPIO port A; port n is at gpio + n * 0x400 */
  gpio: number;
  gpioPorts: number;
  /** RCC register whose bit n clocks port n */
  gpioEnableRegister: number;
  usartLayout: 'f2' | 'l4';
  /** the bootloader's USART and pins: the board file's `link` */
  line: LineWiring;
}

/** What the kind alone decides (everything but the board's line wiring). */
export type PartFacts = Omit<CpuFamily, 'line'>;

const F2_RCC = 0x4002_3800;
const L4_RCC = 0x4002_1000;

function f2Like(kind: 'f2' | 'f4'): PartFacts {
  return {
    kind,
    model: kind === 'f2' ? UC_CPU_ARM_CORTEX_M3 : UC_CPU_ARM_CORTEX_M4,
    cpuid: kind === 'f2' ? CPUID.m3 : CPUID.m4,
    rcc: F2_RCC,
    flashInterface: 0x4002_3c00,
    pwr: 0x4000_7000,
    pwrEnable: { register: F2_RCC + 0x40, mask: 1 << 28 }, // APB1ENR.PWREN
    iwdg: 0x4000_3000,
    gpio: 0x4002_0000,
    gpioPorts: 9, // A..I
    gpioEnableRegister: F2_RCC + 0x30, // AHB1ENR
    usartLayout: 'f2',
  };
}

export const FAMILIES: Record<CpuKind, PartFacts> = {
  f2: f2Like('f2'),
  f4: f2Like('f4'),
  l4: {
    kind: 'l4',
    model: UC_CPU_ARM_CORTEX_M4,
    cpuid: CPUID.m4,
    rcc: L4_RCC,
    flashInterface: 0x4002_2000,
    pwr: 0x4000_7000,
    pwrEnable: { register: L4_RCC + 0x58, mask: 1 << 28 }, // APB1ENR1.PWREN
    iwdg: 0x4000_3000,
    gpio: 0x4800_0000,
    gpioPorts: 8, // A..H
    gpioEnableRegister: L4_RCC + 0x4c, // AHB2ENR
    usartLayout: 'l4',
  },
};

const KIND_OF_INTERFACE: Partial<Record<Board['flashInterface'], CpuKind>> = { stm32f2: 'f2', stm32f4: 'f4', stm32l4: 'l4' };

/** The kind of a board, from its `flashInterface`; null: no instruction-level model (F1). */
export function cpuKindOf(board: Board): CpuKind | null {
  return KIND_OF_INTERFACE[board.flashInterface] ?? null;
}

/** APB2 spans 0x40010000-0x4001FFFF on F2/F4/L4 (RM0090 §2.3, RM0351 §2.2.2); below it, APB1 */
const APB2_START = 0x4001_0000;
const APB2_END = 0x4002_0000;

/** The family's description with the line wiring of the board file (`link`: which USART and pins its bootloader talks on). */
export function familyOf(board: Board, kind: CpuKind): CpuFamily {
  const link = board.link;
  if (!link) throw new Error(`${board.id} has no link (the bootloader's USART and pins) in its board file`);
  return {
    ...FAMILIES[kind],
    line: {
      usart: link.usart,
      bus: link.usart >= APB2_START && link.usart < APB2_END ? 'apb2' : 'apb1',
      usartEnable: link.usartClock,
      gpio: link.gpio,
      gpioEnable: link.gpioClock,
      txPin: link.tx,
      rxPin: link.rx,
      af: link.af,
    },
  };
}
