import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBoard } from '../host/boards/load';
import { VirtualClock } from '../host/emulator/clock';
import { FlashModel } from '../host/emulator/flash';
import type { FaultSet } from '../host/emulator/faults';
import { noFaults, parseFaults } from '../host/emulator/faults';
import { Rng } from '../host/emulator/rng';
import { FLASH_KEY1, FLASH_KEY2 } from '../host/emulator/periph/flash-keys';
import * as F2 from '../host/emulator/periph/flash-f2';
import * as L4 from '../host/emulator/periph/flash-l4';
import { Iwdg, IWDG, KEY_ENABLE, KEY_RELOAD, KEY_START } from '../host/emulator/periph/iwdg';
import { SystemControlSpace, Dwt, SYST, SCB, DWT, CSR_ENABLE, CSR_CLKSOURCE, CSR_COUNTFLAG, CPUID, DEMCR_TRCENA } from '../host/emulator/periph/scb';
import { RccF2, RccL4, RCC_F2, RCC_L4 } from '../host/emulator/periph/rcc';
import { Usart, USART_F2, USART_L4, SR_RXNE, SR_FE, ISR_TEACK } from '../host/emulator/periph/usart';
import type { UsartWiring } from '../host/emulator/periph/usart';
import { GpioPort, GPIO, gpioReset } from '../host/emulator/periph/gpio';
import { Bus } from '../host/emulator/periph/bus';

/** Peripheral models on their own (no CPU): the register behaviour the reference manuals give. */

function flashOf(boardId: string, faults: FaultSet = noFaults()): { flash: FlashModel; clock: VirtualClock } {
  const board = loadBoard(boardId);
  const clock = new VirtualClock();
  const flash = new FlashModel(board, new Uint8Array(board.flash.size).fill(0xff), { clock, faults, rng: new Rng(1) });
  return { flash, clock };
}

function f2Interface(boardId = 'stm32f407', faults?: FaultSet) {
  const { flash, clock } = flashOf(boardId, faults);
  const events: string[] = [];
  const fi = new F2.FlashF2(0x40023c00, flash, {
    dualBank: flash.sectors.some((s) => s.bank === 2),
    rdpByte: 0xaa,
    busy: (on) => events.push(on ? 'busy' : 'idle'),
    onBusError: (why) => events.push(`bus error: ${why}`),
  });
  return { fi, flash, clock, events };
}

function unlock(fi: { write(o: number, s: number, v: number): void }, keyr: number): void {
  fi.write(keyr, 4, FLASH_KEY1);
  fi.write(keyr, 4, FLASH_KEY2);
}

test('flash F2/F4: CR starts locked; KEY1 then KEY2 unlocks; LOCK locks again', () => {
  const { fi } = f2Interface();
  assert.equal(fi.read(F2.FLASH_F2.CR, 4) >>> 0, F2.CR_LOCK >>> 0);
  fi.write(F2.FLASH_F2.CR, 4, F2.CR_PG); // ignored while locked
  assert.equal(fi.read(F2.FLASH_F2.CR, 4) & F2.CR_PG, 0);
  unlock(fi, F2.FLASH_F2.KEYR);
  assert.equal(fi.read(F2.FLASH_F2.CR, 4), 0);
  fi.write(F2.FLASH_F2.CR, 4, F2.CR_LOCK);
  assert.equal(fi.read(F2.FLASH_F2.CR, 4) >>> 0, F2.CR_LOCK >>> 0);
});

test('flash F2/F4: a wrong key is a bus error and locks CR until reset, even for the right keys after it', () => {
  const { fi, events } = f2Interface();
  fi.write(F2.FLASH_F2.KEYR, 4, FLASH_KEY1);
  fi.write(F2.FLASH_F2.KEYR, 4, 0x12345678);
  assert.match(events.at(-1)!, /bus error: wrong FLASH_KEYR sequence/);
  unlock(fi, F2.FLASH_F2.KEYR);
  assert.ok(fi.keys.lockedUntilReset);
  assert.equal(fi.read(F2.FLASH_F2.CR, 4) >>> 0, F2.CR_LOCK >>> 0);
});

test('flash F2/F4: program errors: PG clear → PGSERR, wrong PSIZE → PGPERR, misaligned → PGAERR; NOR AND', () => {
  const { fi, flash } = f2Interface();
  const sr = (): number => fi.read(F2.FLASH_F2.SR, 4);
  const clear = (): void => fi.write(F2.FLASH_F2.SR, 4, 0xffff);
  fi.arrayWrite(0x08000000, 4, 0);
  assert.equal(sr(), F2.SR_PGSERR, 'locked: sequence error');
  clear();
  unlock(fi, F2.FLASH_F2.KEYR);
  fi.arrayWrite(0x08000000, 4, 0);
  assert.equal(sr(), F2.SR_PGSERR, 'PG clear');
  clear();
  fi.write(F2.FLASH_F2.CR, 4, F2.CR_PG | (2 << F2.CR_PSIZE_SHIFT)); // x32
  fi.arrayWrite(0x08000000, 2, 0);
  assert.equal(sr(), F2.SR_PGPERR, 'half-word with PSIZE x32');
  clear();
  fi.write(F2.FLASH_F2.CR, 4, F2.CR_PG | (1 << F2.CR_PSIZE_SHIFT)); // x16
  fi.arrayWrite(0x08000001, 2, 0);
  assert.equal(sr(), F2.SR_PGAERR, 'misaligned half-word');
  clear();
  fi.write(F2.FLASH_F2.CR, 4, F2.CR_PG | (2 << F2.CR_PSIZE_SHIFT));
  fi.arrayWrite(0x08000000, 4, 0xf0f0ff0f);
  assert.equal(sr() & F2.SR_BSY, F2.SR_BSY, 'BSY once');
  assert.equal(sr(), 0, 'then done, no error (EOP needs EOPIE)');
  fi.arrayWrite(0x08000000, 4, 0x0ff00fff); // not erased: bits only go 1 → 0
  sr();
  assert.deepEqual([...flash.read(0x08000000, 4)], [0x0f, 0x0f, 0xf0, 0x00]);
  assert.equal(sr(), 0, 'programming over programmed bits is not an error on F2/F4');
  fi.write(F2.FLASH_F2.CR, 4, F2.CR_PG | F2.CR_EOPIE); // x8
  fi.arrayWrite(0x08000007, 1, 0x12);
  sr();
  assert.equal(sr(), F2.SR_EOP);
  assert.equal(flash.read(0x08000007, 1)[0], 0x12);
});

test('flash F2/F4: sector erase by SNB; time charged once; BSY once; erase-fail → OPERR', () => {
  const { fi, flash, clock, events } = f2Interface('stm32f407', parseFaults(['erase-fail@0x08020000']));
  flash.bytes.fill(0, 0x4000, 0x8000);
  unlock(fi, F2.FLASH_F2.KEYR);
  fi.write(F2.FLASH_F2.CR, 4, F2.CR_SER | (1 << F2.CR_SNB_SHIFT) | (2 << F2.CR_PSIZE_SHIFT));
  fi.write(F2.FLASH_F2.CR, 4, fi.read(F2.FLASH_F2.CR, 4) | F2.CR_STRT);
  assert.ok(Math.abs(clock.now() - 0.25) < 1e-9, `typical 16 KiB erase time, got ${clock.now()}`);
  assert.equal(fi.read(F2.FLASH_F2.SR, 4), F2.SR_BSY);
  assert.equal(fi.read(F2.FLASH_F2.SR, 4), 0);
  assert.ok(Math.abs(clock.now() - 0.25) < 1e-9, 'polling adds no time');
  assert.deepEqual(events, ['busy', 'idle']);
  assert.ok(flash.bytes.subarray(0x4000, 0x8000).every((b) => b === 0xff));
  fi.write(F2.FLASH_F2.CR, 4, F2.CR_SER | (5 << F2.CR_SNB_SHIFT) | F2.CR_STRT); // sector 5 = 0x08020000
  fi.read(F2.FLASH_F2.SR, 4);
  assert.equal(fi.read(F2.FLASH_F2.SR, 4), F2.SR_OPERR);
  fi.write(F2.FLASH_F2.SR, 4, F2.SR_OPERR);
  fi.write(F2.FLASH_F2.CR, 4, F2.CR_SER | (12 << F2.CR_SNB_SHIFT) | F2.CR_STRT); // no sector 12 on a single-bank F407
  assert.equal(fi.read(F2.FLASH_F2.SR, 4), F2.SR_PGSERR);
});

test('flash F4 dual bank: SNB 0x10 is sector 12 (bank 2)', () => {
  const { fi, flash } = f2Interface('stm32f429');
  const s12 = flash.sectorByIndex(12)!;
  assert.equal(s12.bank, 2);
  flash.bytes.fill(0, s12.address - flash.base, s12.address - flash.base + 16);
  unlock(fi, F2.FLASH_F2.KEYR);
  fi.write(F2.FLASH_F2.CR, 4, F2.CR_SER | (0x10 << F2.CR_SNB_SHIFT) | F2.CR_STRT);
  assert.equal(flash.read(s12.address, 1)[0], 0xff);
});

function l4Interface(faults?: FaultSet) {
  const { flash, clock } = flashOf('stm32l476', faults);
  const fi = new L4.FlashL4(0x40022000, flash, { rdpByte: 0xaa, busy: () => undefined, onBusError: () => undefined });
  unlock(fi, L4.FLASH_L4.KEYR);
  return { fi, flash, clock };
}

test('flash L4: 64-bit programming: two word writes, the second completes it; PROGERR on a non-erased double word', () => {
  const { fi, flash, clock } = l4Interface();
  const sr = (): number => fi.read(L4.FLASH_L4.SR, 4);
  assert.equal(fi.read(L4.FLASH_L4.OPTR, 4) & L4.OPTR_DUALBANK, L4.OPTR_DUALBANK);
  fi.write(L4.FLASH_L4.CR, 4, L4.CR_PG);
  fi.arrayWrite(0x08000000, 4, 0x11111111);
  assert.deepEqual([...flash.read(0x08000000, 4)], [0xff, 0xff, 0xff, 0xff], 'the first word only fills the latch');
  assert.equal(clock.now(), 0);
  fi.arrayWrite(0x08000004, 4, 0x22222222);
  assert.deepEqual([...flash.read(0x08000000, 8)], [0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22]);
  assert.ok(Math.abs(clock.now() - 82e-6) < 1e-12);
  assert.equal(sr(), L4.SR_BSY);
  assert.equal(sr(), 0);
  fi.arrayWrite(0x08000000, 4, 0x01010101);
  fi.arrayWrite(0x08000004, 4, 0x02020202);
  assert.equal(sr(), L4.SR_PROGERR);
  assert.equal(flash.read(0x08000000, 1)[0], 0x11, 'left as it was');
  fi.arrayWrite(0x08000008, 4, 0);
  assert.equal(sr() & L4.SR_PGSERR, L4.SR_PGSERR, 'a previous PROGERR still set: sequence error');
  fi.write(L4.FLASH_L4.SR, 4, 0xffff);
  fi.arrayWrite(0x08000000, 4, 0);
  fi.arrayWrite(0x08000004, 4, 0);
  fi.read(L4.FLASH_L4.SR, 4);
  assert.equal(sr(), 0, 'all-zero data may overwrite');
  fi.arrayWrite(0x08000010, 2, 0);
  assert.equal(sr(), L4.SR_SIZERR);
  fi.write(L4.FLASH_L4.SR, 4, 0xffff);
  fi.arrayWrite(0x08000014, 4, 0);
  assert.equal(sr(), L4.SR_PGAERR, 'a first word not 8-aligned');
  fi.write(L4.FLASH_L4.SR, 4, 0xffff);
  fi.arrayWrite(0x08000018, 4, 0);
  fi.arrayWrite(0x08000020, 4, 0);
  assert.equal(sr(), L4.SR_PGAERR, 'a second word outside the double word');
});

test('flash L4: page erase by PNB and BKER', () => {
  const { fi, flash } = l4Interface();
  flash.bytes.fill(0, 0x80000 + 3 * 0x800, 0x80000 + 4 * 0x800);
  fi.write(L4.FLASH_L4.CR, 4, L4.CR_PER | (3 << L4.CR_PNB_SHIFT) | L4.CR_BKER | L4.CR_STRT);
  assert.ok(flash.bytes.subarray(0x80000 + 3 * 0x800, 0x80000 + 4 * 0x800).every((b) => b === 0xff));
  fi.read(L4.FLASH_L4.SR, 4);
  assert.equal(fi.read(L4.FLASH_L4.SR, 4), 0);
});

test('IWDG: not running unless started; 0xCCCC starts, 0xAAAA reloads, PR/RLR only after 0x5555; expiry in virtual time', () => {
  const clock = new VirtualClock();
  const w = new Iwdg(0x40003000, () => clock.now(), false);
  clock.advance(10);
  assert.equal(w.expired(), false);
  w.write(IWDG.PR, 4, 6);
  assert.equal(w.read(IWDG.PR, 4), 0, 'PR locked');
  w.write(IWDG.KR, 4, KEY_ENABLE);
  w.write(IWDG.PR, 4, 0); // /4
  w.write(IWDG.RLR, 4, 799); // 800 * 4 / 32 kHz = 0.1 s
  w.write(IWDG.KR, 4, KEY_START);
  assert.ok(Math.abs(w.timeout() - 0.1) < 1e-12);
  clock.advance(0.09);
  assert.equal(w.expired(), false);
  w.write(IWDG.KR, 4, KEY_RELOAD);
  clock.advance(0.09);
  assert.equal(w.expired(), false);
  clock.advance(0.02);
  assert.equal(w.expired(), true);
});

test('IWDG: a reload inside a flash BSY wait counts; no reload there and it expires', () => {
  const clock = new VirtualClock();
  const w = new Iwdg(0x40003000, () => clock.now(), true); // running from Go: 0.512 s
  w.busyWait(true);
  clock.advance(1.0);
  assert.equal(w.expired(), false, 'inside the wait');
  w.write(IWDG.KR, 4, KEY_RELOAD);
  w.busyWait(false);
  assert.equal(w.expired(), false);
  w.busyWait(true);
  clock.advance(1.0);
  w.busyWait(false);
  assert.equal(w.expired(), true);
});

test('SysTick: counts down at the core clock from RVR, COUNTFLAG once per wrap; CPUID; DWT CYCCNT', () => {
  let cycles = 0;
  const time = { cycles: () => cycles };
  let resets = 0;
  const scs = new SystemControlSpace(CPUID.m4, time, () => resets++);
  assert.equal(scs.read(SCB.CPUID, 4) >>> 0, 0x410fc241);
  scs.write(SYST.RVR, 4, 999);
  scs.write(SYST.CVR, 4, 0);
  scs.write(SYST.CSR, 4, CSR_ENABLE | CSR_CLKSOURCE);
  cycles = 1;
  assert.equal(scs.read(SYST.CVR, 4), 999, 'the first tick reloads');
  cycles = 500;
  assert.equal(scs.read(SYST.CVR, 4), 500);
  cycles = 1000;
  assert.equal(scs.read(SYST.CVR, 4), 0);
  assert.equal(scs.read(SYST.CSR, 4) & CSR_COUNTFLAG, CSR_COUNTFLAG);
  assert.equal(scs.read(SYST.CSR, 4) & CSR_COUNTFLAG, 0, 'cleared by the read');
  cycles = 1001;
  assert.equal(scs.read(SYST.CVR, 4), 999);
  scs.write(SYST.CSR, 4, CSR_ENABLE); // external reference: HCLK / 8
  scs.write(SCB.AIRCR, 4, 0x00000004);
  assert.equal(resets, 0, 'no VECTKEY, no reset');
  scs.write(SCB.AIRCR, 4, 0x05fa0004);
  assert.equal(resets, 1);
  const dwt = new Dwt(time, () => (scs.demcr & DEMCR_TRCENA) !== 0);
  scs.write(SCB.DEMCR, 4, DEMCR_TRCENA);
  dwt.write(DWT.CYCCNT, 4, 0);
  dwt.write(DWT.CTRL, 4, 1);
  cycles += 12345;
  assert.equal(dwt.read(DWT.CYCCNT, 4), 12345);
});

test('RCC F4: HSI 16 MHz at reset; PLL locks after a short virtual time; SW → SWS; bus prescalers', () => {
  const clock = new VirtualClock();
  const rcc = new RccF2(0x40023800, () => clock.now());
  assert.equal(rcc.coreHz(), 16e6);
  // PLLM 16, PLLN 336, PLLP /2: 168 MHz
  rcc.write(RCC_F2.PLLCFGR, 4, 16 | (336 << 6) | (0 << 16));
  rcc.write(RCC_F2.CR, 4, rcc.read(RCC_F2.CR, 4) | (1 << 24));
  assert.equal(rcc.read(RCC_F2.CR, 4) & (1 << 25), 0, 'not locked yet');
  clock.advance(200e-6);
  assert.equal(rcc.read(RCC_F2.CR, 4) & (1 << 25), 1 << 25);
  rcc.write(RCC_F2.CFGR, 4, 2 | (5 << 10) | (4 << 13)); // PLL, APB1 /4, APB2 /2
  assert.equal((rcc.read(RCC_F2.CFGR, 4) >> 2) & 3, 2);
  assert.equal(rcc.coreHz(), 168e6);
  assert.equal(rcc.busHz('apb1'), 42e6);
  assert.equal(rcc.busHz('apb2'), 84e6);
  assert.equal(rcc.enabled(0x40023844, 1 << 4), false);
  rcc.write(RCC_F2.APB2ENR, 4, 1 << 4);
  assert.equal(rcc.enabled(0x40023844, 1 << 4), true);
});

test('RCC L4: MSI 4 MHz at reset; HSI16 by SW = 01; PLL from HSI16 R output', () => {
  const clock = new VirtualClock();
  const rcc = new RccL4(0x40021000, () => clock.now());
  assert.equal(rcc.coreHz(), 4e6);
  rcc.write(RCC_L4.CR, 4, rcc.read(RCC_L4.CR, 4) | (1 << 8));
  rcc.write(RCC_L4.CFGR, 4, 1);
  assert.equal(rcc.coreHz(), 16e6);
  // PLLSRC HSI16, M /1, N 10, R /2, REN: 80 MHz
  rcc.write(RCC_L4.PLLCFGR, 4, 2 | (0 << 4) | (10 << 8) | (1 << 24));
  rcc.write(RCC_L4.CR, 4, rcc.read(RCC_L4.CR, 4) | (1 << 24));
  clock.advance(1e-3);
  rcc.write(RCC_L4.CFGR, 4, 3);
  assert.equal(rcc.coreHz(), 80e6);
});

function usart(layout: 'f2' | 'l4', bitsPerByte = 11, byteStream = false) {
  const emitted: number[] = [];
  let wants = 0;
  const wiring: UsartWiring = {
    clockHz: () => 16e6,
    clockOn: () => true,
    txPinReady: () => true,
    rxPinReady: () => true,
    emit: (b) => emitted.push(b),
    random: () => 0x5a,
    wantInput: () => wants++,
    pc: () => 0x20003100,
  };
  return { u: new Usart('USART1', 0x40011000, layout, { baud: 115200, bitsPerByte, byteStream }, wiring), emitted, wants: () => wants };
}

test('USART F2/F4: 8E1 at BRR 139 is heard; a wrong BRR garbles every byte; UE/TE needed', () => {
  const { u, emitted } = usart('f2');
  u.write(USART_F2.DR, 4, 0x41);
  assert.deepEqual(emitted, [], 'UE/TE clear: nothing on the line');
  u.write(USART_F2.BRR, 4, 139);
  u.write(USART_F2.CR1, 4, (1 << 13) | (1 << 12) | (1 << 10) | (1 << 3) | (1 << 2));
  u.write(USART_F2.DR, 4, 0x41);
  assert.deepEqual(emitted, [0x41]);
  u.write(USART_F2.BRR, 4, 130); // 123 kbaud: 6.8 % off
  u.write(USART_F2.DR, 4, 0x41);
  assert.deepEqual(emitted, [0x41, 0x5a]);
});

test('USART F2/F4: waiting for input after two empty polls by one instruction; a received byte sets RXNE; wrong format → FE', () => {
  const { u, wants } = usart('f2');
  u.write(USART_F2.BRR, 4, 139);
  u.write(USART_F2.CR1, 4, (1 << 13) | (1 << 12) | (1 << 10) | (1 << 3) | (1 << 2));
  assert.equal(u.read(USART_F2.SR, 4) & SR_RXNE, 0);
  assert.equal(wants(), 0);
  u.read(USART_F2.SR, 4);
  assert.equal(wants(), 1);
  u.deliver(0x7f);
  assert.equal(u.read(USART_F2.SR, 4) & (SR_RXNE | SR_FE), SR_RXNE);
  assert.equal(u.read(USART_F2.DR, 4), 0x7f);
  assert.equal(u.read(USART_F2.SR, 4) & SR_RXNE, 0);
  u.write(USART_F2.CR1, 4, (1 << 13) | (1 << 3) | (1 << 2)); // 8N1 on an 8E1 line
  u.deliver(0x7f);
  assert.equal(u.read(USART_F2.SR, 4) & SR_FE, SR_FE);
});

test('USART F2/F4: a 10-bit wire garbles an 8E1 agent; a 10-bit byte stream (pty) carries no parity and hears 8E1 and 8N1', () => {
  const e1 = (1 << 13) | (1 << 12) | (1 << 10) | (1 << 3) | (1 << 2);
  const n1 = (1 << 13) | (1 << 3) | (1 << 2);
  const wire = usart('f2', 10);
  wire.u.write(USART_F2.BRR, 4, 139);
  wire.u.write(USART_F2.CR1, 4, e1);
  wire.u.write(USART_F2.DR, 4, 0x41);
  assert.deepEqual(wire.emitted, [0x5a]);
  const stream = usart('f2', 10, true);
  stream.u.write(USART_F2.BRR, 4, 139);
  stream.u.write(USART_F2.CR1, 4, e1);
  stream.u.write(USART_F2.DR, 4, 0x41);
  stream.u.write(USART_F2.CR1, 4, n1);
  stream.u.write(USART_F2.DR, 4, 0x42);
  stream.u.write(USART_F2.CR1, 4, (1 << 13) | (1 << 10) | (1 << 3) | (1 << 2)); // 7 data bits + parity
  stream.u.write(USART_F2.DR, 4, 0x43);
  assert.deepEqual(stream.emitted, [0x41, 0x42, 0x5a]);
});

test('USART L4: ISR/RDR/TDR layout, TEACK, BRR 35 from MSI 4 MHz', () => {
  const { u, emitted } = usart('l4');
  const w = u as unknown as { wiring: UsartWiring };
  w.wiring.clockHz = () => 4e6;
  u.write(USART_L4.BRR, 4, 35);
  u.write(USART_L4.CR1, 4, 1 | (1 << 2) | (1 << 3) | (1 << 10) | (1 << 12));
  assert.equal(u.read(USART_L4.ISR, 4) & ISR_TEACK, ISR_TEACK);
  u.write(USART_L4.TDR, 4, 0x33);
  assert.deepEqual(emitted, [0x33]);
  u.deliver(0x44);
  assert.equal(u.read(USART_L4.RDR, 4), 0x44);
});

test('GPIO: reset values; BSRR; AF fields; a bus access with the clock off reads 0 and writes nothing', () => {
  let on = false;
  const a = new GpioPort('GPIOA', 0x40020000, gpioReset('f4', 0), () => on);
  const bus = new Bus([a], { sync: () => undefined, unowned: () => undefined });
  assert.equal(bus.read(0x40020000, GPIO.MODER, 4), 0);
  on = true;
  assert.equal(bus.read(0x40020000, GPIO.MODER, 4) >>> 0, 0xa8000000);
  bus.write(0x40020000, GPIO.AFRH, 4, 0x770);
  assert.equal(a.pinAf(9), 7);
  assert.equal(a.pinAf(10), 7);
  bus.write(0x40020000, GPIO.BSRR, 4, 1 << 3);
  assert.equal(bus.read(0x40020000, GPIO.ODR, 4), 1 << 3);
  bus.write(0x40020000, GPIO.BSRR, 4, 1 << 19);
  assert.equal(bus.read(0x40020000, GPIO.ODR, 4), 0);
  on = false;
  bus.write(0x40020000, GPIO.MODER, 4, 0);
  on = true;
  assert.equal(bus.read(0x40020000, GPIO.MODER, 4) >>> 0, 0xa8000000);
});
