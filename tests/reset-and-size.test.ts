import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBoard, sectorsOf } from '../host/boards/load';
import { boardWithFlashSize } from '../host/boards/layout';
import { DeviceError, InputError } from '../host/errors';
import { resetPlan, playSequence } from '../host/session/reset';
import { emulated } from './helpers';

test('flash-size register: a 512 KiB F407 keeps sectors 0-7 only', () => {
  const b = boardWithFlashSize(loadBoard('stm32f407'), 512 * 1024);
  assert.equal(b.flash.size, 512 * 1024);
  const s = sectorsOf(b);
  assert.equal(s.length, 8);
  assert.equal(s[7].address + s[7].size, 0x08080000);
});

test('flash-size register: a size off the sector grid, or larger than the file, is refused', () => {
  const f407 = loadBoard('stm32f407');
  assert.throws(() => boardWithFlashSize(f407, 100 * 1024), DeviceError);
  assert.throws(() => boardWithFlashSize(f407, 2048 * 1024), DeviceError);
});

test('reset plan: the board sequence, an override, none, and bad text (exit 2)', () => {
  const acme = loadBoard('acme-t400');
  assert.ok(acme.reset);
  assert.ok(resetPlan(acme).enter.length > 0);
  assert.deepEqual(resetPlan(acme, 'none').enter, []);
  assert.deepEqual(resetPlan(acme, 'dtr,wait:10,-dtr').enter, [
    { kind: 'line', line: 'dtr', asserted: true },
    { kind: 'wait', ms: 10 },
    { kind: 'line', line: 'dtr', asserted: false },
  ]);
  assert.throws(() => resetPlan(acme, 'dtr,jump'), InputError);
  assert.deepEqual(resetPlan(loadBoard('stm32f407')).enter, []);
});

test('the emulated part follows the lines: reset with BOOT0 low starts the application, which ignores the sync', async () => {
  const { board, terminal, transport } = emulated('acme-t400');
  const plan = resetPlan(board);
  // exit sequence: BOOT0 low, reset pulse → application
  await playSequence(transport, plan.exit);
  assert.equal(terminal.state, 'application');
  await transport.write(Uint8Array.of(0x7f));
  await assert.rejects(transport.read(1, 100));
  // entry sequence: back into the bootloader, which answers the sync
  await playSequence(transport, plan.enter);
  assert.equal(terminal.state, 'bootloader');
  await transport.write(Uint8Array.of(0x7f));
  assert.deepEqual([...(await transport.read(1, 100))], [0x79]);
});
