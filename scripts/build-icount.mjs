// Builds the native instruction counter of the instruction-level emulated terminal
// (host/emulator/cpu/native/icount.c) into build/native/libpwicount.so with the machine's C
// compiler. Without a compiler it says so in one line and exits 0: the terminal then offers
// only the model of the agent (the CPU runner reports itself unavailable).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'host', 'emulator', 'cpu', 'native', 'icount.c');
const out = join(root, 'build', 'native', 'libpwicount.so');
const cc = process.env.CC || 'cc';

if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.log(`build:native skipped: no C compiler "${cc}" (instruction-level emulation will be unavailable)`);
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
execFileSync(cc, ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-o', out, source], { stdio: 'inherit' });
console.log(`build:native: ${out}`);
