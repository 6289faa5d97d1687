import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadBoard } from '../host/boards/load';
import { EmulatedTerminal } from '../host/emulator/terminal';
import { parseFaults } from '../host/emulator/faults';
import { EmulatedTransport } from '../host/transport/emulated';
import { eraseTerminal } from '../host/session/erase';
import { sampleBlocks } from '../host/plan/sampling';
import type { Block } from '../host/plan/erase-plan';
import { ROOT, blankOutside, emulated, engineModule } from './helpers';

test('NIST sampling: >= 1,000 subsections with two blocks each and >= 10% coverage on a large flash', () => {
  const blocks: Block[] = Array.from({ length: 16384 }, (_, i) => ({ address: 0x08000000 + i * 256, size: 256, sectors: [] }));
  let x = 12345;
  const rnd = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  const s = sampleBlocks(blocks, rnd);
  assert.equal(s.subsections, 1000);
  assert.ok(s.coverage >= 0.1, `coverage ${s.coverage}`);
  assert.equal(s.everyBlock, false);
  // two distinct blocks in every subsection
  const per = blocks.length / 1000;
  for (let k = 0; k < 1000; k++) {
    const lo = 0x08000000 + Math.floor(k * per) * 256;
    const hi = 0x08000000 + Math.floor((k + 1) * per) * 256;
    assert.ok(s.blocks.filter((b) => b.address >= lo && b.address < hi).length >= 2, `subsection ${k}`);
  }
});

test('sampling with fewer than 2,000 blocks checks every block', () => {
  const blocks: Block[] = Array.from({ length: 256 }, (_, i) => ({ address: i * 4096, size: 4096, sectors: [] }));
  const s = sampleBlocks(blocks, () => 0);
  assert.equal(s.everyBlock, true);
  assert.equal(s.blocks.length, 256);
  assert.equal(s.coverage, 1);
});

test('--verify sample on a 1 MiB board covers >= 10% (every block here) and clear ends blank', async () => {
  const { board, terminal, transport } = emulated('stm32f407');
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'sample', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.ok(o.coverage.fraction >= 0.1);
  assert.ok(o.coverage.everyBlock || o.coverage.subsections >= 1000);
  assert.ok(blankOutside(terminal, 0xff));
});

test('bootloader-only path (F103, no agent): erase and read-back verification', async () => {
  const { board, terminal, transport } = emulated('stm32f103xb');
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.equal(o.verification, 'read-back');
  assert.equal(
    o.blocks.reduce((n, b) => n + b.size, 0),
    board.flash.size,
  );
  assert.ok(blankOutside(terminal, 0xff));
  assert.ok(o.wire.bytesRx > board.flash.size, 'read-back moves the whole flash over the line');
});

test('bootloader-only path with Get Checksum: verified through 0xA1 with far fewer bytes', async () => {
  const board = loadBoard(path.join(ROOT, 'tests/fixtures/boards/good/stm32f103xb-checksum.json'));
  const terminal = new EmulatedTerminal(board);
  const o = await eraseTerminal(new EmulatedTransport(terminal), { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  assert.equal(o.verification, 'get-checksum');
  assert.ok(o.wire.bytesRx * 20 < board.flash.size, `${o.wire.bytesRx} bytes received`);
  assert.ok(blankOutside(terminal, 0xff));
});

test('bootloader-only path: purge and dod3 pattern passes verified, stuck byte fails with its sector', async () => {
  for (const method of ['purge', 'dod3'] as const) {
    const { board, terminal, transport } = emulated('stm32f103xb');
    const o = await eraseTerminal(transport, { board, method, verify: 'full', module: engineModule() });
    assert.equal(o.verified, true, `${method}: ${o.reason}`);
    assert.ok(o.passes.some((p) => p.kind === 'program' && p.verified));
    assert.ok(blankOutside(terminal, 0xff));
  }
  const { board, transport } = emulated('stm32f103xb', { faults: parseFaults(['stuck@0x08001801']) });
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, false);
  assert.deepEqual(o.failed, [0x08001000]);
  // 1 KiB pages under a 4 KiB block: the failure is named by the block and its first page
  assert.ok(
    o.failedSectors.some((s) => s.index >= 4 && s.index <= 7),
    JSON.stringify(o.failedSectors),
  );
});

test('a HAL program failure during a pattern pass is reported and never verified', async () => {
  // erase-fail makes the sector refuse erasure: the first erase pass fails there
  const { board, transport } = emulated('stm32f407', { faults: parseFaults(['erase-fail@0x08004000']) });
  const o = await eraseTerminal(transport, { board, method: 'dod3', verify: 'full', module: engineModule() });
  assert.equal(o.verified, false);
  assert.ok(o.reason);
});

test('bootloader-only read-back: a read garbled once into blank bytes never certifies a stuck byte', async () => {
  const { board, terminal, transport } = emulated('stm32f103xb', { faults: parseFaults(['stuck@0x08001801']) });
  // a line that turns the first 256-byte read holding the stuck byte into all-0xFF, once
  let garbled = false;
  const read = transport.read.bind(transport);
  transport.read = async (n: number, timeoutMs: number) => {
    const data = await read(n, timeoutMs);
    if (!garbled && n === 256 && terminal.flash.bytes[0x1801] !== 0xff && data.some((b) => b !== 0xff) && data.filter((b) => b !== 0xff).length === 1) {
      garbled = true;
      return new Uint8Array(n).fill(0xff);
    }
    return data;
  };
  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(garbled, true, 'the garbled read happened');
  assert.equal(o.verified, false);
  assert.deepEqual(o.failed, [0x08001000]);
});
