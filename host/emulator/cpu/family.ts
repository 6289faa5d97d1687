import type { Board } from '../../boards/types';
import { UC_CPU_ARM_CORTEX_M3, UC_CPU_ARM_CORTEX_M4 } from './unicorn';
import { CPUID } from '../periph/scb';

/**
 * What the instruction-level terminal needs to know about a part beyond its board file: the
 * core, where its peripherals sit (RM0033 §1.3 / RM0090 §2.3 / RM0351 §2.2.2 memory maps), and
 * which USART and pins the bootloader's line is wired to (AN2606: USART1 on PA9 = TX, PA10 =
 * RX, AF7, on all three families).
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
  line: LineWiring;
}

const F2_RCC = 0x4002_3800;
const L4_RCC = 0x4002_1000;

function f2Like(kind: 'f2' | 'f4'): CpuFamily {
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
    line: {
      usart: 0x4001_1000, // USART1
      bus: 'apb2',
      usartEnable: { register: F2_RCC + 0x44, mask: 1 << 4 }, // APB2ENR.USART1EN
      gpio: 0x4002_0000, // GPIOA
      gpioEnable: { register: F2_RCC + 0x30, mask: 1 << 0 }, // AHB1ENR.GPIOAEN
      txPin: 9,
      rxPin: 10,
      af: 7,
    },
  };
}

export const FAMILIES: Record<CpuKind, CpuFamily> = {
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
    line: {
      usart: 0x4001_3800, // USART1
      bus: 'apb2',
      usartEnable: { register: L4_RCC + 0x60, mask: 1 << 14 }, // APB2ENR.USART1EN
      gpio: 0x4800_0000,
      gpioEnable: { register: L4_RCC + 0x4c, mask: 1 << 0 }, // AHB2ENR.GPIOAEN
      txPin: 9,
      rxPin: 10,
      af: 7,
    },
  },
};

/** product IDs (DBGMCU_IDCODE DEV_ID, AN2606) of the parts each kind runs on */
const PRODUCT_IDS: Record<CpuKind, number[]> = {
  f2: [0x411],
  f4: [0x413, 0x419, 0x421, 0x423, 0x431, 0x433, 0x434, 0x441, 0x458, 0x463],
  l4: [0x415, 0x435, 0x461, 0x462, 0x464, 0x470, 0x471],
};

/** flashInterface (the integrator's board schema) → kind */
const KIND_OF_INTERFACE: Record<string, CpuKind> = { stm32f2: 'f2', stm32f4: 'f4', stm32l4: 'l4' };

/**
 * The kind of a board: from the board file's `flashInterface` when it has one (the board schema
 * with the agent's fields), otherwise from its product ID. null: no instruction-level model (F1).
 */
export function cpuKindOf(board: Board): CpuKind | null {
  const named = (board as unknown as { flashInterface?: string }).flashInterface;
  if (named !== undefined) return KIND_OF_INTERFACE[named] ?? null;
  for (const kind of ['f2', 'f4', 'l4'] as const) {
    if (board.productIds.some((id) => PRODUCT_IDS[kind].includes(id))) return kind;
  }
  return null;
}

/** The board's `link` (docs/agent.md parameter block fields) in the shape the board schema gives it. */
interface BoardLink {
  usart: number;
  usartClock: { register: number; mask: number };
  gpio: number;
  gpioClock: { register: number; mask: number };
  tx: number;
  rx: number;
  af: number;
}

/** APB2 spans 0x40010000-0x4001FFFF on F2/F4/L4 (RM0090 §2.3, RM0351 §2.2.2); below it, APB1 */
const APB2_START = 0x4001_0000;
const APB2_END = 0x4002_0000;

/**
 * The family's description with the line wiring of the board file (`link`: which USART and pins
 * its bootloader talks on) when it has one; the AN2606 default (USART1, PA9/PA10, AF7) otherwise.
 */
export function familyOf(board: Board, kind: CpuKind): CpuFamily {
  const f = FAMILIES[kind];
  const link = (board as unknown as { link?: BoardLink | null }).link;
  if (!link) return f;
  return {
    ...f,
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
