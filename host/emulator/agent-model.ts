import { createHash } from 'node:crypto';
import type { Board } from '../boards/types';
import { loadAgentManifest, type AgentBinary, type AgentManifest } from '../agent/manifest';
import { RESULT_HEADER_SIZE, RESULT_MAX, RES_OFF_BLOCKS, resultSize } from '../engine/abi';
import { instantiateEngine, loadEngineModule, wasm, type EngineInstance, type WasmModule } from '../engine/module';
import {
  AGENT_STATE,
  DATA_CHUNK,
  FrameParser,
  HELLO_FLAG_CLOCK,
  LINK_ERROR,
  MAX_PAYLOAD,
  PARAMS_SIZE,
  PROGRESS_KIND,
  REPLY,
  REQ,
  crc32,
  decodeClock,
  decodeParams,
  decodeRead,
  encodeAccept,
  encodeClock,
  encodeData,
  encodeDone,
  encodeError,
  encodeFrame,
  encodeHello,
  encodeProgress,
  encodeStatus,
  type AgentParams,
  type Frame,
} from '../protocol/link';
import { FLASH_STATUS, PowerLoss } from './flash';
import type { CodeRunner, GoOutcome } from './runner';
import { RESET_MARK, type EmulatedTerminal } from './terminal';

/**
 * The TypeScript model of the terminal agent (docs/agent.md): what the committed agent binaries
 * do once Go starts them, frame for frame, without executing their instructions. It recognises
 * an agent only by its exact bytes in RAM (SHA-256 against agent/manifest.json); anything else
 * faults, as unknown code would on silicon, and only instruction-level emulation can run it.
 *
 * Time: the model charges what the terminal already charges (line bytes, flash operations at
 * the board's typical times) and nothing for computation. CLOCK answers what the agent would but
 * does not change timing. The agent's idle timeout is not modelled (the host being silent does
 * not pass virtual time); the 100 ms inter-byte timeout is, on the next byte's arrival.
 */

/** The flash interfaces the agents drive (agent/manifest.json `flashInterface`). */
export type FlashInterface = 'stm32f2' | 'stm32f4' | 'stm32l4';

const FLASH_INTERFACE_OF_BOARD: Readonly<Record<string, FlashInterface>> = {
  stm32f205: 'stm32f2',
  stm32f407: 'stm32f4',
  'acme-t400': 'stm32f4',
  stm32f429: 'stm32f4',
  stm32l476: 'stm32l4',
};
const FLASH_INTERFACES: readonly string[] = ['stm32f2', 'stm32f4', 'stm32l4'];

/**
 * The board's flash interface, or null when no agent drives it (F1). For now derived from the
 * board id, then its most specific family; the host's boards get a `flashInterface` field and
 * this accessor becomes a read of it.
 */
export function boardFlashInterface(board: Board): FlashInterface | null {
  const direct = FLASH_INTERFACE_OF_BOARD[board.id];
  if (direct) return direct;
  for (const id of [...board.inherits].reverse()) {
    if (FLASH_INTERFACE_OF_BOARD[id]) return FLASH_INTERFACE_OF_BOARD[id];
    if (FLASH_INTERFACES.includes(id)) return id as FlashInterface;
  }
  return null;
}

/**
 * The core clocks each agent kind can switch to with CLOCK (besides 0 = back to the clock at
 * Go): the family's maximum from the PLL (RM0033, RM0090, RM0351).
 */
export const AGENT_CLOCKS_HZ: Readonly<Record<string, readonly number[]>> = {
  f2: [120_000_000],
  f4: [168_000_000],
  l4: [80_000_000],
};

/** The HAL status codes of docs/agent.md "Flash drivers". */
export const HAL_STATUS = {
  OK: 0,
  NOT_A_SECTOR: 1,
  MISALIGNED: 2,
  TIMEOUT: 3,
  SR_ERROR: 0x100,
} as const;

/** Flash status register error bits: OPERR is bit 1 on F2/F4 (RM0090 §3.9.4) and L4 (RM0351 §3.7.5); PROGERR bit 3 on L4 only. */
export const FLASH_SR = { OPERR: 1 << 1, PROGERR: 1 << 3 } as const;

/** wasm2c's trap codes (wasm-rt.h `wasm_rt_trap_t`, Linux build: exhaustion has its own code). */
export const WASM_RT_TRAP = {
  OOB: 1,
  INT_OVERFLOW: 2,
  DIV_BY_ZERO: 3,
  INVALID_CONVERSION: 4,
  UNREACHABLE: 5,
  CALL_INDIRECT: 6,
  UNCAUGHT_EXCEPTION: 7,
  EXHAUSTION: 8,
} as const;

/** The wasm2c trap code for a trap the JavaScript engine reports (by its V8 message). */
export function trapCode(err: Error): number {
  const m = err.message.toLowerCase();
  if (m.includes('unreachable')) return WASM_RT_TRAP.UNREACHABLE;
  if (m.includes('by zero')) return WASM_RT_TRAP.DIV_BY_ZERO;
  if (m.includes('unrepresentable') || m.includes('overflow')) return WASM_RT_TRAP.INT_OVERFLOW;
  if (m.includes('table') || m.includes('signature') || m.includes('null function')) return WASM_RT_TRAP.CALL_INDIRECT;
  if (m.includes('call stack')) return WASM_RT_TRAP.EXHAUSTION;
  return WASM_RT_TRAP.OOB;
}

/** seconds without a byte after which a partial frame is dropped (docs/agent.md, "Frames") */
const INTERBYTE_TIMEOUT_S = 0.1;

/** The agent's own checks of the parameter block beyond magic, version and CRC (agent/src/link.c `params_parse`). */
const PARAMS_MAX_CLOCK_HZ = 480_000_000;
const USART_BRR_MIN = 16;
const USART_BRR_MAX = 0xffff;
const PIN_MAX = 15;

/** Why the agent would refuse the block at `bytes` (and reset the part), or null when it accepts it. */
export function paramsProblem(bytes: Uint8Array | null): string | null {
  const p = bytes ? decodeParams(bytes) : null;
  if (!p) return 'bad parameter block (magic, version or CRC)';
  if (p.tx > PIN_MAX || p.rx > PIN_MAX || p.af > PIN_MAX) return 'bad parameter block (pin or alternate function over 15)';
  if (p.baud === 0 || p.coreClockHz === 0 || p.coreClockHz > PARAMS_MAX_CLOCK_HZ) return 'bad parameter block (baud rate or core clock)';
  const brr = Math.floor((p.coreClockHz + Math.floor(p.baud / 2)) / p.baud);
  if (brr < USART_BRR_MIN || brr > USART_BRR_MAX) return 'bad parameter block (USART BRR out of range)';
  return null;
}

export interface ModelRunnerOptions {
  /** the committed agents; agent/manifest.json by default */
  manifest?: () => AgentManifest;
  /** the engine module the agents carry; build/terminal.wasm by default */
  engine?: () => Uint8Array;
}

/** WebAssembly.RuntimeError (typed locally: the repo compiles without the DOM lib) */
const WasmRuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: new (message?: string) => Error } }).WebAssembly.RuntimeError;

const compiled = new Map<string, WasmModule>();

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The TypeScript model of the agent as a CodeRunner. */
export class ModelRunner implements CodeRunner {
  readonly emulation = 'model' as const;

  constructor(private readonly options: ModelRunnerOptions = {}) {}

  async go(t: EmulatedTerminal, address: number): Promise<GoOutcome> {
    let manifest: AgentManifest;
    try {
      manifest = (this.options.manifest ?? loadAgentManifest)();
    } catch (err) {
      return { kind: 'fault', why: `no committed agent binaries to compare with (${(err as Error).message}); a model cannot execute unknown code (instruction-level emulation can)` };
    }
    const agent = recognise(t, manifest, address);
    if (typeof agent === 'string') return { kind: 'fault', why: agent };
    const fi = boardFlashInterface(t.board);
    if (agent.flashInterface !== fi) {
      return { kind: 'fault', why: `agent ${agent.kind} drives the ${agent.flashInterface} flash interface, this part has ${fi ?? 'none an agent drives'}: its registers are not there` };
    }
    const paramBytes = t.readMemory(agent.params, PARAMS_SIZE);
    const problem = paramsProblem(paramBytes);
    if (problem) return { kind: 'reset', why: problem };
    const params = decodeParams(paramBytes!)!;
    const session = new AgentSession(t, agent, params, fi, this.engine(manifest));
    return session.run();
  }

  /** The engine compiled (cached by SHA-256), or why the agent could not instantiate it. */
  private engine(manifest: AgentManifest): WasmModule | string {
    let bytes: Uint8Array;
    try {
      bytes = (this.options.engine ?? (() => loadEngineModule('terminal')))();
    } catch (err) {
      return (err as Error).message;
    }
    const sha = sha256(bytes);
    if (sha !== manifest.moduleSha256) return `engine module SHA-256 ${sha} is not the ${manifest.moduleSha256} the agents carry`;
    let m = compiled.get(sha);
    if (!m) {
      try {
        m = new wasm.Module(bytes);
      } catch (err) {
        return `engine module does not compile: ${(err as Error).message}`;
      }
      compiled.set(sha, m);
    }
    return m;
  }
}

/** The manifest agent whose exact bytes lie in RAM at `address`, or why there is none. */
function recognise(t: EmulatedTerminal, manifest: AgentManifest, address: number): AgentBinary | string {
  const unknown = `the code at 0x${address.toString(16).padStart(8, '0')} is not one of the committed agent binaries; a model cannot execute it (instruction-level emulation can)`;
  for (const a of manifest.agents) {
    if (a.load !== address) continue;
    const bytes = t.readMemory(address, a.size);
    if (bytes && sha256(bytes) === a.sha256) return a;
  }
  return unknown;
}

/** One run of an agent, from HELLO to the reset that ends it. */
class AgentSession {
  private readonly parser = new FrameParser();
  private readonly imageCrc: number;
  private readonly engine: EngineInstance | null = null;
  private readonly instantiateError: string | null = null;
  private clockHz: number;
  private state: number = AGENT_STATE.IDLE;
  private jobSeq = 0;
  private engineStatus = 0;
  private result = new Uint8Array(0);
  /** the sequence number PROGRESS frames carry: the running job's */
  private progressSeq = 0;
  /** the last request acted on and the frames that answered it, sent again for a repeat */
  private last: { type: number; seq: number; answer: Uint8Array[] } | null = null;

  constructor(
    private readonly t: EmulatedTerminal,
    private readonly agent: AgentBinary,
    private readonly params: AgentParams,
    private readonly fi: FlashInterface,
    module: WasmModule | string,
  ) {
    this.clockHz = params.coreClockHz;
    // computed at start, before .bss is touched: the image as it lies in RAM
    this.imageCrc = crc32(t.readMemory(agent.load, agent.size)!);
    if (typeof module === 'string') {
      this.instantiateError = module;
    } else {
      try {
        this.engine = instantiateEngine(module, this.hal());
      } catch (err) {
        this.instantiateError = `engine module does not instantiate: ${(err as Error).message}`;
      }
    }
  }

  async run(): Promise<GoOutcome> {
    const t = this.t;
    t.events.push(`${t.clock.now().toFixed(3)} agent ${this.agent.kind} started (model)${this.instantiateError ? `; ${this.instantiateError}` : ''}`);
    this.send(REPLY.HELLO, 0, this.hello());
    let lastByteAt = t.clock.now();
    try {
      for (;;) {
        const b = await t.input.next();
        if (b === RESET_MARK) return { kind: 'interrupted' };
        const now = t.clock.now();
        if (this.parser.partial && now - lastByteAt > INTERBYTE_TIMEOUT_S) this.parser.reset();
        lastByteAt = now;
        for (const f of this.parser.push([b])) {
          const outcome = this.request(f);
          if (outcome) return outcome;
        }
      }
    } catch (err) {
      if (err instanceof PowerLoss) return { kind: 'powerloss', error: err };
      throw err;
    }
  }

  private send(type: number, seq: number, payload?: Uint8Array): Uint8Array {
    const frame = encodeFrame(type, seq, payload);
    this.t.emit(frame);
    return frame;
  }

  private hello(): Uint8Array {
    const h = this.agent.header;
    return encodeHello({
      linkVersion: h.linkVersion,
      abiVersion: h.abiVersion,
      agentVersion: h.agentVersion,
      coreClockHz: this.clockHz,
      moduleSha256: h.moduleSha256,
      jobMax: MAX_PAYLOAD,
      resultMax: RESULT_MAX,
      kind: h.kind,
      flags: (AGENT_CLOCKS_HZ[h.kind]?.length ?? 0) > 0 ? HELLO_FLAG_CLOCK : 0,
      imageCrc: this.imageCrc,
    });
  }

  /** One request frame; an outcome when the agent leaves (RESET). */
  private request(f: Frame): GoOutcome | null {
    if (this.last && this.last.seq === f.seq && this.last.type === f.type) {
      for (const frame of this.last.answer) this.t.emit(frame);
      return null;
    }
    const answer: Uint8Array[] = [];
    const reply = (type: number, payload?: Uint8Array): void => {
      answer.push(this.send(type, f.seq, payload));
    };
    const error = (reason: number, detail: number): void => reply(REPLY.ERROR, encodeError(reason, detail));
    let outcome: GoOutcome | null = null;
    switch (f.type) {
      case REQ.HELLO:
        if (f.payload.length !== 0) error(LINK_ERROR.BAD_LENGTH, f.payload.length);
        else reply(REPLY.HELLO, this.hello());
        break;
      case REQ.JOB:
        this.job(f, reply, error, answer);
        break;
      case REQ.READ: {
        if (f.payload.length !== 6) {
          error(LINK_ERROR.BAD_LENGTH, f.payload.length);
          break;
        }
        const { offset, length } = decodeRead(f.payload);
        if (length > DATA_CHUNK || offset > this.result.length || length > this.result.length - offset) error(LINK_ERROR.READ_RANGE, offset);
        else reply(REPLY.DATA, encodeData(offset, this.result.subarray(offset, offset + length)));
        break;
      }
      case REQ.CLOCK: {
        if (f.payload.length !== 4) {
          error(LINK_ERROR.BAD_LENGTH, f.payload.length);
          break;
        }
        const hz = decodeClock(f.payload);
        if (hz === 0) this.clockHz = this.params.coreClockHz;
        else if ((AGENT_CLOCKS_HZ[this.agent.kind] ?? []).includes(hz)) this.clockHz = hz;
        else {
          error(LINK_ERROR.CLOCK_UNSUPPORTED, hz);
          break;
        }
        // the model does not change timing: the line keeps its baud rate (BRR follows the clock) and computation costs nothing
        reply(REPLY.CLOCK, encodeClock(this.clockHz));
        break;
      }
      case REQ.RESET:
        if (f.payload.length !== 0) {
          error(LINK_ERROR.BAD_LENGTH, f.payload.length);
          break;
        }
        reply(REPLY.OK);
        outcome = { kind: 'reset', why: 'SYSRESETREQ' };
        break;
      case REQ.STATUS:
        if (f.payload.length !== 0) error(LINK_ERROR.BAD_LENGTH, f.payload.length);
        else reply(REPLY.STATUS, encodeStatus({ state: this.state, jobSeq: this.jobSeq, status: this.engineStatus, resultLength: this.result.length }));
        break;
      default:
        error(LINK_ERROR.UNKNOWN_TYPE, f.type);
    }
    this.last = { type: f.type, seq: f.seq, answer };
    return outcome;
  }

  /** JOB: ACCEPT, the engine's run with its PROGRESS frames, DONE and the result in DATA frames. */
  private job(f: Frame, reply: (type: number, payload?: Uint8Array) => void, error: (reason: number, detail: number) => void, answer: Uint8Array[]): void {
    const engine = this.engine;
    if (!engine) {
      error(LINK_ERROR.INSTANTIATE, 0);
      return;
    }
    reply(REPLY.ACCEPT, encodeAccept(f.payload.length));
    this.state = AGENT_STATE.RUNNING;
    this.jobSeq = f.seq;
    this.progressSeq = f.seq;
    new Uint8Array(engine.memory.buffer, engine.job, f.payload.length).set(f.payload);
    let status: number;
    try {
      status = (engine.instance.exports.run as () => number)() >>> 0;
    } catch (err) {
      if (!(err instanceof WasmRuntimeError)) throw err;
      this.state = AGENT_STATE.TRAPPED;
      this.result = new Uint8Array(0);
      answer.length = 0; // a repeat of a trapped job is answered with the ERROR again
      error(LINK_ERROR.TRAPPED, trapCode(err as Error));
      return;
    }
    const header = new DataView(engine.memory.buffer, engine.result, RESULT_HEADER_SIZE);
    const blocks = header.getUint32(RES_OFF_BLOCKS, true);
    const length = Math.min(resultSize(blocks), RESULT_MAX);
    this.result = new Uint8Array(engine.memory.buffer.slice(engine.result, engine.result + length));
    this.engineStatus = status;
    this.state = AGENT_STATE.DONE;
    // a repeat of this job is answered with DONE and the DATA frames, not ACCEPT and PROGRESS
    answer.length = 0;
    reply(REPLY.DONE, encodeDone({ status, resultLength: length, blocks }));
    for (let off = 0; off < length; off += DATA_CHUNK) reply(REPLY.DATA, encodeData(off, this.result.subarray(off, Math.min(length, off + DATA_CHUNK))));
  }

  /** The HAL the engine calls, bound to the flash model with the agent's status codes. */
  private hal() {
    const t = this.t;
    const flash = t.flash;
    return {
      erase: (address: number, size: number): number => {
        const s = flash.sectorAt(address);
        if (!s || s.address !== address || s.size !== size) return HAL_STATUS.NOT_A_SECTOR;
        return halStatus(flash.eraseSector(s));
      },
      read: (address: number, dst: Uint8Array): number => {
        if (!flash.contains(address, dst.length)) return HAL_STATUS.NOT_A_SECTOR;
        dst.set(flash.bytes.subarray(address - flash.base, address - flash.base + dst.length));
        return HAL_STATUS.OK;
      },
      program: (address: number, src: Uint8Array): number => this.program(address, src),
      event: (kind: number, index: number): void => {
        if (kind === PROGRESS_KIND.PROGRAMMED || kind === PROGRESS_KIND.ERASED) this.send(REPLY.PROGRESS, this.progressSeq, encodeProgress(kind, index));
        else if (kind === PROGRESS_KIND.HASHED && (index + 1) % 64 === 0) this.send(REPLY.PROGRESS, this.progressSeq, encodeProgress(kind, index + 1));
      },
    };
  }

  /**
   * hal.program as the agent's driver does it: range and alignment first (no flash operation),
   * then the program operation. On L4 a double word that is not erased fails with PROGERR unless
   * the data is all zeros (RM0351 §3.3.7); the driver stops there, with the double words before
   * it programmed. On F2/F4 programming a programmed location just clears more bits (AND).
   */
  private program(address: number, src: Uint8Array): number {
    const flash = this.t.flash;
    if (!flash.contains(address, src.length)) return HAL_STATUS.NOT_A_SECTOR;
    const unit = this.t.board.flash.programUnit;
    if (address % unit !== 0 || src.length % unit !== 0) return HAL_STATUS.MISALIGNED;
    if (this.fi === 'stm32l4') {
      const at = firstProgramError(flash.bytes, address - flash.base, src, flash.erasedValue);
      if (at >= 0) {
        const done = at > 0 ? halStatus(flash.program(address, src.slice(0, at))) : HAL_STATUS.OK;
        return done !== HAL_STATUS.OK ? done : HAL_STATUS.SR_ERROR | FLASH_SR.PROGERR;
      }
    }
    return halStatus(flash.program(address, src.slice()));
  }
}

/** L4: offset in `src` of the first double word whose target is not erased and whose data is not all zeros, or -1. */
function firstProgramError(bytes: Uint8Array, off: number, src: Uint8Array, erased: number): number {
  for (let i = 0; i < src.length; i += 8) {
    let blank = true;
    let zero = true;
    for (let j = 0; j < 8; j++) {
      if (bytes[off + i + j] !== erased) blank = false;
      if (src[i + j] !== 0) zero = false;
    }
    if (!blank && !zero) return i;
  }
  return -1;
}

/** The FlashModel's status as the agent's HAL reports it. */
function halStatus(status: number): number {
  switch (status) {
    case FLASH_STATUS.OK:
      return HAL_STATUS.OK;
    case FLASH_STATUS.MISALIGNED:
      return HAL_STATUS.MISALIGNED;
    case FLASH_STATUS.ERASE_FAILED:
      return HAL_STATUS.SR_ERROR | FLASH_SR.OPERR;
    default:
      return HAL_STATUS.NOT_A_SECTOR;
  }
}
