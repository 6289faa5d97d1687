/**
 * Loading, checking and running the engine module (build/terminal.wasm or build/debug.wasm)
 * on the host side.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../files/package-root';
import { ABI_VERSION, JOB_MAX, RESULT_MAX, RESULT_HEADER_SIZE, RES_OFF_BLOCKS, decodeResult, resultSize, type ResultTable } from './abi';

export type EngineBuild = 'terminal' | 'debug';

// The parts of the WebAssembly JS API used here, typed locally: the repo compiles without the DOM
// lib, which is where TypeScript declares the WebAssembly namespace.
export type WasmExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag';
export interface WasmModule {
  readonly __wasmModule?: never;
}
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
export interface WasmGlobal {
  value: unknown;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export type WasmImports = Record<string, Record<string, unknown>>;
export interface WasmApi {
  Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): { module: string; name: string; kind: WasmExternKind }[];
    exports(module: WasmModule): { name: string; kind: WasmExternKind }[];
  };
  Instance: new (module: WasmModule, imports?: WasmImports) => WasmInstance;
  Global: new (descriptor: { value: string; mutable?: boolean }, value?: unknown) => WasmGlobal;
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}
/** The runtime's WebAssembly object. */
export const wasm: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The imports an engine module may have, all from module "hal". */
export const HAL_IMPORTS: readonly string[] = ['erase', 'read', 'program', 'event'];

/** The exports docs/abi.md requires, with their kinds. */
export const ENGINE_EXPORTS: Readonly<Record<string, WasmExternKind>> = {
  memory: 'memory',
  ABI_VERSION: 'global',
  JOB: 'global',
  RESULT: 'global',
  JOB_MAX: 'global',
  RESULT_MAX: 'global',
  run: 'function',
};

// the package root is found in one place (host/fs/package-root.ts); re-exported for the modules that load build output
export { packageRoot };

/** Path of build/<which>.wasm. */
export function enginePath(which: EngineBuild = 'terminal'): string {
  return path.join(packageRoot(), 'build', `${which}.wasm`);
}

/** Reads the engine module bytes; throws with a hint when it has not been built. */
export function loadEngineModule(which: EngineBuild = 'terminal'): Uint8Array {
  if (which !== 'terminal' && which !== 'debug') throw new Error(`unknown engine build '${String(which)}'`);
  const file = enginePath(which);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`engine module ${file} not found (run \`npm run build:engine\`): ${(err as Error).message}`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

export interface EngineModuleInfo {
  module: WasmModule;
  abiVersion: number;
  job: number;
  result: number;
  jobMax: number;
  resultMax: number;
}

function globalValue(instance: WasmInstance, name: string): number | undefined {
  const g = instance.exports[name];
  return g instanceof wasm.Global ? Number(g.value) : undefined;
}

/** Stub functions for every function import, so any module can be instantiated for inspection. */
function stubImports(module: WasmModule): WasmImports | null {
  const imports: Record<string, Record<string, unknown>> = {};
  for (const imp of wasm.Module.imports(module)) {
    if (imp.kind !== 'function') return null;
    (imports[imp.module] ??= {})[imp.name] = () => 0;
  }
  return imports;
}

/**
 * Checks that `bytes` is an engine module this host can drive: it compiles, its ABI_VERSION is
 * ours, it imports only hal.erase/read/program/event and exports what docs/abi.md lists, with
 * job and result areas inside its memory. Throws an Error saying what is wrong.
 */
export function checkModuleAbi(bytes: Uint8Array): EngineModuleInfo {
  let module: WasmModule;
  try {
    module = new wasm.Module(bytes);
  } catch (err) {
    throw new Error(`engine module does not compile: ${(err as Error).message}`);
  }

  // The version first: a module for another ABI may well import or export other things.
  const exportList = wasm.Module.exports(module);
  const exportKind = new Map(exportList.map((e) => [e.name, e.kind]));
  if (exportKind.get('ABI_VERSION') !== 'global') throw new Error('engine module exports no ABI_VERSION global');
  const stubs = stubImports(module);
  let instance: WasmInstance | undefined;
  if (stubs) {
    try {
      instance = new wasm.Instance(module, stubs);
    } catch {
      instance = undefined;
    }
  }
  if (instance) {
    const version = globalValue(instance, 'ABI_VERSION');
    if (version !== ABI_VERSION) throw new Error(`engine module ABI version ${version}, host speaks ${ABI_VERSION}`);
  }

  const extra = wasm.Module.imports(module).filter((imp) => imp.module !== 'hal' || !HAL_IMPORTS.includes(imp.name) || imp.kind !== 'function');
  if (extra.length > 0) {
    const list = extra.map((imp) => `${imp.module}.${imp.name} (${imp.kind})`).join(', ');
    throw new Error(`engine module imports ${list}; only hal.${HAL_IMPORTS.join(', hal.')} are allowed`);
  }
  for (const [name, kind] of Object.entries(ENGINE_EXPORTS)) {
    const got = exportKind.get(name);
    if (got !== kind) {
      throw new Error(`engine module ${got ? `exports ${name} as a ${got}` : `lacks the export ${name}`}, expected a ${kind}`);
    }
  }
  if (!instance) throw new Error('engine module does not instantiate with a stub HAL');

  const info: EngineModuleInfo = {
    module,
    abiVersion: ABI_VERSION,
    job: globalValue(instance, 'JOB')!,
    result: globalValue(instance, 'RESULT')!,
    jobMax: globalValue(instance, 'JOB_MAX')!,
    resultMax: globalValue(instance, 'RESULT_MAX')!,
  };
  if (info.jobMax < JOB_MAX) throw new Error(`engine module job area is ${info.jobMax} bytes, ABI needs ${JOB_MAX}`);
  if (info.resultMax < RESULT_MAX) {
    throw new Error(`engine module result area is ${info.resultMax} bytes, ABI needs ${RESULT_MAX}`);
  }
  const memorySize = (instance.exports.memory as WasmMemory).buffer.byteLength;
  const areas = [
    ['job', info.job, info.jobMax],
    ['result', info.result, info.resultMax],
  ] as const;
  for (const [name, at, size] of areas) {
    if (at < 0 || at + size > memorySize) {
      throw new Error(`engine module ${name} area ${at}+${size} lies outside its ${memorySize}-byte memory`);
    }
  }
  if (info.job < info.result + info.resultMax && info.result < info.job + info.jobMax) {
    throw new Error('engine module job and result areas overlap');
  }
  return info;
}

/**
 * The HAL as JavaScript sees it. Addresses arrive as unsigned numbers; `dst`/`src` are views of
 * the module's memory, valid only during the call. Return 0 for success, anything else is a HAL
 * status the engine reports. Exceptions propagate out of `run`.
 */
export interface EngineHal {
  erase(address: number, size: number): number;
  read(address: number, dst: Uint8Array): number;
  program(address: number, src: Uint8Array): number;
  event?(kind: number, index: number): void;
}

export interface EngineInstance {
  instance: WasmInstance;
  memory: WasmMemory;
  job: number;
  result: number;
  /** Writes the encoded job, runs it and returns the status and the decoded result table. */
  runJob(job: Uint8Array): { status: number; result: ResultTable; raw: Uint8Array };
}

/** Instantiates an engine module (bytes or compiled) over a JavaScript HAL. */
export function instantiateEngine(moduleOrBytes: Uint8Array | WasmModule, hal: EngineHal): EngineInstance {
  const module = moduleOrBytes instanceof wasm.Module ? moduleOrBytes : new wasm.Module(moduleOrBytes);
  let memory: WasmMemory | undefined;
  const view = (ptr: number, len: number) => new Uint8Array(memory!.buffer, ptr >>> 0, len >>> 0);
  const imports = {
    hal: {
      erase: (addr: number, size: number) => hal.erase(addr >>> 0, size >>> 0) | 0,
      read: (addr: number, dst: number, len: number) => hal.read(addr >>> 0, view(dst, len)) | 0,
      program: (addr: number, src: number, len: number) => hal.program(addr >>> 0, view(src, len)) | 0,
      event: (kind: number, index: number) => hal.event?.(kind, index >>> 0),
    },
  };
  const instance = new wasm.Instance(module, imports);
  memory = instance.exports.memory as WasmMemory;
  const job = Number((instance.exports.JOB as WasmGlobal).value);
  const result = Number((instance.exports.RESULT as WasmGlobal).value);
  const jobMax = Number((instance.exports.JOB_MAX as WasmGlobal).value);
  const resultMax = Number((instance.exports.RESULT_MAX as WasmGlobal).value);
  const run = instance.exports.run as () => number;
  return {
    instance,
    memory,
    job,
    result,
    runJob(jobBytes: Uint8Array) {
      if (jobBytes.length > jobMax) throw new Error(`job of ${jobBytes.length} bytes exceeds JOB_MAX ${jobMax}`);
      new Uint8Array(memory!.buffer, job, jobBytes.length).set(jobBytes);
      const status = run() >>> 0;
      const header = new DataView(memory!.buffer, result, RESULT_HEADER_SIZE);
      const blocks = Math.min(header.getUint32(RES_OFF_BLOCKS, true), 0xffff);
      const size = Math.min(resultSize(blocks), resultMax);
      const raw = new Uint8Array(memory!.buffer.slice(result, result + size));
      return { status, result: decodeResult(raw), raw };
    },
  };
}
