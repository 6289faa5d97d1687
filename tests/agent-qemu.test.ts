/**
 * The committed f4 agent hashing flash on QEMU (`qemu-system-arm -M netduinoplus2`, an
 * STM32F405 with 1 MiB of flash), driven by the host's real AgentRunner and link codec
 * (tests/qemu.ts: a socket Transport, and a loader standing in for the bootloader QEMU lacks).
 *
 * QEMU is given a flash image of known pseudo-random content (one 4 KiB block erased, 0xFF),
 * whose first two words are the vector table {SP, entry | 1} QEMU boots from. The parameter
 * block carries the board's flash size (1 MiB), so the agent never reads the flash size
 * register at 0x1FFF7A22, which QEMU does not map. Every digest must equal node:crypto's
 * SHA-256(nonce ‖ address LE ‖ block) over the image QEMU was given, and the blank flags must
 * mark exactly the erased block. QEMU has no flash controller: erase and program are not tried
 * here (tests/cpu-agent.test.ts and agent/test/unicorn_smoke.py do them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { agentOfKind, loadAgentManifest } from '../host/agent/manifest';
import { loadBoard } from '../host/boards/load';
import { AgentRunner } from '../host/session/agent-runner';
import { ROOT, toolSkip } from './helpers';
import { QEMU_FLASH_BASE, QEMU_FLASH_SIZE, QemuLoader, hasQemu, qemuBoard } from './qemu';

const committed = existsSync(path.join(ROOT, 'agent', 'manifest.json'));
const skip = !committed ? 'the agent binaries are not committed (agent/manifest.json)' : toolSkip(hasQemu() ? false : 'qemu-system-arm is not installed');

const BLOCK = 4096;
const ERASED_BLOCK = 37;
/** SHA-256 over the block needs about 39 instructions per byte on the agent; QEMU's TCG runs 1 MiB in well under this */
const FRAME_TIMEOUT_MS = 10_000;

/** 1 MiB from xorshift32 (seed fixed), one block erased, the vector table {SP, entry | 1} at the start */
function flashImage(sp: number, entry: number): Uint8Array {
  const out = new Uint8Array(QEMU_FLASH_SIZE);
  const v = new DataView(out.buffer);
  let x = 0x2545f491;
  for (let i = 0; i < out.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v.setUint32(i, x >>> 0, true);
  }
  out.fill(0xff, ERASED_BLOCK * BLOCK, (ERASED_BLOCK + 1) * BLOCK);
  v.setUint32(0, sp >>> 0, true);
  v.setUint32(4, entry >>> 0, true);
  return out;
}

function digest(nonce: Uint8Array, address: number, block: Uint8Array): string {
  const addr = Buffer.alloc(4);
  addr.writeUInt32LE(address >>> 0);
  return createHash('sha256').update(nonce).update(addr).update(block).digest('hex');
}

test(
  'QEMU (no flash controller, so no erase or program): the f4 agent hashes 1 MiB through the AgentRunner; every digest equals SHA-256(nonce | addr LE | block) over the image QEMU was given',
  { skip, timeout: 120_000 },
  async () => {
    const manifest = loadAgentManifest();
    const agent = agentOfKind(manifest, 'f4');
    const iv = new DataView(agent.bytes.buffer, agent.bytes.byteOffset);
    const flash = flashImage(iv.getUint32(0, true), iv.getUint32(4, true));
    const board = qemuBoard(loadBoard('stm32f407'));
    assert.equal(board.flash.size, QEMU_FLASH_SIZE, 'the F407 board and the F405 QEMU models have the same 1 MiB');
    const loader = new QemuLoader(flash);
    try {
      const runner = new AgentRunner(loader.asClient(), board, {
        image: agent.bytes,
        moduleSha256: Buffer.from(manifest.moduleSha256, 'hex'),
        baud: 115200,
        idleTimeoutMs: 0,
      });
      const started = performance.now();
      const hello = await runner.start();
      assert.equal(hello.kind, 'f4');
      const nonce = createHash('sha256').update('poswipe qemu nonce').digest();
      // 1 MiB in 256 blocks of 4 KiB fits one result table (RESULT_MAX holds 514 digests); a second job
      // with another nonce and a range whose last block is short follows
      const ranges = [{ address: QEMU_FLASH_BASE, size: QEMU_FLASH_SIZE }];
      const hashed: number[] = [];
      const table = await runner.run(
        { ops: { hash: true }, blockSize: BLOCK, erasedValue: 0xff, pattern: null, erase: [], hash: ranges, program: [], nonce },
        QEMU_FLASH_SIZE / BLOCK,
        { frameTimeoutMs: FRAME_TIMEOUT_MS, onEvent: (e) => e.kind === 'hashed' && hashed.push(e.count) },
      );
      const ms = performance.now() - started;
      assert.equal(table.statusName, 'OK', `engine status ${table.status}, HAL status ${table.halStatus} at 0x${table.failAddress.toString(16)}`);
      assert.equal(table.blockCount, QEMU_FLASH_SIZE / BLOCK);
      assert.deepEqual(hashed, [64, 128, 192, 256], 'PROGRESS every 64 blocks');
      for (let i = 0; i < table.blockCount; i++) {
        const address = QEMU_FLASH_BASE + i * BLOCK;
        const want = digest(nonce, address, flash.subarray(i * BLOCK, (i + 1) * BLOCK));
        assert.equal(Buffer.from(table.digests[i]).toString('hex'), want, `block ${i} at 0x${address.toString(16)}`);
      }
      assert.deepEqual(
        table.blank.flatMap((b, i) => (b ? [i] : [])),
        [ERASED_BLOCK],
        'blank flags: only the erased block',
      );
      assert.equal(table.blankCount, 1);

      const other = Uint8Array.from(nonce, (b) => b ^ 0x5a);
      const part = [{ address: QEMU_FLASH_BASE + 0x1000, size: 0x3000 + 100 }]; // the last block shorter
      const again = await runner.run(
        { ops: { hash: true }, blockSize: BLOCK, erasedValue: 0xff, pattern: null, erase: [], hash: part, program: [], nonce: other },
        4,
        { frameTimeoutMs: FRAME_TIMEOUT_MS },
      );
      assert.equal(again.blockCount, 4);
      for (let i = 0; i < 4; i++) {
        const at = 0x1000 + i * BLOCK;
        const len = i < 3 ? BLOCK : 100;
        assert.equal(
          Buffer.from(again.digests[i]).toString('hex'),
          digest(other, QEMU_FLASH_BASE + at, flash.subarray(at, at + len)),
          `second job, block ${i}`,
        );
      }
      console.log(`# QEMU: HELLO + 1 MiB hash job (256 digests) in ${ms.toFixed(0)} ms`);
    } finally {
      await loader.close();
    }
  },
);
