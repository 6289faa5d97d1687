import { createHash, createPublicKey, verify } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { AGENT_FRAME, LOAD_HEADER_SIZE, LOAD_MAGIC, REFUSE, agentFrame } from '../protocol/agent-frames';
import { FLASH_STATUS } from './flash';
import type { EmulatedTerminal } from './terminal';

const compiled = new Map<string, WebAssembly.Module>();

function compile(bytes: Uint8Array): WebAssembly.Module | null {
  const key = createHash('sha256').update(bytes).digest('hex');
  let m = compiled.get(key);
  if (!m) {
    try {
      m = new WebAssembly.Module(new Uint8Array(bytes));
    } catch {
      return null;
    }
    compiled.set(key, m);
  }
  return m;
}

/**
 * The terminal's Wasm agent, started by Go into RAM. It reads the load header and module from
 * RAM (the bytes that crossed the protocol), checks the signature when the terminal enforces
 * one, instantiates the module with HAL imports bound to the flash model, copies the job in from
 * RAM, runs it, copies the result table out to RAM, announces each step in agent frames
 * (docs/abi.md) and returns to the bootloader's command loop.
 */
export function runAgent(t: EmulatedTerminal, loadAddress: number): void {
  const refuse = (reason: number, why: string): void => {
    t.events.push(`${t.clock.now().toFixed(3)} agent refused: ${why}`);
    t.emit(agentFrame(AGENT_FRAME.REFUSED, reason));
    t.synced = false;
  };
  const agent = t.board.agent;
  const header = t.readMemory(loadAddress, LOAD_HEADER_SIZE);
  if (!agent || !header) return refuse(REFUSE.BAD_HEADER, 'no agent placement on this board');
  const h = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const moduleLength = h.getUint32(4, true);
  const sigLength = h.getUint32(8, true);
  if (h.getUint32(0, true) !== LOAD_MAGIC || moduleLength === 0) return refuse(REFUSE.BAD_HEADER, 'bad load header');
  const moduleBytes = t.readMemory(loadAddress + LOAD_HEADER_SIZE, moduleLength);
  const signature = sigLength ? t.readMemory(loadAddress + LOAD_HEADER_SIZE + moduleLength, sigLength) : new Uint8Array(0);
  if (!moduleBytes || !signature) return refuse(REFUSE.BAD_HEADER, 'module runs past the end of RAM');
  if (crc32(moduleBytes) !== h.getUint32(12, true)) return refuse(REFUSE.BAD_HEADER, 'module CRC does not match its load header');
  if (t.trust.length > 0) {
    const ok = sigLength > 0 && t.trust.some((pem) => verify(null, moduleBytes, createPublicKey(pem), signature));
    if (!ok) return refuse(REFUSE.SIGNATURE, sigLength ? 'module signature not from a trusted key' : 'unsigned module');
  }
  const module = compile(moduleBytes);
  if (!module) return refuse(REFUSE.INSTANTIATE, 'module does not compile');

  let memory: WebAssembly.Memory | null = null;
  const mem = (): Uint8Array => new Uint8Array(memory!.buffer);
  const hal = {
    erase: (addr: number, size: number): number => t.flash.eraseRange(addr >>> 0, size >>> 0),
    read: (addr: number, dst: number, len: number): number => {
      addr >>>= 0;
      if (!t.flash.contains(addr, len)) return FLASH_STATUS.OUT_OF_RANGE;
      mem().set(t.flash.bytes.subarray(addr - t.flash.base, addr - t.flash.base + len), dst >>> 0);
      return FLASH_STATUS.OK;
    },
    program: (addr: number, src: number, len: number): number => t.flash.program(addr >>> 0, mem().slice(src >>> 0, (src >>> 0) + len)),
    event: (kind: number, index: number): void => {
      if (kind === 1) t.emit(agentFrame(AGENT_FRAME.PROGRAMMED, index));
      else if (kind === 2) t.emit(agentFrame(AGENT_FRAME.ERASED, index));
      else if (kind === 3 && (index + 1) % 64 === 0) t.emit(agentFrame(AGENT_FRAME.HASHED, index + 1));
    },
  };
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, { hal });
  } catch {
    return refuse(REFUSE.INSTANTIATE, 'module does not instantiate with the HAL imports');
  }
  const ex = instance.exports as Record<string, unknown>;
  memory = ex.memory as WebAssembly.Memory;
  const g = (name: string): number => (ex[name] instanceof WebAssembly.Global ? Number((ex[name] as WebAssembly.Global).value) : -1);
  const version = g('ABI_VERSION');
  if (!(memory instanceof WebAssembly.Memory) || typeof ex.run !== 'function') return refuse(REFUSE.INSTANTIATE, 'module lacks memory or run');
  if (version !== 1) return refuse(REFUSE.ABI_VERSION, `module ABI version ${version}`);
  const jobAt = g('JOB');
  const resultAt = g('RESULT');
  const jobLength = Math.min(agent.jobMax, g('JOB_MAX'));
  const job = t.readMemory(agent.job, jobLength);
  if (!job || jobAt < 0 || resultAt < 0) return refuse(REFUSE.JOB_FIT, 'job area outside RAM');
  mem().set(job, jobAt);

  t.emit(agentFrame(AGENT_FRAME.RUNNING, version));
  let status: number;
  try {
    status = (ex.run as () => number)() >>> 0;
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) return refuse(REFUSE.TRAPPED, `module trapped: ${err.message}`);
    throw err; // power loss and the like belong to the terminal
  }
  const view = new DataView(memory.buffer);
  const blocks = view.getUint32(resultAt + 12, true);
  const resultLength = 40 + 4 * Math.ceil(blocks / 32) + 32 * blocks;
  if (resultLength > agent.resultMax) return refuse(REFUSE.JOB_FIT, `result table of ${resultLength} bytes exceeds the board's ${agent.resultMax}`);
  const off = t.ramOffset(agent.result, resultLength);
  if (off === null) return refuse(REFUSE.JOB_FIT, 'result area outside RAM');
  t.ram.set(mem().subarray(resultAt, resultAt + resultLength), off);
  const hashed = view.getUint32(resultAt + 12, true);
  if (hashed % 64 !== 0) t.emit(agentFrame(AGENT_FRAME.HASHED, hashed));
  t.emit(agentFrame(AGENT_FRAME.DONE, status));
  t.synced = false; // back in the ROM's command loop, which expects a fresh 0x7F
}
