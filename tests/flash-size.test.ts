import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadBoard, sectorsOf } from '../host/boards/load';
import { DeviceError, InputError, NackError, SafetyError } from '../host/errors';
import { parseFaults } from '../host/emulator/faults';
import { CpuRunner, Machine } from '../host/emulator/cpu/machine';
import { cpuKindOf, familyOf } from '../host/emulator/cpu/family';
import { judgeSizeProbe, planSizeProbe } from '../host/plan/size-probe';
import { BootloaderClient } from '../host/protocol/client';
import { eraseTerminal } from '../host/session/erase';
import { eraseSummary } from '../host/cli/summary';
import { emulated, engineModule, runCli } from './helpers';

const KIB = 1024;
const f103 = loadBoard('stm32f103xb');
const f407 = loadBoard('stm32f407');
const TXN = Buffer.from('TXN 100000 4111********1111 APPROVED');

/** A part whose flash answers Read Memory up to `physical` bytes (the simulated ROM's check, for the pure judge). */
function physicalFlash(base: number, physical: number): (a: number) => boolean {
  return (a) => a >= base && a < base + physical;
}

/** An image of the board's size: erased, with transaction records in both halves (the upper one is what a lying register hides). */
function imageWithUpperData(size: number): Uint8Array {
  const img = new Uint8Array(size).fill(0xff);
  img.set(TXN, 0x100);
  img.set(TXN, size / 2 + 0x40);
  img.set(TXN, size - TXN.length);
  return img;
}

/** an assert.throws check: a SafetyError (exit 4) whose message matches */
function refused(re: RegExp): (e: Error) => boolean {
  return (e) => e instanceof SafetyError && re.test(e.message);
}

function allErased(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0xff);
}

// ---- the planner and the judge (pure) ----

test('size probe plan: past a 64 KiB claim every F103xB page is probed at both ends; a true claim gets the claim and the byte past the layout', () => {
  const lying = planSizeProbe(f103, 64 * KIB);
  assert.equal(lying.probes.filter((p) => p.role === 'sector').length, 64 * 2);
  assert.deepEqual(
    lying.probes.filter((p) => p.role === 'claimed').map((p) => p.address),
    [0x08000000, 0x0800ffff],
  );
  assert.deepEqual(
    lying.probes.filter((p) => p.role === 'beyond').map((p) => p.address),
    [0x08020000],
  );
  assert.equal(lying.probes.find((p) => p.role === 'sector')!.address, 0x08010000);
  const honest = planSizeProbe(f103, 128 * KIB);
  assert.deepEqual(
    honest.probes.map((p) => p.role),
    ['claimed', 'claimed', 'beyond'],
  );
});

test('size probe judge: flash that answers past the claim is found and planned; a true small part stays small', () => {
  const lying = judgeSizeProbe(planSizeProbe(f103, 64 * KIB), physicalFlash(0x08000000, 128 * KIB));
  assert.deepEqual(lying, { register: 64 * KIB, boardFile: 128 * KIB, found: 128 * KIB, planned: 128 * KIB });
  const small = judgeSizeProbe(planSizeProbe(f407, 512 * KIB), physicalFlash(0x08000000, 512 * KIB));
  assert.deepEqual(small, { register: 512 * KIB, boardFile: 1024 * KIB, found: 512 * KIB, planned: 512 * KIB });
  const hidden = judgeSizeProbe(planSizeProbe(f407, 512 * KIB), physicalFlash(0x08000000, 1024 * KIB));
  assert.equal(hidden.planned, 1024 * KIB);
  // a claim off the sector grid: the sector holding its end answers, so it is planned whole
  const offGrid = judgeSizeProbe(planSizeProbe(f407, 100 * KIB), physicalFlash(0x08000000, 1024 * KIB));
  assert.equal(offGrid.planned, 1024 * KIB);
});

test('size probe judge: answers that do not describe one flash are refused (SafetyError, exit 4)', () => {
  const plan = planSizeProbe(f103, 64 * KIB);
  const base = 0x08000000;
  // a hole: page 70 silent, page 71 answers
  const hole = (a: number): boolean => a < base + 128 * KIB && !(a >= base + 70 * KIB && a < base + 71 * KIB);
  assert.throws(() => judgeSizeProbe(plan, hole), refused(/sector 71 .* after sector 70/));
  // a page answering at one end only
  const half = (a: number): boolean => a < base + 100 * KIB + 512;
  assert.throws(() => judgeSizeProbe(plan, half), refused(/sector 100 .*first byte only/));
  // Read Memory refused inside the claim: a refusal for another reason than the end
  assert.throws(() => judgeSizeProbe(plan, () => false), refused(/inside the 64 KiB/));
  // flash past the board file's layout
  assert.throws(() => judgeSizeProbe(plan, (a) => a < base + 256 * KIB), refused(/more flash than its board file/));
  // a claim off the grid: flash ending inside a sector, or a sector silent around a claimed byte that answered
  assert.throws(() => judgeSizeProbe(planSizeProbe(f407, 100 * KIB), physicalFlash(base, 100 * KIB)), refused(/sector 4 .*first byte only/));
  const contradictory = (a: number): boolean => a < base + 64 * KIB || a === base + 100 * KIB - 1;
  assert.throws(() => judgeSizeProbe(planSizeProbe(f407, 100 * KIB), contradictory), refused(/sector boundary/));
});

test('size probe plan: a register above the board file (the largest part of its product ID), or one the board needs but could not be read, is refused', () => {
  assert.throws(() => planSizeProbe(f103, 256 * KIB), refused(/reports 256 KiB, more than the 128 KiB/));
  assert.throws(() => planSizeProbe(f407, 2048 * KIB), SafetyError);
  assert.throws(() => planSizeProbe(f407, null), refused(/could not be read/));
});

// ---- the fault and the emulated part ----

test('fault flash-size=<KiB>: parsed, and bad values are one-line usage errors naming the spec', () => {
  assert.equal(parseFaults(['flash-size=64']).flashSizeKiB, 64);
  assert.equal(parseFaults([]).flashSizeKiB, null);
  for (const bad of ['flash-size=', 'flash-size=abc', 'flash-size=0', 'flash-size=4097', 'flash-size=1.5', 'flash-size=-64', 'flash-size=0x40']) {
    assert.throws(
      () => parseFaults([bad]),
      (e: Error) => e instanceof InputError && e.message.includes(`"${bad}"`) && !e.message.includes('\n'),
      bad,
    );
  }
});

test('emulated part: the register lies under the fault, the physical flash stays; Read Memory inside it answers, past it NACKs (AN3155)', async () => {
  const { board, terminal, transport } = emulated('stm32f103xb', { faults: parseFaults(['flash-size=64']) });
  assert.deepEqual([...terminal.readMemory(board.flash.sizeRegister!, 2)!], [64, 0]);
  assert.equal(terminal.flash.size, 128 * KIB);
  const client = new BootloaderClient(transport, { attempts: 1 });
  await client.sync();
  assert.equal((await client.readMemory(0x0801ffff, 1)).length, 1);
  await assert.rejects(client.readMemory(0x08020000, 1), NackError);
  const honest = emulated('stm32f103xb').terminal;
  assert.deepEqual([...honest.readMemory(board.flash.sizeRegister!, 2)!], [128, 0]);
});

const noCpu = CpuRunner.available() ? false : CpuRunner.unavailableReason();

test('emulated CPU: code on the part reads the lying register too (flash-size=512 on an F407), the flash array keeps 1 MiB', { skip: noCpu }, () => {
  const { board, terminal } = emulated('stm32f407', { faults: parseFaults(['flash-size=512']) });
  const m = new Machine(terminal, familyOf(board, cpuKindOf(board)!));
  try {
    assert.deepEqual([...m.cpu.read(board.flash.sizeRegister!, 2)], [0x00, 0x02]);
    assert.equal(m.cpu.read(0x080fff00, 4).length, 4);
  } finally {
    m.close();
  }
});

// ---- sessions ----

test('F103xB with the register saying 64 KiB: all 128 KiB planned, erased and verified; the outcome records the sizes', async () => {
  const board = f103;
  const image = imageWithUpperData(board.flash.size);
  const { terminal, transport } = emulated('stm32f103xb', { image, faults: parseFaults(['flash-size=64']) });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.deepEqual(o.flashSize, { register: 64 * KIB, boardFile: 128 * KIB, found: 128 * KIB, planned: 128 * KIB, probe: 'read-memory' });
  assert.equal(o.plan.sectors.length, sectorsOf(board).length);
  assert.ok(allErased(terminal.flash.bytes), 'data left in the flash');
  assert.match(eraseSummary(o, board.id), /^flash: register says 64 KiB, 128 KiB found and erased$/m);
});

test('a read-protected F103xB with a lying register, --unlock: probed once it reads again, 128 KiB blank-checked', async () => {
  const image = imageWithUpperData(f103.flash.size);
  const { board, terminal, transport } = emulated('stm32f103xb', { image, rdp: 1, faults: parseFaults(['flash-size=64']) });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule(), unlock: true });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.equal(o.unlocked, true);
  assert.deepEqual([o.flashSize.register, o.flashSize.planned], [64 * KIB, 128 * KIB]);
  assert.equal(
    o.blocks.reduce((n, b) => n + b.size, 0),
    128 * KIB,
  );
  assert.ok(allErased(terminal.flash.bytes));
});

test('a locked part whose register (readable after --unlock only) over-reports: a device error (exit 3), the mass erase changed it already', async () => {
  const { board, transport } = emulated('stm32f103xb', { rdp: 1, faults: parseFaults(['flash-size=256']) });
  await assert.rejects(
    eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule(), unlock: true }),
    (e: Error) => e instanceof DeviceError && !(e instanceof SafetyError) && /after Readout Unprotect .*256 KiB/.test(e.message),
  );
});

test('a normal part (no fault): unchanged plan, found == register', async () => {
  const { board, terminal, transport } = emulated('stm32f103xb', { image: imageWithUpperData(f103.flash.size) });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.equal(o.flashSize.found, o.flashSize.register);
  assert.equal(o.flashSize.planned, 128 * KIB);
  assert.equal(o.plan.sectors.length, 128);
  assert.ok(allErased(terminal.flash.bytes));
});

test('a register reporting more than the board file: refused (SafetyError) before any flash operation', async () => {
  const image = imageWithUpperData(f103.flash.size);
  const { board, terminal, transport } = emulated('stm32f103xb', { image: image.slice(), faults: parseFaults(['flash-size=256']) });
  await assert.rejects(eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() }), SafetyError);
  assert.equal(terminal.flash.operations, 0);
  assert.deepEqual(terminal.flash.bytes, image);
});

// ---- the command line (the "done when") ----

const work = mkdtempSync(path.join(tmpdir(), 'poswipe-size-'));

interface LyingRun {
  code: number;
  report: Record<string, unknown> | null;
  stderr: string;
  before: Uint8Array;
  after: Uint8Array;
}

function eraseWithLyingRegister(boardId: string, kib: number): LyingRun {
  const board = loadBoard(boardId);
  const img = path.join(work, `${boardId}-${kib}.img`);
  const before = imageWithUpperData(board.flash.size);
  writeFileSync(img, before);
  const args = ['erase', '--board', boardId, '--port', 'emu', '--no-backup', '--method', 'clear', '--json'];
  const r = runCli([...args, '--emu-fault', `flash-size=${kib}`, '--emu-image', img], { cwd: work });
  return { code: r.code, report: r.code === 0 ? JSON.parse(r.stdout) : null, stderr: r.stderr, before, after: new Uint8Array(readFileSync(img)) };
}

test('erase --board stm32f103xb --emu-fault flash-size=64: exit 0 with every byte of the 128 KiB image erased (bootloader path)', () => {
  const r = eraseWithLyingRegister('stm32f103xb', 64);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(allErased(r.after), 'exit 0 with data left');
  assert.deepEqual(r.report!.flashSize, { register: 64 * KIB, boardFile: 128 * KIB, found: 128 * KIB, planned: 128 * KIB, probe: 'read-memory' });
});

test('erase --board stm32f407 --emu-fault flash-size=512: exit 0 with the whole 1 MiB erased (agent path)', () => {
  const r = eraseWithLyingRegister('stm32f407', 512);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(allErased(r.after), 'exit 0 with data left');
  assert.equal((r.report!.flashSize as { planned: number }).planned, 1024 * KIB);
  assert.equal((r.report!.blocks as unknown[]).length, 256);
  assert.equal(r.report!.emulation, CpuRunner.available() ? 'instruction' : 'model');
});

test('erase with the register over-reporting (flash-size=2048 on an F407): exit 4, image unchanged; a bad spec is exit 2', () => {
  const r = eraseWithLyingRegister('stm32f407', 2048);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /2048 KiB, more than the 1024 KiB/);
  assert.deepEqual(r.after, r.before);
  const bad = runCli(['erase', '--board', 'stm32f407', '--port', 'emu', '--no-backup', '--emu-fault', 'flash-size=0'], { cwd: work });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /flash-size=0/);
});
