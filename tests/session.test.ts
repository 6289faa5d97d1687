import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eraseTerminal } from '../host/session/erase';
import { eraseReport } from '../host/app/report';
import { eraseSummary } from '../host/cli/summary';
import { DeviceError, SafetyError } from '../host/errors';
import { CYCLES_PER_INSTRUCTION } from '../host/emulator/cpu/machine';
import { parseFaults } from '../host/emulator/faults';
import { blankOutside, emulated, engineModule, referenceDigest } from './helpers';

test('clear on an emulated F407: 256 blocks verified, digests reproduce independently, flash blank', async () => {
  const { board, terminal, transport } = emulated('stm32f407');
  assert.ok(!blankOutside(terminal, 0xff), 'a new emulated terminal must not start blank');
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.equal(o.blocks.length, 256);
  assert.equal(o.blockSize, 4096);
  const ff = new Uint8Array(4096).fill(0xff);
  for (const b of o.blocks) {
    assert.equal(b.ok, true);
    assert.equal(b.digest, referenceDigest(o.nonce, b.address, ff));
  }
  assert.equal(o.blocks[0].address, 0x08000000);
  assert.equal(o.blocks[255].address, 0x080ff000);
  assert.ok(blankOutside(terminal, 0xff));
  assert.match(o.identity.uid ?? '', /^[0-9a-f]{24}$/);
  // the emulated terminal ran the agent with the model (no instruction-level runner registered here); the report says so
  assert.equal(o.emulation, terminal.emulation);
  assert.equal(eraseReport(o, { board: board.id, certificate: null, backup: null }).emulation, terminal.emulation);
  assert.match(eraseSummary(o, board.id), /emulated terminal: /);
});

test('a fresh nonce per run: the same terminal gives different digests', async () => {
  const { board, transport } = emulated('stm32f407');
  const a = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  const b = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.notEqual(a.nonce, b.nonce);
  assert.notEqual(a.blocks[0].digest, b.blocks[0].digest);
});

test('stuck byte: not verified, the block 0x08012000 named, sector retried', async () => {
  const { board, terminal, transport } = emulated('stm32f407', { faults: parseFaults(['stuck@0x08012345']) });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, false);
  assert.deepEqual(o.failed, [0x08012000]);
  assert.equal(o.retries, 3);
  assert.equal(o.failedSectors[0].index, 4);
  assert.notEqual(terminal.flash.bytes[0x12345], 0xff);
});

test('product ID mismatch is refused naming both IDs, before anything is written', async () => {
  const { terminal, transport } = emulated('stm32f205');
  const before = Buffer.from(terminal.flash.bytes);
  const { board } = emulated('stm32f407');
  await assert.rejects(eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() }), (err: Error) => {
    assert.ok(err instanceof DeviceError);
    assert.match(err.message, /0x0413/);
    assert.match(err.message, /0x0411/);
    return true;
  });
  assert.ok(before.equals(Buffer.from(terminal.flash.bytes)));
});

test('read-protected terminal: refused without --unlock, nothing changed', async () => {
  const { board, terminal, transport } = emulated('stm32f407', { rdp: 1 });
  const before = Buffer.from(terminal.flash.bytes);
  await assert.rejects(eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() }), SafetyError);
  assert.ok(before.equals(Buffer.from(terminal.flash.bytes)));
});

test('read-protected terminal with unlock: mass erase by the part, then every block verified', async () => {
  const { board, terminal, transport } = emulated('stm32f407', { rdp: 1 });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', unlock: true, module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.equal(o.unlocked, true);
  assert.equal(o.blocks.length, 256);
  assert.equal(terminal.rdpLevel, 0);
  assert.ok(blankOutside(terminal, 0xff));
});

test('erase failure of one sector: not verified, that sector named', async () => {
  const { board, transport } = emulated('stm32f407', { faults: parseFaults(['erase-fail@0x08040000']) });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, false);
  assert.ok(o.failedSectors.some((s) => s.address === 0x08040000 || s.index === 6), JSON.stringify(o.failedSectors));
});

test('purge and dod3 end blank and verified, with each pattern pass verified by digest', async () => {
  for (const method of ['purge', 'dod3'] as const) {
    const { board, terminal, transport } = emulated('stm32f407');
    const o = await eraseTerminal(transport, { board, method, verify: 'full', module: engineModule() });
    assert.equal(o.verified, true, `${method}: ${o.reason}`);
    assert.ok(o.passes.some((p) => p.kind === 'program' && p.verified && p.blocks === 256), method);
    assert.ok(blankOutside(terminal, 0xff), method);
  }
});

test('purge refuses sampled verification', async () => {
  const { board, transport } = emulated('stm32f407');
  await assert.rejects(eraseTerminal(transport, { board, method: 'purge', verify: 'sample', module: engineModule() }), /full verification/);
});

test('keys are zeroized before any sector is erased (operation log order)', async () => {
  const lines: string[] = [];
  const { board, terminal, transport } = emulated('acme-t400', { log: (l) => lines.push(l) });
  const keys = board.regions.filter((r) => r.kind === 'keys');
  assert.ok(keys.length > 0);
  const protectedRegions = board.regions.filter((r) => r.kind === 'protected');
  const before = Buffer.from(terminal.flash.bytes);
  const o = await eraseTerminal(transport, { board, method: 'purge', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  const firstErase = lines.findIndex((l) => / erase /.test(l));
  const keyProgram = lines.findIndex((l) => l.includes(`program 0x${keys[0].address.toString(16).padStart(8, '0')}`));
  assert.ok(keyProgram >= 0 && keyProgram < firstErase, `key program at ${keyProgram}, first erase at ${firstErase}`);
  // protected regions byte-identical, everything else blank
  for (const r of protectedRegions) {
    const off = r.address - board.flash.base;
    assert.ok(before.subarray(off, off + r.size).equals(Buffer.from(terminal.flash.bytes.subarray(off, off + r.size))));
  }
  assert.ok(blankOutside(terminal, 0xff, protectedRegions));
});

test('every board with an agent erases and verifies (dual-bank F429, 2 KiB-page L476)', async () => {
  for (const id of ['stm32f205', 'stm32f429', 'stm32l476']) {
    const { board, terminal, transport } = emulated(id);
    const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
    assert.equal(o.verified, true, `${id}: ${o.reason}`);
    assert.equal(o.blocks.reduce((n, b) => n + b.size, 0), board.flash.size, id);
    assert.ok(blankOutside(terminal, 0xff), id);
  }
});

test('line faults: drop and flip at 0.1% never give a false success', async () => {
  let verified = 0;
  for (let seed = 1; seed <= 6; seed++) {
    const { board, terminal, transport } = emulated('stm32f407', { seed, faults: parseFaults(['drop=0.001', 'flip=0.001']) });
    try {
      const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
      if (o.verified) {
        verified++;
        assert.ok(blankOutside(terminal, 0xff), `seed ${seed}: verified but flash not blank`);
      }
    } catch (err) {
      assert.ok(err instanceof DeviceError, `seed ${seed}: ${(err as Error).message}`);
    }
  }
  assert.ok(verified >= 5, `only ${verified} of 6 runs verified under light line faults`);
});

test('timing: an emulated F407 erase takes what the board figures and, at instruction level, the hashing predict (within 10%)', async () => {
  const { board, terminal, transport } = emulated('stm32f407');
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true);
  const eraseS = board.flash.sectors.reduce((n, r) => n + r.count * board.timing.erase.find((e) => e.unitBytes === r.size)!.typicalMs, 0) / 1000;
  const lineS = ((o.wire.bytesTx + o.wire.bytesRx) * 11) / 115200;
  // at instruction level the agent's own computation is charged too: hashing the flash once costs
  // about 41 Cortex-M4 instructions per byte (the engine under wasm2c at -O2, npm run bench) at the
  // documented CPI, on the reset clock (HSI 16 MHz); the model charges no computation
  const computeS = terminal.emulation === 'instruction' ? (board.flash.size * 41 * CYCLES_PER_INSTRUCTION) / 16e6 : 0;
  const predicted = eraseS + lineS + computeS;
  const measured = terminal.clock.now();
  assert.ok(Math.abs(measured - predicted) / predicted < 0.1, `emulated ${measured.toFixed(3)} s, predicted ${predicted.toFixed(3)} s`);
  assert.ok(Math.abs(o.terminalTimings.total - measured) < 0.01);
});

test('line faults: drop and flip at 0.1% on the F407 end verified in at least 19 of 20 seeded runs', async () => {
  let verified = 0;
  for (let seed = 100; seed < 120; seed++) {
    const { board, terminal, transport } = emulated('stm32f407', { seed, faults: parseFaults(['drop=0.001', 'flip=0.001']) });
    try {
      const o = await eraseTerminal(transport, { board, method: 'purge', verify: 'full', module: engineModule() });
      if (o.verified) {
        verified++;
        assert.ok(blankOutside(terminal, 0xff), `seed ${seed}: verified but not blank`);
      }
    } catch (err) {
      assert.ok(err instanceof DeviceError, `seed ${seed}: ${(err as Error).message}`);
    }
  }
  assert.ok(verified >= 19, `${verified} of 20 verified`);
});
