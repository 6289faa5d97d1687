/**
 * What the engine costs a terminal before it runs: the bytes of build/terminal.wasm (the agent
 * carries it, translated to C) and the RAM the agent occupies: from its link address to its RAM
 * end (image, parameter block, the module's Wasm linear memory, stack), from agent/manifest.json.
 */
import * as fs from 'node:fs';
import { agentCatalog } from '../host/agent/manifest';
import { loadBoard } from '../host/boards/load';
import { enginePath, wasm, type WasmMemory } from '../host/engine/module';
import { hostWasmPath } from './kernels';

export interface Footprint {
  moduleBytes: number;
  hostModuleBytes: number | null;
  agentRamBytes: number;
  agentRam: {
    board: string;
    /** the agent kind and its binary's size (the bytes Write Memory sends) */
    kind: string;
    imageBytes: number;
    wasmMemoryPages: number;
    wasmMemoryBytes: number;
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
  const kind = board.agent.binary;
  const a = agentCatalog().find((e) => e.kind === kind);
  if (!a) throw new Error(`no agent of kind ${kind} in agent/manifest.json`);
  const wasmMemoryBytes = pages * 65536;
  return {
    moduleBytes: terminal.length,
    hostModuleBytes: host,
    agentRamBytes: a.ramEnd - a.load,
    agentRam: {
      board: board.id,
      kind,
      imageBytes: a.size,
      wasmMemoryPages: pages,
      wasmMemoryBytes,
      boardFreeRamBytes: board.ram.base + board.ram.size - board.ram.freeFrom,
    },
  };
}
