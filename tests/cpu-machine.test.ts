import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EmulatedTerminal } from '../host/emulator/terminal';
import { parseFaults } from '../host/emulator/faults';
import { CpuRunner } from '../host/emulator/cpu/machine';
import { cpuKindOf, familyOf } from '../host/emulator/cpu/family';
import { loadBoard } from '../host/boards/load';
import { BUS_FAULTS, ECHO_F4, ERASE_F4, FAULTS, IWDG_F4, LOAD, detachedTerminal } from './cpu-programs';

const skip = CpuRunner.available() ? false : `instruction-level emulation unavailable: ${CpuRunner.unavailableReason()}`;

function load(t: EmulatedTerminal, image: Uint8Array, at = LOAD): void {
  t.ram.set(image, t.ramOffset(at, image.length)!);
}

/** resolves when the part has emitted `n` bytes (or rejects after `ms` of wall time) */
async function output(t: EmulatedTerminal, n: number, ms = 2000): Promise<Uint8Array> {
  const until = Date.now() + ms;
  while (t.availableOutput() < n) {
    if (Date.now() > until) throw new Error(`expected ${n} bytes from the part, got ${t.availableOutput()}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  return t.takeOutput(n);
}

test('cpu: a program brings USART1 up, says H, echoes b+1 and resets with SYSRESETREQ', { skip }, async () => {
  const t = detachedTerminal('stm32f407');
  load(t, ECHO_F4);
  const running = new CpuRunner().go(t, LOAD);
  assert.deepEqual([...(await output(t, 1))], [0x48]);
  t.receive(Uint8Array.of(0x61, 0x41));
  assert.deepEqual([...(await output(t, 2))], [0x62, 0x42]);
  const before = t.clock.now();
  t.receive(Uint8Array.of(0x71)); // 'q'
  assert.deepEqual(await running, { kind: 'reset', why: 'SYSRESETREQ' });
  assert.ok(t.clock.now() > before, 'virtual time advances');
});

test('cpu: with the wrong line format (8N1 host) every byte is garbled, and a reset interrupts the wait', { skip }, async () => {
  const t = detachedTerminal('stm32f407', { bitsPerByte: 10, seed: 7 });
  load(t, ECHO_F4);
  const running = new CpuRunner().go(t, LOAD);
  await output(t, 1); // a random byte instead of H (it may be 0x48 by chance, so no claim on its value)
  t.restart('bootloader', 'test reset');
  assert.deepEqual(await running, { kind: 'interrupted' });
});

test('cpu: an agent that does not bring the USART up is not heard', { skip }, async () => {
  const t = detachedTerminal('stm32f407');
  const image = ECHO_F4.slice();
  // replace `str r1, [r0, #0x44]` (APB2ENR: USART1EN) by a nop: the USART stays unclocked
  const at = 0x18;
  assert.equal(image[at] | (image[at + 1] << 8), 0x6441);
  image[at] = 0x00;
  image[at + 1] = 0xbf;
  load(t, image);
  const running = new CpuRunner().go(t, LOAD);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(t.availableOutput(), 0);
  t.restart('bootloader', 'test reset');
  assert.deepEqual(await running, { kind: 'interrupted' });
});

test('cpu: erase and program through the flash interface; time charged once', { skip }, async () => {
  const t = detachedTerminal('stm32f407');
  const sector1 = t.flash.sectorByIndex(1)!;
  t.flash.bytes.fill(0x00, sector1.address - t.flash.base, sector1.address - t.flash.base + sector1.size);
  load(t, ERASE_F4);
  const t0 = t.clock.now();
  const out = await new CpuRunner().go(t, LOAD);
  assert.deepEqual(out, { kind: 'reset', why: 'SYSRESETREQ' });
  const off = sector1.address - t.flash.base;
  assert.deepEqual([...t.flash.bytes.subarray(off, off + 4)], [0x78, 0x56, 0x34, 0x12]);
  assert.ok(t.flash.bytes.subarray(off + 4, off + sector1.size).every((b) => b === 0xff));
  const ram = new DataView(t.ram.buffer, 0x7000, 8);
  assert.equal(ram.getUint32(0, true), 0x12345678);
  assert.equal(ram.getUint32(4, true) & 0xf3, 0, 'no error flag in SR');
  const elapsed = t.clock.now() - t0;
  // 250 ms erase (16 KiB sector, typical) + 16 us program + a few instructions
  assert.ok(elapsed > 0.250016 && elapsed < 0.2502, `elapsed ${elapsed}`);
  assert.equal(t.flash.operations, 2);
});

test('cpu: power lost during the erase resolves powerloss', { skip }, async () => {
  const t = detachedTerminal('stm32f407', { faults: parseFaults(['powerloss@1']) });
  load(t, ERASE_F4);
  const out = await new CpuRunner().go(t, LOAD);
  assert.equal(out.kind, 'powerloss');
});

test('cpu: an erase-fail sector reports OPERR', { skip }, async () => {
  const t = detachedTerminal('stm32f407', { faults: parseFaults(['erase-fail@0x08004000']) });
  load(t, ERASE_F4);
  const out = await new CpuRunner().go(t, LOAD);
  assert.equal(out.kind, 'reset');
  const sr = new DataView(t.ram.buffer, 0x7000, 8).getUint32(4, true);
  assert.equal(sr & 0x2, 0x2, 'OPERR stays set (the program does not clear it)');
});

test('cpu: faults name what and where; a bad vector table faults at once', { skip }, async () => {
  const t = detachedTerminal('stm32f407');
  load(t, FAULTS);
  const udf = await new CpuRunner().go(t, LOAD);
  assert.equal(udf.kind, 'fault');
  assert.match((udf as { why: string }).why, /^hard fault: undefined instruction at 0x2000301a$/);
  const unmapped = await new CpuRunner().go(t, LOAD + 8);
  assert.match((unmapped as { why: string }).why, /^hard fault: read of unmapped memory 0x60000000 at 0x20003020$/);
  t.ram.fill(0x55, 0x4000, 0x4008);
  const junk = await new CpuRunner().go(t, 0x20004000);
  assert.equal(junk.kind, 'fault');
  assert.match((junk as { why: string }).why, /outside RAM/);
});

test('cpu: a hung program does not block the event loop; the bench reset interrupts it', { skip }, async () => {
  const t = detachedTerminal('stm32f407');
  load(t, FAULTS);
  const running = new CpuRunner().go(t, LOAD + 16);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  await new Promise((r) => setTimeout(r, 150));
  clearInterval(timer);
  assert.ok(ticks >= 5, `timers ran ${ticks} times`);
  t.restart('bootloader', 'test');
  assert.deepEqual(await running, { kind: 'interrupted' });
});

test('cpu: a watchdog started and never refreshed resets the part after its timeout in virtual time', { skip }, async () => {
  const t = detachedTerminal('stm32f407');
  load(t, IWDG_F4);
  const t0 = t.clock.now();
  assert.deepEqual(await new CpuRunner().go(t, LOAD), { kind: 'reset', why: 'independent watchdog expired' });
  const elapsed = t.clock.now() - t0;
  // 0.512 s, noticed at the end of the slice that crosses it (2M instructions = 0.1875 s at 16 MHz)
  assert.ok(elapsed >= 0.512 && elapsed < 0.512 + 0.19, `elapsed ${elapsed}`);
});

test('cpu: an unmodelled peripheral and a wrong flash key are bus faults naming the instruction', { skip }, async () => {
  const t = detachedTerminal('stm32f407');
  load(t, BUS_FAULTS);
  const crc = await new CpuRunner().go(t, LOAD);
  assert.deepEqual(crc, { kind: 'fault', why: 'hard fault: bus error: read of 0x40023000 (no peripheral modelled there) at 0x20003014' });
  const key = await new CpuRunner().go(t, LOAD + 8);
  assert.equal(key.kind, 'fault');
  assert.match((key as { why: string }).why, /^hard fault: bus error: wrong FLASH_KEYR sequence \(0x12345678\): FLASH_CR locked until reset at 0x2000301c$/);
});

test('cpu: kinds from the board (flashInterface), the line from the board link, tryCreate', () => {
  const f407 = loadBoard('stm32f407');
  assert.equal(cpuKindOf(f407), 'f4');
  assert.equal(cpuKindOf(loadBoard('stm32f205')), 'f2');
  assert.equal(cpuKindOf(loadBoard('stm32l476')), 'l4');
  assert.equal(cpuKindOf(loadBoard('stm32f103xb')), null);
  assert.equal(cpuKindOf({ ...f407, flashInterface: 'stm32l4' } as never), 'l4');
  const link = {
    usart: 0x40004800,
    usartClock: { register: 0x40023840, mask: 1 << 18 },
    gpio: 0x40020400,
    gpioClock: { register: 0x40023830, mask: 2 },
    tx: 10,
    rx: 11,
    af: 7,
  };
  const line = familyOf({ ...f407, link } as never, 'f4').line;
  assert.deepEqual(line, {
    usart: 0x40004800,
    bus: 'apb1',
    usartEnable: link.usartClock,
    gpio: 0x40020400,
    gpioEnable: link.gpioClock,
    txPin: 10,
    rxPin: 11,
    af: 7,
  });
  const made = CpuRunner.tryCreate(loadBoard('stm32f103xb'));
  assert.ok('unavailable' in made);
  if (CpuRunner.available()) assert.equal((CpuRunner.tryCreate(f407) as CpuRunner).emulation, 'instruction');
});
