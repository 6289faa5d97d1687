// `npm run test:engine`: compiles each AssemblyScript spec (assembly/__tests__/*.spec.ts) together
// with the small test API in assembly/__tests__/harness/ and runs every registered test in node:test,
// each in a fresh instance of the module. Replaces as-pect, whose transform's peer dependencies
// (assemblyscript ^0.25 and ^0.27 at once) cannot be installed next to assemblyscript 0.28 without
// --legacy-peer-deps. A spec that runs the engine gets its `hal` imports from the spec module itself:
// each HAL call is forwarded to the spec's exported mock (mockErase, mockRead, ...), so the mock flash
// lives in the module's own memory.
import asc from 'assemblyscript/asc';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const specDir = path.join(root, 'assembly', '__tests__');
const harness = path.join(specDir, 'harness', 'index.ts');
const only = process.argv.slice(2);
const specs = readdirSync(specDir)
  .filter((f) => f.endsWith('.spec.ts') && (only.length === 0 || only.includes(f)))
  .sort();
if (specs.length === 0) throw new Error(`no spec in ${path.relative(root, specDir)} matches ${only.join(' ') || '*.spec.ts'}`);

async function compile(spec) {
  let binary = null;
  const stderr = [];
  const { error } = await asc.main(
    [path.relative(root, harness), path.relative(root, path.join(specDir, spec)), '--outFile', 'spec.wasm', '--debug', '--exportRuntime', '--baseDir', root],
    {
      stdout: { write: () => true },
      stderr: {
        write: (s) => {
          stderr.push(String(s));
          return true;
        },
      },
      writeFile: (name, contents) => {
        if (name.endsWith('.wasm')) binary = contents;
      },
    },
  );
  if (error) throw new Error(`${spec} does not compile: ${error.message}\n${stderr.join('')}`);
  if (!binary) throw new Error(`${spec}: the compiler wrote no module`);
  return new WebAssembly.Module(binary);
}

/** An AssemblyScript string: UTF-16 code units, their byte length stored just before the pointer. */
function readString(memory, ptr) {
  if (ptr === 0) return 'null';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
}

function instantiate(module) {
  let exports = null;
  let failure = null;
  const forward =
    (name) =>
    (...args) => {
      const fn = exports && exports[name];
      if (typeof fn !== 'function') throw new Error(`spec module does not export ${name} for the hal import`);
      return fn(...args);
    };
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort: (msg, file, line, col) => {
        throw new Error(`abort: ${readString(exports.memory, msg)} at ${readString(exports.memory, file)}:${line}:${col}`);
      },
      seed: () => Date.now(),
      trace: () => {},
    },
    hal: { erase: forward('mockErase'), read: forward('mockRead'), program: forward('mockProgram'), event: forward('mockEvent') },
    harness: {
      fail: (actual, expected, message) => {
        const why = readString(exports.memory, message);
        failure = `${why ? `${why}: ` : ''}expected ${readString(exports.memory, expected)}, got ${readString(exports.memory, actual)}`;
      },
    },
  });
  exports = instance.exports;
  return { exports, failure: () => failure };
}

// every spec compiles before any test runs: a compile error ends the run with no test reported
const modules = [];
for (const spec of specs) modules.push({ spec, module: await compile(spec) });
for (const { spec, module } of modules) {
  const first = instantiate(module).exports;
  const count = first.__testCount();
  if (count === 0) throw new Error(`${spec} registers no test`);
  for (let i = 0; i < count; i++) {
    test(`${spec}: ${readString(first.memory, first.__testName(i))}`, () => {
      const run = instantiate(module);
      try {
        run.exports.__runTest(i);
      } catch (err) {
        throw new Error(run.failure() ?? err.message);
      }
      if (run.failure()) throw new Error(run.failure());
    });
  }
}
