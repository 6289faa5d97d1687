import { FAST_CLOCK_HZ } from '../agent/clocks';
import { createHash } from 'node:crypto';
import type { Board } from '../boards/types';
import { loadAgentManifest, type AgentBinary, type AgentManifest } from '../agent/manifest';
import { JOB_OFF_NONCE, NONCE_SIZE, RESULT_HEADER_SIZE, RES_OFF_BLOCKS, resultSize } from '../engine/abi';
import { wasm, type WasmGlobal, type WasmMemory, type WasmModule } from '../engine/module';
import { agentCarrying, loadPinnedEngine } from '../agent/pinned';
import {
  AGENT_STATE,
  DATA_CHUNK,
  FrameParser,
  HELLO_FLAG_CLOCK,
  LINK_ERROR,
  PARAMS_FLASH_UNIT,
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
import { FLASH_STATUS, PowerLoss, type FlashModel } from './flash';
import { RESET_MARK, type CodeRunner, type GoOutcome, type LinePart } from './part';

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

/** The board's flash interface (board data: `flashInterface`), or null when no agent drives it (F1). */
export function boardFlashInterface(board: Board): FlashInterface | null {
  return board.flashInterface === 'stm32f1' ? null : board.flashInterface;
}

/** The core clock at reset, by flash interface: HSI 16 MHz on F2/F4 (RM0033/RM0090 §5), MSI 4 MHz on L4 (RM0351 §6). */
export const RESET_CLOCK_HZ: Readonly<Record<FlashInterface, number>> = {
  stm32f2: 16_000_000,
  stm32f4: 16_000_000,
  stm32l4: 4_000_000,
};

export { FAST_CLOCK_HZ } from '../agent/clocks';

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
const KIB = 1024;

/** The family's largest main flash (agent/src/flash_*.c `flash_max_size`): F2 1 MiB, F4 2 MiB, L4 1 MiB. */
export const FLASH_MAX_BYTES: Readonly<Record<FlashInterface, number>> = {
  stm32f2: 1024 * KIB,
  stm32f4: 2048 * KIB,
  stm32l4: 1024 * KIB,
};

/** Why the agent for flash interface `fi` would refuse the block at `bytes` (and reset the part), or null when it accepts it. */
export function paramsProblem(bytes: Uint8Array | null, fi: FlashInterface): string | null {
  const p = bytes ? decodeParams(bytes) : null;
  if (!p) return 'bad parameter block (magic, version or CRC)';
  if (p.tx > PIN_MAX || p.rx > PIN_MAX || p.af > PIN_MAX) return 'bad parameter block (pin or alternate function over 15)';
  if (p.baud === 0 || p.coreClockHz === 0 || p.coreClockHz > PARAMS_MAX_CLOCK_HZ) return 'bad parameter block (baud rate or core clock)';
  const brr = Math.floor((p.coreClockHz + Math.floor(p.baud / 2)) / p.baud);
  if (brr < USART_BRR_MIN || brr > USART_BRR_MAX) return 'bad parameter block (USART BRR out of range)';
  if (p.flashSize % PARAMS_FLASH_UNIT !== 0 || p.flashSize > FLASH_MAX_BYTES[fi]) {
    return `bad parameter block (flash size ${p.flashSize} is not whole KiB up to the family's ${FLASH_MAX_BYTES[fi]})`;
  }
  return null;
}

export interface ModelRunnerOptions {
  /** the committed agents; agent/manifest.json by default */
  manifest?: () => AgentManifest;
  /** the engine module the agents carry; build/terminal.wasm by default, refused unless the manifest pins it (host/agent/pinned.ts) */
  engine?: () => Uint8Array;
  /**
   * `--engine <file>` on an emulated port: the agent carries this module instead of the manifest's
   * (its HELLO reports this module's SHA-256). Only the model can do this: a real agent runs the
   * engine compiled into its binary.
   */
  customEngine?: Uint8Array;
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

  async go(t: LinePart, address: number): Promise<GoOutcome> {
    let manifest: AgentManifest;
    try {
      manifest = (this.options.manifest ?? loadAgentManifest)();
    } catch (err) {
      return {
        kind: 'fault',
        why: `no committed agent binaries to compare with (${(err as Error).message}); a model cannot execute unknown code (instruction-level emulation can)`,
      };
    }
    const custom = this.options.customEngine ? createHash('sha256').update(this.options.customEngine).digest() : null;
    const agent = recognise(t, manifest, address, custom);
    if (typeof agent === 'string') return { kind: 'fault', why: agent };
    const fi = boardFlashInterface(t.board);
    if (agent.flashInterface !== fi) {
      return {
        kind: 'fault',
        why: `agent ${agent.kind} drives the ${agent.flashInterface} flash interface, this part has ${fi ?? 'none an agent drives'}: its registers are not there`,
      };
    }
    const ramTop = t.board.ram.base + t.board.ram.size;
    if (agent.ramEnd > ramTop) {
      return {
        kind: 'fault',
        why: `agent ${agent.kind} uses RAM up to 0x${agent.ramEnd.toString(16)}, this part's RAM ends at 0x${ramTop.toString(16)}: its stack faults`,
      };
    }
    const paramBytes = t.readMemory(agent.params, PARAMS_SIZE);
    const problem = paramsProblem(paramBytes, fi);
    if (problem) return { kind: 'reset', why: problem };
    const params = decodeParams(paramBytes!)!;
    const session = new AgentSession(t, agent, params, fi, this.engine(manifest), custom ?? agent.header.moduleSha256);
    return session.run();
  }

  /** The engine compiled (cached by SHA-256), or why the agent could not instantiate it. */
  private engine(manifest: AgentManifest): WasmModule | string {
    let bytes: Uint8Array;
    try {
      bytes = this.options.customEngine ?? (this.options.engine ?? (() => loadPinnedEngine(manifest)))();
    } catch (err) {
      return (err as Error).message;
    }
    const sha = sha256(bytes);
    if (!this.options.customEngine && sha !== manifest.moduleSha256) return `engine module SHA-256 ${sha} is not the ${manifest.moduleSha256} the agents carry`;
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

/**
 * The manifest agent whose exact bytes lie in RAM at `address`, or why there is none. With a
 * custom engine (`customSha`) the agent is the committed one carrying that module (agentCarrying).
 */
function recognise(t: LinePart, manifest: AgentManifest, address: number, customSha: Uint8Array | null): AgentBinary | string {
  const unknown = `the code at 0x${address.toString(16).padStart(8, '0')} is not one of the committed agent binaries; a model cannot execute it (instruction-level emulation can)`;
  for (const a of manifest.agents) {
    if (a.load !== address) continue;
    const bytes = t.readMemory(address, a.size);
    const want = customSha ? sha256(agentCarrying(a.bytes, customSha)) : a.sha256;
    if (bytes && sha256(bytes) === want) return a;
  }
  return unknown;
}

/** A job's bytes with its nonce blanked: two jobs alike but for the nonce have the same key (fault replay-results). */
function replayKey(job: Uint8Array): string {
  const k = Buffer.from(job);
  k.fill(0, JOB_OFF_NONCE, JOB_OFF_NONCE + NONCE_SIZE);
  return k.toString('base64');
}

/** the engine's job header: a JOB shorter than this is answered ERROR 2 (agent/src/agent.c) */
const JOB_HEADER_SIZE = 88;
/** the agent's receive buffer when the engine did not instantiate (agent/src/agent.c `FALLBACK_MAX_PAYLOAD`) */
const FALLBACK_MAX_PAYLOAD = 16;
const HASH_PROGRESS_EVERY = 64;

/**
 * One run of an agent, from HELLO to the reset that ends it: agent/src/agent.c's main loop, one
 * request at a time, with the same state (IDLE/RUNNING/DONE/TRAPPED, the last job's sequence
 * number, status and result length, the last request's sequence number and type).
 */
class AgentSession {
  private readonly parser = new FrameParser();
  private readonly imageCrc: number;
  private readonly engine: Engine | null = null;
  private readonly instantiateError: string | null = null;
  private readonly resetClockHz: number;
  private readonly fastClockHz: number;
  private clockHz: number;
  private state: number = AGENT_STATE.IDLE;
  private jobSeq = 0;
  private engineStatus = 0;
  private resultLength = 0;
  private blocks = 0;
  private trap = 0;
  /** sequence number and type of the last request */
  private last: { seq: number; type: number } | null = null;
  /** the sequence number PROGRESS frames carry: the running job's */
  private progressSeq = 0;
  /** what hal.* drives: the terminal's flash, or its shadow under the fake-digests fault (EmulatedTerminal.agentFlash) */
  private readonly flash: FlashModel;
  /** fault replay-results: each job's result (status, table) by its bytes with the nonce blanked */
  private readonly replayable = new Map<string, { status: number; table: Uint8Array }>();

  constructor(
    private readonly t: LinePart,
    private readonly agent: AgentBinary,
    private readonly params: AgentParams,
    private readonly fi: FlashInterface,
    module: WasmModule | string,
    /** the module SHA-256 HELLO reports: the agent header's, or a custom engine's */
    private readonly moduleSha256: Uint8Array,
  ) {
    this.flash = t.agentFlash();
    this.clockHz = params.coreClockHz;
    this.resetClockHz = RESET_CLOCK_HZ[fi];
    this.fastClockHz = FAST_CLOCK_HZ[agent.kind] ?? 0;
    // computed at start, before .bss is touched: the image as it lies in RAM
    this.imageCrc = crc32(t.readMemory(agent.load, agent.size)!);
    if (typeof module === 'string') {
      this.instantiateError = module;
    } else {
      try {
        const engine = instantiate(module, this.hal());
        // the receiver lives in the job area: JOB_MAX + 8 bytes there, clear of the result area
        const end = engine.job + engine.jobMax + 8;
        const fits = end <= engine.memory.buffer.byteLength && (engine.result >= end || engine.result + engine.resultMax <= engine.job);
        if (fits) this.engine = engine;
        else this.instantiateError = 'engine module has no room for the receiver in its job area';
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
        // a partial frame is dropped after 100 ms without a byte (measured when the next one comes)
        if (this.parser.partial && t.clock.now() - lastByteAt >= INTERBYTE_TIMEOUT_S) this.parser.reset();
        lastByteAt = t.clock.now();
        for (const f of this.parser.push([b])) {
          // with no engine the agent's receiver holds only FALLBACK_MAX_PAYLOAD bytes: longer frames are dropped
          if (!this.engine && f.payload.length > FALLBACK_MAX_PAYLOAD) continue;
          const outcome = this.request(f);
          if (outcome) return outcome;
          lastByteAt = t.clock.now();
        }
      }
    } catch (err) {
      if (err instanceof PowerLoss) return { kind: 'powerloss', error: err };
      throw err;
    }
  }

  private send(type: number, seq: number, payload?: Uint8Array): void {
    this.t.emit(encodeFrame(type, seq, payload));
  }

  private error(seq: number, reason: number, detail: number): void {
    this.send(REPLY.ERROR, seq, encodeError(reason, detail));
  }

  /** the payload is `want` bytes long, or ERROR 2 has been sent */
  private lengthIs(f: Frame, want: number): boolean {
    if (f.payload.length === want) return true;
    this.error(f.seq, LINK_ERROR.BAD_LENGTH, f.payload.length);
    return false;
  }

  private hello(): Uint8Array {
    const h = this.agent.header;
    const engine = this.engine;
    return encodeHello({
      linkVersion: h.linkVersion,
      abiVersion: h.abiVersion,
      agentVersion: h.agentVersion,
      coreClockHz: this.clockHz,
      moduleSha256: this.moduleSha256,
      jobMax: engine ? engine.jobMax : 0,
      resultMax: engine ? engine.resultMax : 0,
      kind: h.kind,
      flags: HELLO_FLAG_CLOCK,
      imageCrc: this.imageCrc,
    });
  }

  /** One request frame; an outcome when the agent leaves (RESET). */
  private request(f: Frame): GoOutcome | null {
    const repeated = this.last !== null && this.last.seq === f.seq && this.last.type === f.type;
    this.last = { seq: f.seq, type: f.type };
    switch (f.type) {
      case REQ.HELLO:
        if (this.lengthIs(f, 0)) this.send(REPLY.HELLO, f.seq, this.hello());
        return null;
      case REQ.JOB:
        if (f.payload.length < JOB_HEADER_SIZE) this.error(f.seq, LINK_ERROR.BAD_LENGTH, f.payload.length);
        else if (!this.engine) this.error(f.seq, LINK_ERROR.INSTANTIATE, 0);
        else if (repeated && f.seq === this.jobSeq && (this.state === AGENT_STATE.DONE || this.state === AGENT_STATE.TRAPPED))
          this.jobEnd(f.seq); // answered again, not run again
        else {
          this.runJob(this.engine, f);
          this.parser.reset(); // nothing sent during a job is read
        }
        return null;
      case REQ.READ:
        if (this.lengthIs(f, 6)) this.read(f.seq, f.payload);
        return null;
      case REQ.CLOCK:
        if (this.lengthIs(f, 4)) this.clock(f.seq, decodeClock(f.payload));
        return null;
      case REQ.RESET:
        if (!this.lengthIs(f, 0)) return null;
        this.send(REPLY.OK, f.seq);
        return { kind: 'reset', why: 'SYSRESETREQ' };
      case REQ.STATUS:
        if (this.lengthIs(f, 0))
          this.send(REPLY.STATUS, f.seq, encodeStatus({ state: this.state, jobSeq: this.jobSeq, status: this.engineStatus, resultLength: this.resultLength }));
        return null;
      default:
        this.error(f.seq, LINK_ERROR.UNKNOWN_TYPE, f.type);
        return null;
    }
  }

  /** JOB: the job into the engine's job area (the rest of it zeroed), ACCEPT, the run with its PROGRESS frames, then its end. */
  private runJob(engine: Engine, f: Frame): void {
    const mem = new Uint8Array(engine.memory.buffer);
    mem.set(f.payload, engine.job);
    mem.fill(0, engine.job + f.payload.length, engine.job + engine.jobMax);
    this.send(REPLY.ACCEPT, f.seq, encodeAccept(f.payload.length));
    this.state = AGENT_STATE.RUNNING;
    this.jobSeq = f.seq;
    this.resultLength = 0;
    this.blocks = 0;
    this.engineStatus = 0;
    this.progressSeq = f.seq;
    let status: number;
    // a simulated lying agent: the same job under another nonce gets the old table, its flash operations skipped
    const key = this.t.faults.replayResults ? replayKey(f.payload) : null;
    const replay = key === null ? undefined : this.replayable.get(key);
    try {
      if (replay) new Uint8Array(engine.memory.buffer).set(replay.table, engine.result);
      status = replay ? replay.status : engine.run() >>> 0;
    } catch (err) {
      if (!(err instanceof WasmRuntimeError)) throw err; // a power loss belongs to the terminal
      this.state = AGENT_STATE.TRAPPED;
      this.trap = trapCode(err);
      this.jobEnd(f.seq);
      return;
    }
    const resultMax = engine.resultMax;
    const n = new DataView(engine.memory.buffer, engine.result, RESULT_HEADER_SIZE).getUint32(RES_OFF_BLOCKS, true);
    const length = resultSize(n);
    this.state = AGENT_STATE.DONE;
    this.engineStatus = status;
    this.blocks = n;
    this.resultLength = n > resultMax || length > resultMax ? resultMax : length;
    if (key !== null && !replay) this.replayable.set(key, { status, table: new Uint8Array(engine.memory.buffer, engine.result, this.resultLength).slice() });
    this.jobEnd(f.seq);
  }

  /** DONE and the result table in DATA frames of 1024 bytes, or ERROR 4 for a trapped job. */
  private jobEnd(seq: number): void {
    if (this.state === AGENT_STATE.TRAPPED) {
      this.error(seq, LINK_ERROR.TRAPPED, this.trap);
      return;
    }
    this.send(REPLY.DONE, seq, encodeDone({ status: this.engineStatus, resultLength: this.resultLength, blocks: this.blocks }));
    for (let off = 0; off < this.resultLength; off += DATA_CHUNK) this.data(seq, off, Math.min(DATA_CHUNK, this.resultLength - off));
  }

  /** DATA from the engine's result area as it is now (the agent sends from its memory). */
  private data(seq: number, offset: number, length: number): void {
    const engine = this.engine!;
    this.send(REPLY.DATA, seq, encodeData(offset, new Uint8Array(engine.memory.buffer, engine.result + offset, length)));
  }

  private read(seq: number, payload: Uint8Array): void {
    const { offset, length } = decodeRead(payload);
    if (length > DATA_CHUNK || offset > this.resultLength || length > this.resultLength - offset) this.error(seq, LINK_ERROR.READ_RANGE, offset);
    else this.data(seq, offset, length);
  }

  /**
   * CLOCK: only from the reset clock (the parameter block's clock must be it), to the kind's PLL
   * clock or back (0); anything else is ERROR 5 with the supported clock as detail. The model
   * does not change timing: the line keeps its baud rate (BRR follows the clock) and
   * computation costs nothing at either clock.
   */
  private clock(seq: number, wanted: number): void {
    const fast = this.fastClockHz;
    if (this.params.coreClockHz !== this.resetClockHz || fast === 0 || (wanted !== 0 && wanted !== fast)) {
      this.error(seq, LINK_ERROR.CLOCK_UNSUPPORTED, fast);
      return;
    }
    this.clockHz = wanted === 0 ? this.resetClockHz : fast;
    this.send(REPLY.CLOCK, seq, encodeClock(this.clockHz));
  }

  /** The HAL the engine calls, bound to the flash model with the agent's status codes. */
  /**
   * What hal.* may touch, as the agent's `flash_size()`: the parameter block's size when it is not
   * 0, else the part's flash size register (the board's size here), either bounded to the
   * family's maximum. Past the part's real flash the model answers NOT_A_SECTOR where the real
   * agent would bus-fault (the host never sends a size over the board's).
   */
  private inBounds(address: number, length: number): boolean {
    const size = Math.min(this.params.flashSize !== 0 ? this.params.flashSize : this.flash.size, FLASH_MAX_BYTES[this.fi]);
    return address >= this.flash.base && address + length <= this.flash.base + size;
  }

  private hal(): Hal {
    const flash = this.flash;
    return {
      erase: (address: number, size: number): number => {
        if (!this.inBounds(address, size)) return HAL_STATUS.NOT_A_SECTOR;
        const s = flash.sectorAt(address);
        if (!s || s.address !== address || s.size !== size) return HAL_STATUS.NOT_A_SECTOR;
        return halStatus(flash.eraseSector(s));
      },
      read: (address: number, dst: Uint8Array): number => {
        if (!this.inBounds(address, dst.length) || !flash.contains(address, dst.length)) return HAL_STATUS.NOT_A_SECTOR;
        dst.set(flash.bytes.subarray(address - flash.base, address - flash.base + dst.length));
        return HAL_STATUS.OK;
      },
      program: (address: number, src: Uint8Array): number => this.program(address, src),
      event: (kind: number, index: number): void => {
        let value = index;
        if (kind === PROGRESS_KIND.HASHED) {
          value = (index + 1) >>> 0; // blocks hashed so far
          if (value % HASH_PROGRESS_EVERY !== 0) return;
        } else if (kind !== PROGRESS_KIND.PROGRAMMED && kind !== PROGRESS_KIND.ERASED) {
          return;
        }
        this.send(REPLY.PROGRESS, this.progressSeq, encodeProgress(kind, value));
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
    const flash = this.flash;
    if (!this.inBounds(address, src.length) || !flash.contains(address, src.length)) return HAL_STATUS.NOT_A_SECTOR;
    const unit = this.t.board.flash.programUnit;
    if (address % unit !== 0 || src.length % unit !== 0) return HAL_STATUS.MISALIGNED;
    if (src.length === 0) return HAL_STATUS.OK; // no word written, no flash operation
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

/** The HAL as the model binds it: addresses unsigned, linear-memory ranges already checked. */
interface Hal {
  erase(address: number, size: number): number;
  read(address: number, dst: Uint8Array): number;
  program(address: number, src: Uint8Array): number;
  event(kind: number, index: number): void;
}

/** The engine instantiated over the HAL: its memory, areas and run. */
interface Engine {
  memory: WasmMemory;
  job: number;
  result: number;
  jobMax: number;
  resultMax: number;
  run(): number;
}

/**
 * Instantiates the engine with hal.* imports as the agent's (agent/src/engine_host.c): a
 * destination or source outside the linear memory traps out of bounds, as the module's own
 * access would.
 */
function instantiate(module: WasmModule, hal: Hal): Engine {
  let memory: WasmMemory | null = null;
  const linear = (at: number, len: number): Uint8Array => {
    at >>>= 0;
    len >>>= 0;
    if (at + len > memory!.buffer.byteLength) throw new WasmRuntimeError('memory access out of bounds');
    return new Uint8Array(memory!.buffer, at, len);
  };
  const instance = new wasm.Instance(module, {
    hal: {
      erase: (addr: number, size: number) => hal.erase(addr >>> 0, size >>> 0) | 0,
      read: (addr: number, dst: number, len: number) => hal.read(addr >>> 0, linear(dst, len)) | 0,
      program: (addr: number, src: number, len: number) => hal.program(addr >>> 0, linear(src, len)) | 0,
      event: (kind: number, index: number) => hal.event(kind >>> 0, index >>> 0),
    },
  });
  const ex = instance.exports;
  memory = ex.memory as WasmMemory;
  const global = (name: string): number => Number((ex[name] as WasmGlobal).value) >>> 0;
  return {
    memory,
    job: global('JOB'),
    result: global('RESULT'),
    jobMax: global('JOB_MAX'),
    resultMax: global('RESULT_MAX'),
    run: ex.run as () => number,
  };
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
