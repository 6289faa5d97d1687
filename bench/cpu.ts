import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../host/files/package-root';
import CRC32 from 'crc-32';
import { loadBoard } from '../host/boards/load';
import { EmulatedTerminal } from '../host/emulator/terminal';
import type { TerminalOptions } from '../host/emulator/terminal';
import { Machine } from '../host/emulator/cpu/machine';
import type { GoOutcome } from '../host/emulator/part';
import { familyOf } from '../host/emulator/cpu/family';
import type { CpuKind } from '../host/emulator/cpu/family';
import {
  Cpu,
  UC_CPU_ARM_CORTEX_M4,
  UC_PROT_ALL,
  UC_PROT_READ,
  instructionLevelAvailable,
  instructionLevelUnavailableReason,
  ucArmR,
} from '../host/emulator/cpu/unicorn';

/**
 * The instruction-level terminal's bench: the real agent (agent/bin/f4.bin) on an emulated
 * STM32F407, driven over its framed link (docs/agent.md) with frames built here (`crc-32`):
 * a hash job over the whole 1 MiB, then an erase of every sector with the same hash. Reports
 * emulated instructions per second of wall time, wall and terminal (virtual) time of each job,
 * instructions per hashed byte and the share of terminal time spent computing.
 *
 *   npm run build && node build/bench/cpu.js
 *
 * Also the helpers the tests drive the agent with (parameter block, frames, jobs).
 */

const root = packageRoot();

export interface AgentBinary {
  image: Uint8Array;
  load: number;
  params: number;
}

export function agentBinary(kind: CpuKind): AgentBinary | null {
  const manifestPath = path.join(root, 'agent', 'manifest.json');
  if (!existsSync(manifestPath)) return null;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { agents: Array<{ kind: string; binary: string; load: string; params: string }> };
  const a = manifest.agents.find((x) => x.kind === kind);
  if (!a || !existsSync(path.join(root, a.binary))) return null;
  return { image: new Uint8Array(readFileSync(path.join(root, a.binary))), load: Number(a.load), params: Number(a.params) };
}

export const crc32 = (b: Uint8Array): number => CRC32.buf(b) >>> 0;

export const BOARD_OF_KIND: Record<CpuKind, string> = { f2: 'stm32f205', f4: 'stm32f407', l4: 'stm32l476' };

/**
 * The 56-byte parameter block, version 2 (docs/agent.md) for the family's line wiring, built by
 * hand (not with the link codec, which it checks). flashSize 0: the agent reads the part's size register.
 */
export function parameterBlock(kind: CpuKind, baud: number, idleMs = 0, flashSize = 0): Uint8Array {
  const board = loadBoard(BOARD_OF_KIND[kind]);
  const line = familyOf(board, kind).line;
  const b = new Uint8Array(56);
  const v = new DataView(b.buffer);
  const words = [
    0x42505750,
    2,
    baud,
    board.link!.resetClockHz,
    line.usart,
    line.usartEnable.register,
    line.usartEnable.mask,
    line.gpio,
    line.gpioEnable.register,
    line.gpioEnable.mask,
  ];
  words.forEach((x, i) => v.setUint32(4 * i, x >>> 0, true));
  b[40] = line.txPin;
  b[41] = line.rxPin;
  b[42] = line.af;
  v.setUint32(44, idleMs, true);
  v.setUint32(48, flashSize, true);
  v.setUint32(52, crc32(b.subarray(0, 52)), true);
  return b;
}

/** One frame of the link: 0xA5, type, sequence, u16 length, payload, CRC-32 of type..payload. */
export function frame(type: number, seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length + 4);
  out[0] = 0xa5;
  out[1] = type;
  out[2] = seq;
  out[3] = payload.length & 0xff;
  out[4] = payload.length >> 8;
  out.set(payload, 5);
  new DataView(out.buffer).setUint32(5 + payload.length, crc32(out.subarray(1, 5 + payload.length)), true);
  return out;
}

export interface Frame {
  type: number;
  seq: number;
  payload: Uint8Array;
}

/** Frames from what the part emits. Anything that is not a valid frame throws (a test wants to know). */
export class FrameReader {
  private buf: number[] = [];
  /** set when the runner has resolved: no more bytes will come */
  ended: GoOutcome | null = null;

  constructor(private readonly t: EmulatedTerminal) {}

  async next(ms = 5000): Promise<Frame> {
    const until = Date.now() + ms;
    for (;;) {
      const n = this.t.availableOutput();
      if (n) for (const b of this.t.takeOutput(n)) this.buf.push(b);
      if (this.buf.length > 0 && this.buf[0] !== 0xa5) throw new Error(`expected a frame start 0xA5, got 0x${this.buf[0].toString(16)}`);
      if (this.buf.length >= 5) {
        const len = this.buf[3] | (this.buf[4] << 8);
        if (this.buf.length >= 9 + len) {
          const bytes = Uint8Array.from(this.buf.splice(0, 9 + len));
          const want = new DataView(bytes.buffer).getUint32(5 + len, true);
          if (crc32(bytes.subarray(1, 5 + len)) !== want) throw new Error(`frame type 0x${bytes[1].toString(16)}: CRC wrong`);
          return { type: bytes[1], seq: bytes[2], payload: bytes.slice(5, 5 + len) };
        }
      }
      if (this.ended && this.t.availableOutput() === 0) throw new Error(`expected a frame, but the runner ended: ${JSON.stringify(this.ended)}`);
      if (Date.now() > until) throw new Error(`expected a frame within ${ms} ms, have ${this.buf.length} bytes`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

export interface Job {
  /** bit 0 PROGRAM, bit 1 ERASE, bit 2 HASH (docs/abi.md) */
  ops: number;
  erase: Array<[number, number]>;
  hash: Array<[number, number]>;
  nonce: Uint8Array;
  blockSize: number;
}

/** The engine job (docs/abi.md), without program ranges. */
export function jobBytes(j: Job): Uint8Array {
  const b = new Uint8Array(88 + 8 * (j.erase.length + j.hash.length));
  const v = new DataView(b.buffer);
  [0x424a5750, 1, j.ops, j.blockSize, 0xff, 0, 0, j.erase.length, j.hash.length, 0].forEach((x, i) => v.setUint32(4 * i, x, true));
  b.set(j.nonce, 56);
  let o = 88;
  for (const [a, s] of [...j.erase, ...j.hash]) {
    v.setUint32(o, a, true);
    v.setUint32(o + 4, s, true);
    o += 8;
  }
  return b;
}

/**
 * A terminal whose bootloader loop no longer reads the line, so that the caller can run Go
 * itself (the integrator wires the runner into the bootloader's Go command).
 */
export function detachedTerminal(boardId: string, options: TerminalOptions = {}): EmulatedTerminal {
  const t = new EmulatedTerminal(loadBoard(boardId), options);
  void t.input.next(); // takes over the bootloader's pending read...
  t.input.push(0); // ...and completes it: the bootloader loop waits forever on a promise nobody resolves
  return t;
}

export interface AgentRun {
  t: EmulatedTerminal;
  machine: Machine;
  running: Promise<GoOutcome>;
  frames: FrameReader;
  agent: AgentBinary;
}

/** The agent image and its parameter block (`params`, else the family's with flash size 0) in RAM, then Go (on a Machine, to read its statistics). */
export function startAgent(kind: CpuKind, options: TerminalOptions = {}, edit?: (image: Uint8Array) => void, params?: Uint8Array): AgentRun {
  const t = detachedTerminal(BOARD_OF_KIND[kind], options);
  const agent = agentBinary(kind);
  if (!agent) throw new Error(`agent/bin/${kind}.bin or agent/manifest.json missing`);
  const image = agent.image.slice();
  edit?.(image);
  t.ram.set(image, t.ramOffset(agent.load, image.length)!);
  const block = params ?? parameterBlock(kind, t.baud);
  t.ram.set(block, t.ramOffset(agent.params, block.length)!);
  const machine = new Machine(t, familyOf(t.board, kind));
  const running = machine.run(agent.load).finally(() => machine.close());
  const frames = new FrameReader(t);
  void running.then((o) => (frames.ended = o));
  return { t, machine, running, frames, agent };
}

export interface JobAnswer {
  status: number;
  table: Uint8Array;
  progress: number;
}

/** Sends a JOB and collects ACCEPT, PROGRESS…, DONE and the result table's DATA frames. */
export async function runJob(run: AgentRun, seq: number, job: Uint8Array, frameMs = 30_000): Promise<JobAnswer> {
  run.t.receive(frame(0x02, seq, job));
  const accept = await run.frames.next();
  if (accept.type !== 0x82) throw new Error(`ACCEPT expected, got type 0x${accept.type.toString(16)}`);
  let progress = 0;
  for (;;) {
    const f = await run.frames.next(frameMs);
    if (f.seq !== seq) throw new Error(`frame of sequence ${f.seq}, the job's is ${seq}`);
    if (f.type === 0x83) {
      progress++;
      continue;
    }
    if (f.type !== 0x84) throw new Error(`DONE expected, got type 0x${f.type.toString(16)}`);
    const v = new DataView(f.payload.buffer, f.payload.byteOffset);
    const status = v.getUint32(0, true);
    const length = v.getUint32(4, true);
    const table = new Uint8Array(length);
    for (let off = 0; off < length;) {
      const d = await run.frames.next();
      if (d.type !== 0x85) throw new Error(`DATA expected, got type 0x${d.type.toString(16)}`);
      const at = new DataView(d.payload.buffer, d.payload.byteOffset).getUint32(0, true);
      if (at !== off) throw new Error(`DATA at offset ${at}, expected ${off}`);
      table.set(d.payload.subarray(4), at);
      off += d.payload.length - 4;
    }
    return { status, table, progress };
  }
}

/** The digests of a result table (docs/abi.md), hex. */
export function digestsOf(table: Uint8Array): string[] {
  const v = new DataView(table.buffer, table.byteOffset);
  const n = v.getUint32(12, true);
  const at = 40 + 4 * Math.ceil(n / 32);
  return Array.from({ length: n }, (_, i) => Buffer.from(table.subarray(at + 32 * i, at + 32 * i + 32)).toString('hex'));
}

/** SHA-256(nonce ‖ address LE ‖ block) of every block of `ranges`, from the terminal's flash. */
export function expectedDigests(t: EmulatedTerminal, nonce: Uint8Array, ranges: Array<[number, number]>, blockSize: number): string[] {
  const out: string[] = [];
  for (const [address, size] of ranges) {
    for (let a = address; a < address + size; a += blockSize) {
      const addr = Buffer.alloc(4);
      addr.writeUInt32LE(a >>> 0);
      out.push(
        createHash('sha256')
          .update(nonce)
          .update(addr)
          .update(t.flash.read(a, Math.min(blockSize, address + size - a)))
          .digest('hex'),
      );
    }
  }
  return out;
}

export interface CpuBenchRow {
  job: string;
  wallMs: number;
  /** CPU time of this process (user + system) during the job: the machine is shared, wall time is not all ours */
  cpuMs: number;
  terminalS: number;
  instructions: number;
  mips: number;
  instructionsPerByte: number | null;
  computeShare: number;
  digestsMatch: boolean;
}

/** CLOCK request: the agent switches its core clock (0 = back to the reset clock); returns the clock it reports. */
export async function requestClock(run: AgentRun, seq: number, hz: number): Promise<number> {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, hz, true);
  run.t.receive(frame(0x04, seq, p));
  const f = await run.frames.next();
  if (f.type !== 0x86) throw new Error(`CLOCK answer expected, got type 0x${f.type.toString(16)}`);
  return new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0, true);
}

/**
 * How the CPU reads flash, measured: a Thumb loop summing 16 x 64 KiB of words from memory
 * mapped three ways. `ptr`: uc_mem_map_ptr on the array (the fastest, but a CPU write would land
 * in the array untouched by any flash interface model: tried, a write-protection hook that
 * reports "handled" still lets the write through); `mmio-native`: uc_mmio_map with the counter
 * library's C read callback on the FlashModel's array (what the machine uses); `mmio-js`: a
 * koffi JavaScript read callback.
 */
export function benchFlashReads(print: (line: string) => void = console.log): Array<{ method: string; usPerWord: number }> {
  // 0: movs r0,#0; movs r4,#16; 4: mov r2,r1; movs r5,#1; lsls r5,#16; adds r5,r2
  // c: ldm r2!,{r3}; adds r0,r3; cmp r2,r5; bne c; subs r4,#1; bne 4; bkpt
  const loop = [0x2000, 0x2410, 0x460a, 0x2501, 0x042d, 0x18ad, 0xca08, 0x18c0, 0x42aa, 0xd1fb, 0x3c01, 0xd1f5, 0xbe00];
  const out: Array<{ method: string; usPerWord: number }> = [];
  for (const method of ['ptr', 'mmio-native', 'mmio-js']) {
    const cpu = new Cpu(UC_CPU_ARM_CORTEX_M4);
    try {
      const ram = new Uint8Array(0x20000);
      loop.forEach((h, i) => ((ram[2 * i] = h & 0xff), (ram[2 * i + 1] = h >> 8)));
      cpu.mapBytes(0x20000000, ram, UC_PROT_ALL);
      const flash = new Uint8Array(0x10000).map((_, i) => i * 7);
      if (method === 'ptr') cpu.mapBytes(0x08000000, flash, UC_PROT_READ);
      else if (method === 'mmio-native') cpu.mmioBytes(0x08000000, flash, () => undefined);
      else
        cpu.mmio(
          0x08000000,
          flash.length,
          (o) => flash[o] | (flash[o + 1] << 8) | (flash[o + 2] << 16) | (flash[o + 3] << 24),
          () => undefined,
        );
      cpu.countInstructions();
      cpu.setReg(ucArmR(1), 0x08000000);
      const t0 = performance.now();
      cpu.run(0x20000001, 0);
      const ms = performance.now() - t0;
      out.push({ method, usPerWord: (ms * 1000) / (16 * 16384) });
    } finally {
      cpu.close();
    }
  }
  print('flash reads by the CPU: us per 32-bit word read (16 x 64 KiB)');
  for (const r of out) print(`  ${r.method.padEnd(12)} ${r.usPerWord.toFixed(3)}`);
  return out;
}

/** Runs the bench, prints a table and returns the rows (JSON). */
export async function benchCpu(print: (line: string) => void = console.log): Promise<{
  available: boolean;
  reason?: string;
  rows: CpuBenchRow[];
  flashReads?: Array<{ method: string; usPerWord: number }>;
  eraseAndVerifyWallMs?: number;
}> {
  if (!instructionLevelAvailable()) return { available: false, reason: instructionLevelUnavailableReason(), rows: [] };
  if (!agentBinary('f4')) return { available: false, reason: 'agent/bin/f4.bin missing', rows: [] };
  const run = startAgent('f4');
  const hello = await run.frames.next();
  if (hello.type !== 0x81) throw new Error('no HELLO');
  const nonce = createHash('sha256').update('bench cpu').digest();
  const whole: Array<[number, number]> = [[run.t.flash.base, run.t.flash.size]];
  const sectors = run.t.flash.sectors.map((s): [number, number] => [s.address, s.size]);
  const rows: CpuBenchRow[] = [];
  const hashJob: Job = { ops: 4, erase: [], hash: whole, nonce, blockSize: 4096 };
  const eraseJob: Job = { ops: 6, erase: sectors, hash: whole, nonce, blockSize: 4096 };
  let seq = 1;
  const measure = async (name: string, job: Job): Promise<void> => {
    const i0 = run.machine.cpu.instructions;
    const compute0 = run.machine.stats.computeSeconds;
    const v0 = run.t.clock.now();
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    const answer = await runJob(run, seq++, jobBytes(job));
    const wallMs = performance.now() - w0;
    const c1 = process.cpuUsage(c0);
    const instructions = run.machine.cpu.instructions - i0;
    const terminalS = run.t.clock.now() - v0;
    rows.push({
      job: name,
      wallMs,
      cpuMs: (c1.user + c1.system) / 1000,
      terminalS,
      instructions,
      mips: instructions / wallMs / 1000,
      instructionsPerByte: job.ops & 4 ? instructions / run.t.flash.size : null,
      computeShare: (run.machine.stats.computeSeconds - compute0) / terminalS,
      digestsMatch: answer.status === 0 && digestsOf(answer.table).join() === expectedDigests(run.t, nonce, whole, 4096).join(),
    });
  };
  await measure('hash 1 MiB @ 16 MHz', hashJob);
  const fast = await requestClock(run, seq++, 168_000_000);
  await measure(`hash 1 MiB @ ${fast / 1e6} MHz`, hashJob);
  await measure(`erase 12 + hash 1 MiB @ ${fast / 1e6} MHz`, eraseJob);
  run.t.receive(frame(0x05, seq, new Uint8Array(0)));
  await run.frames.next();
  await run.running;
  print('instruction-level terminal (Unicorn): agent/bin/f4.bin on an emulated STM32F407');
  print('job                                wall ms   cpu ms   terminal s   instructions   M instr/s (wall)   instr/byte   compute share   digests');
  for (const r of rows) {
    print(
      `${r.job.padEnd(34)} ${r.wallMs.toFixed(0).padStart(7)}   ${r.cpuMs.toFixed(0).padStart(6)}   ${r.terminalS.toFixed(3).padStart(10)}   ${String(r.instructions).padStart(12)}   ${r.mips.toFixed(1).padStart(16)}   ${(r.instructionsPerByte?.toFixed(1) ?? '-').padStart(10)}   ${(100 * r.computeShare).toFixed(1).padStart(12)} %   ${r.digestsMatch ? 'match' : 'DIFFER'}`,
    );
  }
  const flashReads = benchFlashReads(print);
  return { available: true, rows, flashReads, eraseAndVerifyWallMs: rows[2]?.wallMs };
}

if (require.main === module) {
  void benchCpu().then((r) => console.log(JSON.stringify(r)));
}
