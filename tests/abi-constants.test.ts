import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as hostAbi from '../host/engine/abi';
import * as link from '../host/protocol/link';
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

/** `#define NAME value` and `NAME = value,` (enum members) of a C header, as numbers. */
function cConstants(file: string): Map<string, number> {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const found = new Map<string, number>();
  for (const m of text.matchAll(/^\s*#define (\w+) (0x[0-9a-fA-F]+|\d+)u?\s*$/gm)) found.set(m[1], Number(m[2]));
  for (const m of text.matchAll(/^\s*(\w+) = (0x[0-9a-fA-F]+|\d+),/gm)) found.set(m[1], Number(m[2]));
  return found;
}

test('link: the agent (agent/src/link.h) and the host (host/protocol/link.ts) frame with the same constants', () => {
  const c = cConstants('agent/src/link.h');
  const pairs: [string, number][] = [
    ['LINK_VERSION', link.LINK_VERSION],
    ['LINK_START', link.FRAME_START],
    ['LINK_MAX_PAYLOAD', link.MAX_PAYLOAD],
    ['LINK_DATA_CHUNK', link.DATA_CHUNK],
    ['LINK_HELLO_SIZE', link.HELLO_SIZE],
    ['LINK_HELLO_MAGIC', link.AGENT_MAGIC],
    ['LINK_HELLO_FLAG_CLOCK', link.HELLO_FLAG_CLOCK],
    ['LINK_READ_MAX', link.DATA_CHUNK],
  ];
  for (const [k, v] of Object.entries(link.REQ)) pairs.push([`LINK_REQ_${k}`, v]);
  for (const [k, v] of Object.entries(link.REPLY)) pairs.push([`LINK_REP_${k}`, v]);
  for (const [k, v] of Object.entries(link.LINK_ERROR)) pairs.push([`LINK_ERR_${k}`, v]);
  for (const [name, host] of pairs) assert.equal(c.get(name), host, `${name}: agent ${String(c.get(name))}, host ${host}`);
  assert.equal(c.get('LINK_HEADER_SIZE')! + c.get('LINK_CRC_SIZE')!, link.FRAME_OVERHEAD);
  assert.equal(link.MAX_PAYLOAD, hostAbi.JOB_MAX, 'a JOB frame carries at most one JOB_MAX job');
});
