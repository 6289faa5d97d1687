import type { Peripheral } from './bus';
import { lanesOf, mergeLanes } from './bus';

/**
 * One GPIO port (RM0033 §6.4, RM0090 §8.4, RM0351 §8.5): the configuration registers store what
 * is written; BSRR sets and resets ODR bits; IDR reads ODR for outputs and the pull level for
 * inputs (nothing is wired to the pins except the serial line, which idles high). The USART
 * model asks `pinMode`/`pinAf` whether its TX and RX pins are handed to it.
 */
export const GPIO = {
  MODER: 0x00,
  OTYPER: 0x04,
  OSPEEDR: 0x08,
  PUPDR: 0x0c,
  IDR: 0x10,
  ODR: 0x14,
  BSRR: 0x18,
  LCKR: 0x1c,
  AFRL: 0x20,
  AFRH: 0x24,
  /** L4 only */
  BRR: 0x28,
} as const;

/** MODER field values */
export const MODE = { INPUT: 0, OUTPUT: 1, AF: 2, ANALOG: 3 } as const;

export interface GpioReset {
  moder: number;
  ospeedr: number;
  pupdr: number;
}

/**
 * Reset values by port index (A = 0). F2/F4 (RM0090 §8.4.1): port A 0xA8000000 and port B
 * 0x00000280 (the debug pins in AF), others 0. L4 (RM0351 §8.5.1): analog everywhere except the
 * debug pins: A 0xABFFFFFF, B 0xFFFFFEBF, others 0xFFFFFFFF.
 */
export function gpioReset(family: 'f2' | 'f4' | 'l4', port: number): GpioReset {
  const ospeedr = port === 0 ? 0x0c00_0000 : port === 1 ? 0x0000_00c0 : 0;
  const pupdr = port === 0 ? 0x6400_0000 : port === 1 ? 0x0000_0100 : 0;
  if (family === 'l4') {
    const moder = port === 0 ? 0xabff_ffff : port === 1 ? 0xffff_febf : 0xffff_ffff;
    return { moder, ospeedr, pupdr };
  }
  const moder = port === 0 ? 0xa800_0000 : port === 1 ? 0x0000_0280 : 0;
  return { moder, ospeedr, pupdr };
}

export class GpioPort implements Peripheral {
  readonly size = 0x400;
  private moder: number;
  private otyper = 0;
  private ospeedr: number;
  private pupdr: number;
  private odr = 0;
  private lckr = 0;
  private afr = [0, 0];

  constructor(
    readonly name: string,
    readonly base: number,
    reset: GpioReset,
    private readonly clockOn: () => boolean,
  ) {
    this.moder = reset.moder >>> 0;
    this.ospeedr = reset.ospeedr >>> 0;
    this.pupdr = reset.pupdr >>> 0;
  }

  clocked(): boolean {
    return this.clockOn();
  }

  pinMode(pin: number): number {
    return (this.moder >>> (2 * pin)) & 3;
  }

  pinAf(pin: number): number {
    return (this.afr[pin >> 3] >>> (4 * (pin & 7))) & 0xf;
  }

  pinPull(pin: number): number {
    return (this.pupdr >>> (2 * pin)) & 3;
  }

  private idr(): number {
    let v = 0;
    for (let pin = 0; pin < 16; pin++) {
      const mode = this.pinMode(pin);
      const high = mode === MODE.OUTPUT ? (this.odr >>> pin) & 1 : mode === MODE.ANALOG ? 0 : this.pinPull(pin) === 2 ? 0 : 1;
      v |= high << pin;
    }
    return v >>> 0;
  }

  private word(offset: number): number {
    switch (offset) {
      case GPIO.MODER:
        return this.moder;
      case GPIO.OTYPER:
        return this.otyper;
      case GPIO.OSPEEDR:
        return this.ospeedr;
      case GPIO.PUPDR:
        return this.pupdr;
      case GPIO.IDR:
        return this.idr();
      case GPIO.ODR:
        return this.odr;
      case GPIO.LCKR:
        return this.lckr;
      case GPIO.AFRL:
        return this.afr[0];
      case GPIO.AFRH:
        return this.afr[1];
      default:
        return 0; // BSRR and BRR are write-only
    }
  }

  read(offset: number, size: number): number {
    return lanesOf(this.word(offset & ~3), offset, size);
  }

  write(offset: number, size: number, value: number): void {
    const at = offset & ~3;
    const v = mergeLanes(at === GPIO.BSRR || at === GPIO.BRR ? 0 : this.word(at), offset, size, value);
    switch (at) {
      case GPIO.MODER:
        this.moder = v;
        break;
      case GPIO.OTYPER:
        this.otyper = v & 0xffff;
        break;
      case GPIO.OSPEEDR:
        this.ospeedr = v;
        break;
      case GPIO.PUPDR:
        this.pupdr = v;
        break;
      case GPIO.ODR:
        this.odr = v & 0xffff;
        break;
      case GPIO.BSRR:
        this.odr = (this.odr | (v & 0xffff)) & ~(v >>> 16) & 0xffff;
        break;
      case GPIO.BRR:
        this.odr = this.odr & ~(v & 0xffff) & 0xffff;
        break;
      case GPIO.LCKR:
        this.lckr = v; // the lock sequence is not modelled: nothing is locked
        break;
      case GPIO.AFRL:
        this.afr[0] = v;
        break;
      case GPIO.AFRH:
        this.afr[1] = v;
        break;
      default:
        break; // IDR is read-only
    }
  }
}
