import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as hostAbi from '../host/engine/abi';
import { ROOT } from './helpers';

/**
 * The engine's constants (assembly/abi.ts, compiled into the module) and the host's
 * (host/engine/abi.ts) are one ABI written in two languages: every `export const NAME: u32 = expr`
 * of the engine side is evaluated here and must equal the host's export of the same name.
 */
function engineConstants(): Map<string, number> {
  const text = readFileSync(join(ROOT, 'assembly', 'abi.ts'), 'utf8');
  const found = new Map<string, number>();
  for (const m of text.matchAll(/export const (\w+): u32 =\s*([^;]+);/g)) {
    const expr = m[2].replace(/\/\/.*$/gm, '').trim();
    const names = [...found.keys()];
    // the expressions are integer arithmetic over earlier constants; >>> 0 keeps them u32 as AssemblyScript does
    const value = new Function(...names, `return (${expr}) >>> 0;`)(...names.map((n) => found.get(n))) as number;
    found.set(m[1], value);
  }
  return found;
}

test('ABI: every engine-side constant has the same value on the host', () => {
  const engine = engineConstants();
  assert.ok(engine.size >= 40, `parsed only ${engine.size} constants from assembly/abi.ts`);
  const host = hostAbi as unknown as Record<string, unknown>;
  for (const [name, value] of engine) {
    assert.equal(typeof host[name], 'number', `host/engine/abi.ts has no constant ${name}`);
    assert.equal(host[name], value, `${name}: engine ${value}, host ${String(host[name])}`);
  }
});

test('ABI: the result-table size is one formula (resultSize) that reaches RESULT_MAX at MAX_BLOCKS', () => {
  assert.equal(hostAbi.resultSize(hostAbi.MAX_BLOCKS), hostAbi.RESULT_MAX);
  assert.equal(hostAbi.resultSize(1), hostAbi.RESULT_HEADER_SIZE + 4 + hostAbi.DIGEST_SIZE);
  assert.equal(hostAbi.resultSize(33), hostAbi.RESULT_HEADER_SIZE + 8 + 33 * hostAbi.DIGEST_SIZE);
});
