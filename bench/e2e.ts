/**
 * End to end on the emulated terminal (virtual clock, 115200 baud, 8E1 = 11 bits a byte, the
 * board's typical erase times): emulated seconds and bytes on the line for
 *   (a) ours: eraseTerminal, method clear, full verification by on-terminal digests;
 *   (b) the bootloader's Extended Erase of every sector, then reading the whole flash back
 *       (what stm32flash -v and most flashers do);
 *   (c) the same erase, then Get Checksum (0xA1) per 4 KiB block, where the bootloader has it;
 * and the physical floor: the sectors' typical erase times plus the line time of the bytes that
 * cannot be avoided (the module, the jobs, 32 bytes of digest per block).
 */
import * as path from 'node:path';
import { eraseTimeFor, loadBoard, sectorsOf } from '../host/boards/load';
import type { Board } from '../host/boards/types';
import { jobSize } from '../host/engine/abi';
import { loadEngineModule, packageRoot } from '../host/engine/module';
import { agentOfKind, loadAgentManifest } from '../host/agent/manifest';
import { FAST_CLOCK_HZ } from '../host/agent/clocks';
import type { EmulationChoice } from '../host/emulator/runners';
import { EmulatedTerminal } from '../host/emulator/terminal';
import { planErase } from '../host/plan/erase-plan';
import { BootloaderClient } from '../host/protocol/client';
import { stm32Crc32 } from '../host/protocol/frames';
import { eraseTerminal } from '../host/session/erase';
import { EmulatedTransport } from '../host/transport/emulated';
import { secondsAsync } from './stats';

const BLOCK = 4096;
const BAUD = 115200;
const BITS_PER_BYTE = 11;

export interface Floor {
  eraseS: number;
  /** the agent binary uploaded (the Wasm module rides inside it) */
  moduleBytes: number;
  jobBytes: number;
  digestBytes: number;
  lineS: number;
  totalS: number;
}

export interface BoardE2e {
  flashBytes: number;
  oursS: number;
  oursBytes: number;
  /** which emulation ran (a): 'instruction' charges the agent's computation, 'model' does not */
  emulation: string;
  /** (a) with the agent's core clock raised by CLOCK before the jobs (instruction level only) */
  oursFastClock: { hz: number; s: number } | null;
  /** terminal seconds spent computing in (a): its time less the same run on the model */
  computeS: number;
  readbackS: number;
  readbackBytes: number;
  checksumS: number | null;
  checksumBytes: number | null;
  /** the board file the checksum path ran on (a test board whose bootloader has Get Checksum) */
  checksumBoard: string | null;
  floorS: number;
  floor: Floor;
  /** each path over the floor */
  ratios: { ours: number; readback: number; checksum: number | null };
  /** (b) / (a): how much faster on-terminal digests are than reading back */
  readbackOverOurs: number;
  /** real seconds the in-process emulated erase (a) took (the CLI's own figure is realS) */
  inProcessS: number;
  /** filled in by the CLI timing */
  realS: number | null;
}

/** A boards/ id, or a file under tests/fixtures/boards/good/. */
function boardFile(name: string): Board {
  return loadBoard(name.endsWith('.json') ? path.join(packageRoot(), 'tests', 'fixtures', 'boards', 'good', name) : name);
}

function emulated(board: Board, emulation: EmulationChoice = 'auto'): { terminal: EmulatedTerminal; transport: EmulatedTransport } {
  const terminal = new EmulatedTerminal(board, { seed: 1, emulation });
  return { terminal, transport: new EmulatedTransport(terminal) };
}

const wireBytes = (t: EmulatedTransport) => t.stats().bytesTx + t.stats().bytesRx;

export function floorOf(board: Board, moduleBytes: number): Floor {
  const plan = planErase(board, { blockSize: BLOCK });
  const eraseS = plan.sectors.reduce((s, x) => s + eraseTimeFor(board, x.size).typicalMs, 0) / 1000;
  const jobBytes = plan.jobs.reduce((n, j) => n + jobSize(j.erase.length, j.hash.length, 0), 0);
  const digestBytes = 32 * plan.blocks.length;
  const lineS = ((moduleBytes + jobBytes + digestBytes) * BITS_PER_BYTE) / BAUD;
  return { eraseS, moduleBytes, jobBytes, digestBytes, lineS, totalS: eraseS + lineS };
}

/**
 * (a) our erase: method clear, full verification, on the terminal's default emulation
 * (instruction level where Unicorn loads: the agent's computation is charged), optionally with the
 * agent asked to raise its core clock (`clockHz`), or on the model (no computation charged).
 */
async function ours(
  board: Board,
  module: Uint8Array,
  o: { emulation?: EmulationChoice; clockHz?: number } = {},
): Promise<{ s: number; bytes: number; realS: number; emulation: string }> {
  const { terminal, transport } = emulated(board, o.emulation);
  let verified = false;
  const realS = await secondsAsync(async () => {
    const outcome = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module, agentClockHz: o.clockHz });
    verified = outcome.verified;
  });
  if (!verified) throw new Error(`bench: our erase of an emulated ${board.id} did not verify`);
  return { s: transport.terminalTime(), bytes: wireBytes(transport), realS, emulation: terminal.emulation };
}

/** Sync, Get, then Extended Erase of every sector: the start of (b) and (c). */
async function bootloaderErase(board: Board): Promise<{ transport: EmulatedTransport; client: BootloaderClient }> {
  const { transport } = emulated(board);
  const client = new BootloaderClient(transport);
  await client.sync();
  await client.get();
  const sectors = sectorsOf(board);
  const worstMs = Math.max(...sectors.map((s) => eraseTimeFor(board, s.size).maxMs));
  await client.erasePages(
    sectors.map((s) => s.index),
    worstMs,
  );
  return { transport, client };
}

/** (b) bootloader erase, then every byte read back and compared. */
async function readback(board: Board): Promise<{ s: number; bytes: number }> {
  const { transport, client } = await bootloaderErase(board);
  const bytes = await client.readMemory(board.flash.base, board.flash.size);
  if (!bytes.every((b) => b === board.flash.erasedValue)) throw new Error(`bench: read-back of an erased ${board.id} is not blank`);
  return { s: transport.terminalTime(), bytes: wireBytes(transport) };
}

/** (c) bootloader erase, then one Get Checksum per block compared with the CRC of a blank block. */
async function checksum(board: Board): Promise<{ s: number; bytes: number }> {
  const { transport, client } = await bootloaderErase(board);
  const blank = stm32Crc32(new Uint8Array(BLOCK).fill(board.flash.erasedValue));
  for (let a = board.flash.base; a < board.flash.base + board.flash.size; a += BLOCK) {
    const crc = await client.getChecksum(a, BLOCK);
    if (crc !== blank) throw new Error(`bench: Get Checksum of erased block 0x${a.toString(16)} is not the blank CRC`);
  }
  return { s: transport.terminalTime(), bytes: wireBytes(transport) };
}

/** `checksumBoard`: a board file with the same flash whose bootloader offers Get Checksum, or null. */
export async function measureBoard(boardId: string, checksumBoard: string | null): Promise<BoardE2e> {
  const board = boardFile(boardId);
  const module = loadEngineModule('terminal');
  const agentBytes = board.agent ? agentOfKind(loadAgentManifest(), board.agent.binary).size : module.length;
  const floor = floorOf(board, agentBytes);
  const a = await ours(board, module);
  const fastHz = board.agent ? FAST_CLOCK_HZ[board.agent.binary] : undefined;
  const fast = a.emulation === 'instruction' && fastHz ? await ours(board, module, { clockHz: fastHz }) : null;
  const model = a.emulation === 'instruction' ? await ours(board, module, { emulation: 'model' }) : a;
  const b = await readback(board);
  let c: { s: number; bytes: number } | null = null;
  if (checksumBoard) {
    const cb = boardFile(checksumBoard);
    if (!cb.bootloader.getChecksum) throw new Error(`bench: ${checksumBoard} has no Get Checksum`);
    if (cb.flash.size !== board.flash.size) throw new Error(`bench: ${checksumBoard} does not have ${board.id}'s flash`);
    c = await checksum(cb);
  }
  return {
    flashBytes: board.flash.size,
    oursS: a.s,
    oursBytes: a.bytes,
    emulation: a.emulation,
    oursFastClock: fast ? { hz: fastHz!, s: fast.s } : null,
    computeS: a.s - model.s,
    readbackS: b.s,
    readbackBytes: b.bytes,
    checksumS: c ? c.s : null,
    checksumBytes: c ? c.bytes : null,
    checksumBoard: c ? path.basename(checksumBoard!, '.json') : null,
    floorS: floor.totalS,
    floor,
    ratios: { ours: a.s / floor.totalS, readback: b.s / floor.totalS, checksum: c ? c.s / floor.totalS : null },
    readbackOverOurs: b.s / a.s,
    inProcessS: a.realS,
    realS: null,
  };
}
