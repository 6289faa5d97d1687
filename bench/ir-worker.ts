/**
 * One SHA-256 candidate over `MiB` mebibytes of 4 KiB blocks, nothing else: run under callgrind
 * by bench/callgrind.ts, twice with different sizes, so that the difference of the two instruction
 * counts is the cost of hashing alone (start-up, compilation and set-up cancel out).
 *
 *   node --no-liftoff --single-threaded build/bench/ir-worker.js <engine|simd|hashWasm> <MiB> <data MiB>
 *
 * The data buffer is always <data MiB> large (filling it costs the same in both runs), and the
 * flags make V8's tiering deterministic: Wasm compiled by the optimizing tier up front, no
 * background compilation racing the main thread.
 */
import * as fs from 'node:fs';
import { createSHA256 } from 'hash-wasm';
import * as abi from '../host/engine/abi';
import { instantiateEngine, loadEngineModule } from '../host/engine/module';
import { BASE, dataHal, hostWasmPath } from './kernels';

const BLOCK = 4096;

async function main(which: string, mib: number, dataMib: number): Promise<void> {
  const total = mib << 20;
  const data = new Uint8Array(Math.max(total, dataMib << 20));
  for (let i = 0; i < data.length; i++) data[i] = Math.imul(i, 0x9e3779b1) >>> 24; // cheap, fixed, not blank
  const nonce = new Uint8Array(32).fill(7);
  if (which === 'hashWasm') {
    const h = await createSHA256();
    const prefix = new Uint8Array(36);
    prefix.set(nonce);
    const view = new DataView(prefix.buffer);
    for (let o = 0; o < total; o += BLOCK) {
      view.setUint32(32, BASE + o, true);
      h.init();
      h.update(prefix);
      h.update(data.subarray(o, o + BLOCK));
      h.digest('binary');
    }
    return;
  }
  const module = which === 'engine' ? loadEngineModule('terminal') : new Uint8Array(fs.readFileSync(hostWasmPath()));
  const engine = instantiateEngine(module, dataHal(data));
  for (let o = 0; o < total; o += 512 * BLOCK) {
    const size = Math.min(512 * BLOCK, total - o);
    engine.runJob(
      abi.encodeJob({
        ops: { hash: true },
        blockSize: BLOCK,
        erasedValue: 0xff,
        pattern: null,
        erase: [],
        program: [],
        hash: [{ address: BASE + o, size }],
        nonce,
      }),
    );
  }
}

main(process.argv[2] ?? '', Number(process.argv[3] ?? 1), Number(process.argv[4] ?? 0)).catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = 1;
});
