import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBoard } from '../host/boards/load';
import { JOB_MAX, RESULT_MAX, jobSize, resultSize } from '../host/engine/abi';
import { planErase, planRetry, unitsOf } from '../host/plan/erase-plan';

const hex = (n: number): string => `0x${n.toString(16)}`;
const summary = (id: string, opts = {}) =>
  planErase(loadBoard(id), opts).jobs.map((j) => ({
    erase: j.erase.map((s) => s.index),
    hash: j.hash.map((h) => [hex(h.address), hex(h.size)]),
    blocks: j.blocks.length,
  }));

test('F407: one job, all 12 sectors, one hash range over 1 MiB, 256 blocks', () => {
  assert.deepEqual(summary('stm32f407'), [{ erase: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], hash: [['0x8000000', '0x100000']], blocks: 256 }]);
  const p = planErase(loadBoard('stm32f407'));
  assert.deepEqual(
    p.blocks.slice(0, 5).map((b) => [hex(b.address), b.sectors]),
    [
      ['0x8000000', [0]],
      ['0x8001000', [0]],
      ['0x8002000', [0]],
      ['0x8003000', [0]],
      ['0x8004000', [1]],
    ],
  );
  assert.deepEqual(p.notSanitizable, [{ address: 0x1fff7800, size: 512 }]);
});

test('acme-t400: the protected boot sector is skipped and named', () => {
  const p = planErase(loadBoard('acme-t400'));
  assert.deepEqual(
    p.skipped.map((s) => [s.sector.index, s.reason]),
    [[0, 'protected region "boot"']],
  );
  assert.deepEqual(summary('acme-t400'), [{ erase: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], hash: [['0x8004000', '0xfc000']], blocks: 252 }]);
  assert.equal(planErase(loadBoard('acme-t400'), { includeProtected: true }).sectors.length, 12);
});

test("L476: 2 KiB pages pair into 4 KiB blocks; all 512 pages and 256 blocks in one job (the engine's limits, not the board's RAM)", () => {
  const board = loadBoard('stm32l476');
  assert.deepEqual(summary('stm32l476'), [{ erase: Array.from({ length: 512 }, (_, i) => i), hash: [['0x8000000', '0x100000']], blocks: 256 }]);
  assert.deepEqual(planErase(board).blocks[0].sectors, [0, 1]);
  assert.ok(jobSize(512, 1, 0) <= JOB_MAX);
});

test("job limits are the engine's: 512 blocks per job, so 2 KiB blocks on the L476 take two jobs", () => {
  assert.equal(resultSize(512), RESULT_MAX);
  assert.deepEqual(summary('stm32l476', { blockSize: 2048 }), [
    { erase: Array.from({ length: 512 }, (_, i) => i), hash: [['0x8000000', '0x100000']], blocks: 512 },
  ]);
  assert.deepEqual(summary('stm32l476', { blockSize: 1024 }), [
    { erase: Array.from({ length: 256 }, (_, i) => i), hash: [['0x8000000', '0x80000']], blocks: 512 },
    { erase: Array.from({ length: 256 }, (_, i) => 256 + i), hash: [['0x8080000', '0x80000']], blocks: 512 },
  ]);
});

test('F429: dual bank in one job of 512 blocks, bank 2 sectors numbered 12-23', () => {
  const s = summary('stm32f429');
  assert.equal(s.length, 1);
  assert.deepEqual(
    s[0].erase,
    Array.from({ length: 24 }, (_, i) => i),
  );
  assert.equal(s[0].blocks, 512);
});

test('units: a gap (skipped page) ends a unit early, leaving a short last block', () => {
  const board = loadBoard('stm32l476');
  const p = planErase(board);
  const withGap = p.sectors.filter((s) => s.index !== 3);
  const units = unitsOf(withGap, 4096);
  assert.deepEqual(
    units.slice(0, 3).map((u) => u.map((s) => s.index)),
    [[0, 1], [2], [4, 5]],
  );
});

test('retry plans cover only the units under failed blocks', () => {
  const board = loadBoard('stm32f407');
  const p = planErase(board);
  const failed = p.blocks.filter((b) => b.address === 0x08012000);
  const jobs = planRetry(p, failed);
  assert.deepEqual(
    jobs.map((j) => ({ erase: j.erase.map((s) => s.index), hash: j.hash.map((h) => [hex(h.address), hex(h.size)]) })),
    [{ erase: [4], hash: [['0x8010000', '0x10000']] }],
  );
});

test('block sizes outside 8..4096 or not a multiple of 8 are refused', () => {
  assert.throws(() => planErase(loadBoard('stm32f407'), { blockSize: 4100 }), RangeError);
  assert.throws(() => planErase(loadBoard('stm32f407'), { blockSize: 12 }), RangeError);
});
