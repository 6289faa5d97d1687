/**
 * Instructions per byte of the SHA-256 candidates, counted by valgrind's callgrind: unlike
 * timings, instruction counts do not move when the machine is busy. Each candidate runs in a
 * fresh `node build/bench/ir-worker.js` under callgrind over 2 and then 6 MiB (same data buffer,
 * V8 tiering made deterministic); the difference is the cost of hashing 4 MiB alone. Optional
 * (`--callgrind`): about half a minute per candidate.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const SMALL_MIB = 2;
const LARGE_MIB = 6;

function instructions(which: string, mib: number): number {
  const worker = path.join(__dirname, 'ir-worker.js');
  const args = [
    '--tool=callgrind',
    '--callgrind-out-file=/dev/null',
    process.execPath,
    '--no-liftoff',
    '--single-threaded',
    worker,
    which,
    String(mib),
    String(LARGE_MIB),
  ];
  const r = spawnSync('valgrind', args, { encoding: 'utf8', timeout: 600_000 });
  if (r.error) throw new Error(`valgrind: ${r.error.message}`);
  const m = /Collected\s*:\s*(\d+)/.exec(r.stderr ?? '');
  if (r.status !== 0 || !m)
    throw new Error(`callgrind run of ${which} over ${mib} MiB failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}`);
  return Number(m[1]);
}

/** True when valgrind can be started. */
export function haveValgrind(): boolean {
  const r = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Instructions per byte of block data for each candidate (engine, simd, hashWasm). */
export function instructionsPerByte(log: (line: string) => void): Record<string, number> {
  const out: Record<string, number> = {};
  for (const which of ['engine', 'simd', 'hashWasm']) {
    log(`  callgrind: ${which}`);
    const small = instructions(which, SMALL_MIB);
    const large = instructions(which, LARGE_MIB);
    out[which] = (large - small) / ((LARGE_MIB - SMALL_MIB) << 20);
  }
  return out;
}
