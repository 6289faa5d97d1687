/**
 * What the engine costs a terminal before it runs: the bytes of build/terminal.wasm (they cross
 * the 115200-baud line and sit in RAM) and the RAM the agent occupies — the board's three agent
 * areas (module, job, result) plus the module's Wasm linear memory.
 */
import * as fs from 'node:fs';
import { loadBoard } from '../host/boards/load';
import { enginePath, wasm, type WasmMemory } from '../host/engine/module';
import { hostWasmPath } from './kernels';

export interface Footprint {
  moduleBytes: number;
  hostModuleBytes: number | null;
  agentRamBytes: number;
  agentRam: {
    board: string;
    moduleArea: number;
    jobArea: number;
    resultArea: number;
    wasmMemoryPages: number;
    wasmMemoryBytes: number;
    /** the board file's own figure for the runtime besides the areas (Wasm memory and stack) */
    boardRuntimeBytes: number;
    /** RAM the bootloader leaves free on that board */
    boardFreeRamBytes: number;
  };
}

/** Initial pages of the module's memory (a stub instance: the engine's memory is fixed at one page). */
function memoryPages(bytes: Uint8Array): number {
  const module = new wasm.Module(bytes);
  const imports: Record<string, Record<string, unknown>> = {};
  for (const imp of wasm.Module.imports(module)) (imports[imp.module] ??= {})[imp.name] = () => 0;
  const instance = new wasm.Instance(module, imports);
  return (instance.exports.memory as WasmMemory).buffer.byteLength / 65536;
}

export function measureFootprint(boardId = 'stm32f407'): Footprint {
  const terminal = new Uint8Array(fs.readFileSync(enginePath('terminal')));
  const host = fs.existsSync(hostWasmPath()) ? fs.statSync(hostWasmPath()).size : null;
  const board = loadBoard(boardId);
  if (!board.agent) throw new Error(`board ${boardId} has no agent section`);
  const pages = memoryPages(terminal);
  const a = board.agent;
  const wasmMemoryBytes = pages * 65536;
  return {
    moduleBytes: terminal.length,
    hostModuleBytes: host,
    agentRamBytes: a.moduleMax + a.jobMax + a.resultMax + wasmMemoryBytes,
    agentRam: {
      board: board.id,
      moduleArea: a.moduleMax,
      jobArea: a.jobMax,
      resultArea: a.resultMax,
      wasmMemoryPages: pages,
      wasmMemoryBytes,
      boardRuntimeBytes: a.ramBytes,
      boardFreeRamBytes: board.ram.base + board.ram.size - board.ram.freeFrom,
    },
  };
}
