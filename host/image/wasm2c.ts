/**
 * The self-contained engine translated to C by wabt's wasm2c and built natively with the host's C
 * compiler: one more independent runtime for the conformance check (conformance.ts,
 * `wasm2c:selfcontained`). The translation is built into a shared library with a small generated
 * dispatcher (one C function that calls an export by name with numbers, as runNumeric drives it),
 * which wasm2c-runner.ts loads through koffi in a child process.
 *
 * The runtime is compiled with WASM_RT_MEMCHECK_SIGNAL_HANDLER=0: explicit bounds checks and no
 * signal handlers, which would otherwise compete with Node's own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** Where Debian's wabt (and a local build) put the wasm2c runtime sources. */
const RUNTIME_DIRS = ['/usr/share/wabt/wasm2c', '/usr/src/wasm2c', '/usr/local/share/wabt/wasm2c'];

export type Wasm2cBuild = { available: false; reason: string } | { available: true; library: string; version: string };

function tool(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  return { ok: !r.error && r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || (r.error?.message ?? `exit ${r.status}`) };
}

/**
 * The dispatcher for the exports wasm2c declared in `header` (wabt 1.0.32 spells them
 * Z_<module>Z_<name>, later releases w2c_<module>_<name>): every export that takes and returns
 * 32-bit integers, as the self-contained module's numeric interface does.
 */
export function dispatcherSource(header: string, moduleName: string): string {
  const inst = new RegExp(`^void (\\w+)_instantiate\\((\\w+)\\s*\\*\\s*\\w*\\);`, 'm').exec(header);
  if (!inst) throw new Error('wasm2c header: no instantiate function for a module without imports');
  const [, prefix, type] = inst;
  const free = `${prefix}_free`;
  // wabt 1.0.32 has a module-level initialiser to call once before the first instance
  const initModule = header.includes(`void ${prefix}_init_module(void);`) ? ` ${prefix}_init_module();` : '';
  const exportPrefix = new RegExp(`^(?:Z_${moduleName}Z_|w2c_${moduleName}_)(\\w+)$`);
  const calls: string[] = [];
  for (const m of header.matchAll(/^u32 (\w+)\((\w+)\s*\*\s*\w*((?:,\s*u32\s*\w*)*)\);/gm)) {
    const name = exportPrefix.exec(m[1])?.[1];
    if (!name || m[2] !== type) continue;
    const n = m[3] ? m[3].split(',').length - 1 : 0;
    const args = Array.from({ length: n }, (_, i) => `, (u32)a[${i}]`).join('');
    calls.push(`  if (strcmp(name, "${name}") == 0) { if (n != ${n}) return -2; *out = (int32_t)${m[1]}(&instance${args}); return 0; }`);
  }
  if (calls.length === 0) throw new Error('wasm2c header: no numeric export found');
  return [
    '#include <stdint.h>',
    '#include <string.h>',
    `#include "${moduleName}.h"`,
    `static ${type} instance;`,
    'static int live = 0;',
    '/* a fresh instance (the previous one freed) */',
    'int poswipe_new(void) {',
    `  if (live) ${free}(&instance); else { wasm_rt_init();${initModule} }`,
    `  ${prefix}_instantiate(&instance);`,
    '  live = 1;',
    '  return 0;',
    '}',
    '/* calls the export `name` with n numbers: 0, -1 unknown export, -2 wrong argument count */',
    'int poswipe_call(const char *name, const int32_t *a, int n, int32_t *out) {',
    ...calls,
    '  return -1;',
    '}',
    '',
  ].join('\n');
}

/** Translates `modulePath` with wasm2c and builds it with cc into a shared library in a fresh temporary folder. */
export function buildWasm2c(modulePath: string): Wasm2cBuild {
  const w2c = tool('wasm2c', ['--version']);
  if (!w2c.ok) return { available: false, reason: `wasm2c not found (Debian package wabt): ${w2c.out.split('\n')[0]}` };
  const cc = tool('cc', ['--version']);
  if (!cc.ok) return { available: false, reason: `no C compiler (cc): ${cc.out.split('\n')[0]}` };
  const rt = RUNTIME_DIRS.find((d) => existsSync(path.join(d, 'wasm-rt-impl.c')));
  if (!rt) return { available: false, reason: `the wasm2c runtime sources (wasm-rt-impl.c) are not in ${RUNTIME_DIRS.join(', ')}` };
  const dir = mkdtempSync(path.join(tmpdir(), 'poswipe-wasm2c-'));
  const name = 'sc';
  const t = tool('wasm2c', [modulePath, '-n', name, '-o', path.join(dir, `${name}.c`)]);
  if (!t.ok) throw new Error(`wasm2c could not translate ${modulePath}: ${t.out.split('\n')[0]}`);
  writeFileSync(path.join(dir, 'dispatch.c'), dispatcherSource(readFileSync(path.join(dir, `${name}.h`), 'utf8'), name));
  const library = path.join(dir, `${name}.so`);
  const b = tool('cc', [
    '-O1',
    '-shared',
    '-fPIC',
    '-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0',
    `-I${rt}`,
    `-I${dir}`,
    path.join(dir, `${name}.c`),
    path.join(dir, 'dispatch.c'),
    path.join(rt, 'wasm-rt-impl.c'),
    '-lm',
    '-o',
    library,
  ]);
  if (!b.ok) throw new Error(`cc could not build the wasm2c translation: ${b.out.split('\n').slice(0, 3).join(' | ')}`);
  return { available: true, library, version: `wasm2c ${w2c.out.split('\n')[0]}, ${cc.out.split('\n')[0]}` };
}
