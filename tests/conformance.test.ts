// Two runtimes, same digests: the engine's jobs for every shipped board's erase plan and every
// method, run in V8 (terminal module over a JavaScript HAL, and the self-contained build) and in
// wasmtime (self-contained build, npm binding), compared block by block with node:crypto. The
// plans are the boards' real ones, whole flash (2 MiB at most); the run takes about 2 s.
// If the wasmtime binding cannot load here, the wasmtime tests are SKIPPED with the reason. The same
// bytes also run as wabt's wasm2c translated them and cc built them; without wasm2c or cc those
// tests are skipped, except under POSWIPE_REQUIRE_ALL=1 (CI), where they must run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listBoards, loadBoard } from '../host/boards/load';
import { loadEngineModule, wasm } from '../host/engine/module';
import { VerificationError } from '../host/errors';
import { buildImage } from '../host/image/build';
import {
  CONFORMANCE_NONCE,
  boardCase,
  describeConformance,
  expectedOutputs,
  fixedImage,
  runConformance,
  selfContainedPath,
  type ConformanceCase,
  type ConformanceReport,
} from '../host/image/conformance';
import { vectorCase } from '../host/image/vectors';
import { toolSkip } from './helpers';
import { METHODS } from '../host/plan/methods';

const boards = listBoards();
const allCases: ConformanceCase[] = boards.flatMap((b) => METHODS.map((m) => boardCase(b, m)));

const f407 = loadBoard('stm32f407');
const otherNonce = new Uint8Array(32).fill(0xa5);

let full: ConformanceReport | null = null;
function fullReport(): ConformanceReport {
  return (full ??= runConformance(allCases));
}

function wasmtimeSkipReason(r: ConformanceReport): string | null {
  const s = r.skipped.find((x) => x.runtime === 'wasmtime:selfcontained');
  return s ? `wasmtime unavailable on this platform: ${s.reason}` : null;
}

test('the terminal module imports exactly hal.erase/read/program/event and stays within 8 KiB; the self-contained one imports nothing', () => {
  const terminal = loadEngineModule('terminal');
  const imports = wasm.Module.imports(new wasm.Module(terminal))
    .map((i) => `${i.module}.${i.name}:${i.kind}`)
    .sort();
  assert.deepEqual(imports, ['hal.erase:function', 'hal.event:function', 'hal.program:function', 'hal.read:function']);
  assert.ok(terminal.length <= 8192, `terminal module is ${terminal.length} bytes`);
  const sc = new Uint8Array(fs.readFileSync(selfContainedPath()));
  const module = new wasm.Module(sc);
  assert.deepEqual(wasm.Module.imports(module), []);
  const exports = wasm.Module.exports(module).map((e) => e.name);
  for (const name of ['abiVersion', 'jobMax', 'setup', 'setJobWord', 'run', 'resultWord', 'digestWord', 'blank', 'eventCount', 'flashWord']) {
    assert.ok(exports.includes(name), `self-contained module exports ${name}`);
  }
});

test('the self-contained flash image is the documented one (splitmix32(seed ^ address) per word)', () => {
  const inst = new wasm.Instance(new wasm.Module(new Uint8Array(fs.readFileSync(selfContainedPath()))), {});
  const ex = inst.exports as Record<string, (...a: number[]) => number>;
  assert.equal(ex.setup(0x08000000, 8192, 0xff, 1234), 0);
  const img = fixedImage(0x08000000, 8192, 1234);
  const view = new DataView(img.buffer);
  for (const o of [0, 4, 4092, 8188]) assert.equal(ex.flashWord(0x08000000 + o) >>> 0, view.getUint32(o, true));
  assert.equal(ex.setup(0x08000000, 6, 0xff, 1), 1, 'a size that is not a multiple of 4 is refused');
  assert.equal(ex.setup(0x08000000, 64 * 1024 * 1024, 0xff, 1), 2, 'a flash larger than the memory can grow to is refused');
});

test('every shipped board and method: V8 (terminal and self-contained) agrees with node:crypto on every block', () => {
  const r = fullReport();
  assert.ok(boards.length >= 7, `${boards.length} boards`);
  for (const name of ['v8:terminal', 'v8:selfcontained'] as const) {
    const o = r.runtimes.find((x) => x.runtime === name);
    assert.equal(o?.status, 'agree', `${name}: ${o?.detail}\n${describeConformance(r)}`);
  }
  assert.equal(r.cases, boards.length * METHODS.length);
  assert.ok(r.digests > 10000, `${r.digests} digests`);
  assert.deepEqual(r.mismatches, []);
});

test('every shipped board and method: wasmtime agrees with V8 and node:crypto on every block', (t) => {
  const r = fullReport();
  const skip = wasmtimeSkipReason(r);
  if (skip) return t.skip(skip);
  const o = r.runtimes.find((x) => x.runtime === 'wasmtime:selfcontained');
  assert.equal(o?.status, 'agree', describeConformance(r));
  assert.equal(r.ok, true);
  assert.deepEqual(
    r.skipped.filter((x) => x.runtime === 'wasmtime:selfcontained'),
    [],
  );
});

/** Why the wasm2c runtime did not run here (null when it ran); under POSWIPE_REQUIRE_ALL=1 a skip is a failure. */
function wasm2cSkip(r: ConformanceReport): string | false {
  const s = r.skipped.find((x) => x.runtime === 'wasm2c:selfcontained');
  return s ? toolSkip(`wasm2c unavailable here (apt-get install wabt gcc): ${s.reason}`) : false;
}

test('every shipped board and method: the wasm2c translation built with cc agrees with V8 and node:crypto on every block', (t) => {
  const r = fullReport();
  const skip = wasm2cSkip(r);
  if (skip) return t.skip(skip);
  const o = r.runtimes.find((x) => x.runtime === 'wasm2c:selfcontained');
  assert.equal(o?.status, 'agree', describeConformance(r));
  assert.match(o?.detail ?? '', /wasm2c .*cc|wasm2c .*gcc/);
});

test('the check fails loudly when the wasm2c translation is given a different nonce', (t) => {
  const r = runConformance([boardCase(f407, 'purge')], {
    runtimes: ['v8:selfcontained', 'wasm2c:selfcontained'],
    nonceOverride: { runtime: 'wasm2c:selfcontained', nonce: otherNonce },
  });
  const skip = wasm2cSkip(r);
  if (skip) return t.skip(skip);
  assert.equal(r.ok, false);
  assert.equal(r.runtimes.find((x) => x.runtime === 'wasm2c:selfcontained')?.status, 'mismatch');
  assert.equal(r.runtimes.find((x) => x.runtime === 'v8:selfcontained')?.status, 'agree');
  assert.ok(r.mismatches.length > 0 && r.mismatches.every((m) => m.runtime === 'wasm2c:selfcontained' && /digest/.test(m.what)));
});

test('without wasm2c on the PATH the wasm2c runtime is reported as skipped with the package to install, never as agreeing', () => {
  const saved = process.env.PATH;
  process.env.PATH = path.join(os.tmpdir(), 'poswipe-no-such-dir');
  let r: ConformanceReport;
  try {
    r = runConformance([boardCase(f407, 'clear')], { runtimes: ['wasm2c:selfcontained'] });
  } finally {
    process.env.PATH = saved;
  }
  assert.equal(r.runtimes[0].status, 'skipped');
  assert.match(r.skipped[0].reason, /wasm2c not found \(Debian package wabt\)/);
  assert.equal(r.ok, false, 'a skipped runtime alone is not a pass');
});

test('the check fails loudly when wasmtime is given a different nonce', (t) => {
  const r = runConformance([boardCase(f407, 'purge')], { nonceOverride: { runtime: 'wasmtime:selfcontained', nonce: otherNonce } });
  const skip = wasmtimeSkipReason(r);
  if (skip) return t.skip(skip);
  assert.equal(r.ok, false);
  assert.equal(r.runtimes.find((x) => x.runtime === 'wasmtime:selfcontained')?.status, 'mismatch');
  assert.equal(r.runtimes.find((x) => x.runtime === 'v8:selfcontained')?.status, 'agree');
  assert.ok(r.mismatches.length > 0 && r.mismatches.every((m) => m.runtime === 'wasmtime:selfcontained' && /digest/.test(m.what)));
  assert.match(describeConformance(r), /wasmtime:selfcontained: MISMATCH/);
});

test('the check fails when one V8 runtime is given a different nonce (runs on every platform)', () => {
  const r = runConformance([boardCase(f407, 'clear')], {
    runtimes: ['v8:terminal', 'v8:selfcontained'],
    nonceOverride: { runtime: 'v8:selfcontained', nonce: otherNonce },
  });
  assert.equal(r.ok, false);
  assert.equal(r.runtimes.find((x) => x.runtime === 'v8:terminal')?.status, 'agree');
  assert.equal(r.runtimes.find((x) => x.runtime === 'v8:selfcontained')?.status, 'mismatch');
});

test('a wasmtime binding that does not load is reported as skipped, never as agreeing', () => {
  const r = runConformance([boardCase(f407, 'clear')], { wasmtimePackage: 'wasmtime-binding-that-does-not-exist' });
  const o = r.runtimes.find((x) => x.runtime === 'wasmtime:selfcontained');
  assert.equal(o?.status, 'skipped');
  assert.match(r.skipped[0].reason, /does not load/);
  assert.match(describeConformance(r), /wasmtime:selfcontained: SKIPPED/);
  // with nothing else to run, a skipped runtime is not a pass
  const only = runConformance([boardCase(f407, 'clear')], { runtimes: ['wasmtime:selfcontained'], wasmtimePackage: 'wasmtime-binding-that-does-not-exist' });
  assert.equal(only.ok, false);
});

test('a wasmtime child that crashes fails the check', (t) => {
  if (wasmtimeSkipReason(fullReport())) return t.skip('wasmtime unavailable on this platform');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poswipe-conf-'));
  const garbage = path.join(dir, 'garbage.wasm');
  fs.writeFileSync(garbage, Buffer.from('not a wasm module'));
  const r = runConformance([boardCase(f407, 'clear')], { runtimes: ['wasmtime:selfcontained'], selfcontainedPath: garbage });
  assert.equal(r.ok, false);
  assert.equal(r.runtimes[0].status, 'error');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('build refuses to sign when a runtime disagrees', () => {
  const key = createPrivateKey(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  assert.throws(
    () =>
      buildImage({
        board: f407,
        method: 'clear',
        verify: 'full',
        key,
        conformance: { runtimes: ['v8:terminal', 'v8:selfcontained'], nonceOverride: { runtime: 'v8:terminal', nonce: otherNonce } },
      }),
    (err: unknown) => err instanceof VerificationError && /conformance check failed, nothing signed/.test(err.message),
  );
});

test('docs/conformance-vectors.json is what the vectors script produces, and the engine reproduces it', () => {
  const file = path.join(__dirname, '..', '..', 'docs', 'conformance-vectors.json');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    nonce: string;
    jobs: { label: string; job: string; expected: { digests: { digest: string }[] } }[];
  };
  assert.equal(doc.nonce, Buffer.from(CONFORMANCE_NONCE).toString('hex'));
  const c = vectorCase();
  const want = expectedOutputs(c);
  assert.deepEqual(
    doc.jobs.map((j) => j.label),
    c.jobs.map((j) => j.label),
  );
  doc.jobs.forEach((j, i) =>
    assert.deepEqual(
      j.expected.digests.map((d) => d.digest),
      want[i].digests,
      j.label,
    ),
  );
  const r = runConformance([c], { runtimes: ['v8:terminal', 'v8:selfcontained'] });
  assert.equal(r.ok, true, describeConformance(r));
});
