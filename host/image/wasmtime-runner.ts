/**
 * Child process of the conformance check (host/image/conformance.ts): runs the self-contained
 * engine in wasmtime through the npm binding, which can only instantiate an import-free module
 * and call exports with numbers. Reads a WasmtimeRequest as JSON on stdin, writes a
 * WasmtimeResponse as JSON on stdout. It runs apart from the caller because the binding aborts
 * the whole process (a Rust panic) on errors such as a module that does not compile.
 *
 * A binding that cannot be loaded on this platform is answered `{ available: false, reason }`,
 * exit 0: the caller reports the runtime as skipped. Any other failure exits non-zero.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runNumeric, type JobOutput, type WasmtimeRequest, type WasmtimeResponse } from './conformance';

interface WasmtimeBinding {
  Engine: { default(): unknown };
  Module: { fromFile(engine: unknown, path: string): unknown };
  Store: new (engine: unknown) => unknown;
  Instance: new (store: unknown, module: unknown) => { getFunc(store: unknown, name: string): { call(store: unknown, args: number[]): number } | null };
}

function answer(r: WasmtimeResponse): void {
  process.stdout.write(JSON.stringify(r));
}

function main(): void {
  const request = JSON.parse(readFileSync(0, 'utf8')) as WasmtimeRequest;
  let binding: WasmtimeBinding;
  let version = 'unknown';
  try {
    binding = require(request.package) as WasmtimeBinding;
    if (typeof binding?.Engine?.default !== 'function' || typeof binding?.Module?.fromFile !== 'function') {
      throw new Error(`package "${request.package}" is not the wasmtime binding this check drives (Engine.default, Module.fromFile)`);
    }
  } catch (err) {
    answer({ available: false, reason: `the wasmtime binding does not load on ${process.platform}-${process.arch}: ${(err as Error).message.split('\n')[0]}` });
    return;
  }
  try {
    const pkgJson = require.resolve(path.join(request.package, 'package.json'));
    version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version ?? version;
  } catch {
    // the version is only for the report
  }
  const engine = binding.Engine.default();
  const module = binding.Module.fromFile(engine, request.modulePath);
  const results: JobOutput[][] = [];
  for (const c of request.cases) {
    // a fresh store and instance per case, as V8 gets a fresh instance
    const store = new binding.Store(engine);
    const instance = new binding.Instance(store, module);
    const funcs = new Map<string, { call(store: unknown, args: number[]): number }>();
    const call = (name: string, args: number[]): number => {
      let f = funcs.get(name);
      if (!f) {
        const got = instance.getFunc(store, name);
        if (!got) throw new Error(`self-contained module lacks the export ${name}`);
        funcs.set(name, (f = got));
      }
      return f.call(store, args);
    };
    results.push(
      runNumeric(
        call,
        c.setup,
        c.jobs.map((h) => new Uint8Array(Buffer.from(h, 'hex'))),
      ),
    );
  }
  answer({ available: true, version: `npm wasmtime@${version}`, results });
}

try {
  main();
} catch (err) {
  process.stderr.write(`wasmtime runner: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
