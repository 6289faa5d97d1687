import type { Board } from '../boards/types';
import { ABI_VERSION, JOB_MAX, RESULT_HEADER_SIZE, RESULT_MAX, decodeResult, encodeJob, type JobSpec, type ResultTable } from '../engine/abi';
import { DeviceError, InputError, NackError, SafetyError } from '../errors';
import {
  AGENT_STATE,
  DATA_CHUNK,
  HELLO_FLAG_CLOCK,
  HELLO_SIZE,
  LINK_ERROR,
  LINK_ERROR_NAMES,
  LINK_VERSION,
  LinkPayloadError,
  PROGRESS_KIND,
  REPLY,
  REQ,
  SIGNATURE_BLOCK_OFFSET,
  WASM_TRAP_NAMES,
  crc32,
  decodeAccept,
  decodeClock,
  decodeData,
  decodeDone,
  decodeError,
  decodeHello,
  decodeProgress,
  decodeStatus,
  encodeClock,
  encodeParams,
  encodeRead,
  encodeSignatureBlock,
  parseImageHeader,
  type AgentImageHeader,
  type Done,
  type Frame,
  type Hello,
} from '../protocol/link';
import type { BootloaderClient } from '../protocol/client';
import { AgentLink, REQUEST_RETRIES } from './agent-link';
import { hex32 } from '../format/hex';

export type AgentEvent =
  | { kind: 'upload'; done: number; total: number }
  | { kind: 'running' }
  | { kind: 'programmed'; index: number }
  | { kind: 'erased'; index: number }
  | { kind: 'hashed'; count: number }
  | { kind: 'done'; status: number };

export interface AgentRunOptions {
  /** longest silence allowed between two frames of a running job (an erase of the largest sector, worst case) */
  frameTimeoutMs: number;
  onEvent?: (e: AgentEvent) => void;
}

export interface AgentRunnerConfig {
  /** the agent binary to upload: the committed one of the board's kind, or a signed image's */
  image: Uint8Array;
  /** SHA-256 of the engine module the host expects the agent to carry (its build/terminal.wasm, or the image's module) */
  moduleSha256: Uint8Array;
  /** the line's baud rate (the bootloader's; the agent keeps it) */
  baud: number;
  /** with no valid frame for this long the agent resets the part (0 = never) */
  idleTimeoutMs?: number;
  /** Ed25519 signature over `image` (signed images): written as the signature block at params + 64 */
  signature?: Uint8Array;
  /** ask the agent for this core clock after HELLO (when its HELLO says CLOCK is supported) */
  clockHz?: number;
  /**
   * Puts a part that reset back into its bootloader: a wired bench releases BOOT0 after entry,
   * so a system reset (RESET, power loss) starts the application unless the entry sequence is
   * played again (docs/reset-sequences.md). Absent: BOOT0 is held high (docs/agent.md, "Leaving").
   */
  reenter?: () => Promise<void>;
  /** read the image back before Go even when the upload went through without a retry */
  readBack?: boolean;
}

/** The agent announces itself within this long after Go (docs/agent.md, "Every wait has a timeout"). */
export const HELLO_TIMEOUT_MS = 1000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** The binary is uploaded again when HELLO's image CRC differs, at most this many times. */
export const UPLOAD_RETRIES = 2;
/** the image is read back in Read Memory's largest transfer */
const READBACK_CHUNK = 256;
/** ... and what differs in pieces of this size, written again until it reads back right */
const READBACK_PIECE = 64;
const READBACK_ROUNDS = 8;
/** A JOB that is not accepted is sent again this many times. */
export const JOB_RETRIES = 3;
/** Rounds of JOB sends (each ending in a STATUS that shows the agent alive but without the job) before giving up. */
export const JOB_ROUNDS = 3;
/** Silences of a job still running (STATUS says so) tolerated before giving up. */
const MAX_SILENT_WINDOWS = 5;
/** USART BRR with oversampling by 16: at least 16 (the mantissa's least value that gives a divider) */
const USART_BRR_MIN = 16;
/**
 * The most flash each agent kind takes in its parameter block (agent/src/flash_*.c
 * `flash_max_size`): F2 1 MiB, F4 2 MiB, L4 1 MiB; the size must be whole KiB. A block over it
 * makes the agent reset at once, so the runner refuses such a board up front.
 */
export const AGENT_FLASH_MAX: Readonly<Record<string, number>> = { f2: 1024 * 1024, f4: 2048 * 1024, l4: 1024 * 1024 };
const FLASH_SIZE_UNIT = 1024;

/** the smallest READ the runner falls back to on a noisy line */
export const READ_MIN = 64;

/** how a job ended: from its DONE frame, or from STATUS when the DONE was lost */
type JobEnd = Pick<Done, 'status' | 'resultLength'>;

const hexBytes = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Drives the terminal agent (docs/agent.md): uploads the binary and its parameter block with
 * Write Memory, starts it with Go, checks its HELLO (the module it carries, the image as it lies
 * in RAM), then runs jobs over the framed link: JOB, ACCEPT, PROGRESS, DONE, the result table in
 * DATA frames (a chunk lost on the line is fetched again with READ). Every wait has a timeout;
 * a request without an answer is repeated; a part that reset under the job is told apart from a
 * silent one by re-syncing with its bootloader. `leave` resets the part back into its bootloader.
 */
export class AgentRunner {
  private readonly header: AgentImageHeader;
  private readonly link: AgentLink;
  private readonly idleTimeoutMs: number;
  private hello: Hello | null = null;

  constructor(
    private readonly client: BootloaderClient,
    private readonly board: Board,
    private readonly config: AgentRunnerConfig,
  ) {
    if (!board.agent || !board.link) throw new SafetyError(`board ${board.id} has no agent: it is erased through the bootloader only`);
    try {
      this.header = parseImageHeader(config.image);
    } catch (err) {
      throw new SafetyError(`the agent binary for ${board.id} is not an agent image: ${(err as Error).message}`);
    }
    const h = this.header;
    if (h.kind !== board.agent.binary) throw new SafetyError(`the agent binary is of kind ${h.kind}, board ${board.id} runs kind ${board.agent.binary}`);
    if (h.load !== board.agent.load)
      throw new SafetyError(`the agent binary is linked at ${hex32(h.load)}, board ${board.id} loads its agent at ${hex32(board.agent.load)}`);
    if (h.size !== config.image.length) throw new SafetyError(`the agent binary has ${config.image.length} bytes, its header says ${h.size}`);
    if (hexBytes(h.moduleSha256) !== hexBytes(config.moduleSha256)) {
      throw new SafetyError(
        `the agent binary carries engine module ${hexBytes(h.moduleSha256)}, the host's module is ${hexBytes(config.moduleSha256)}: rebuild the agent (npm run build:agent)`,
      );
    }
    const flashMax = AGENT_FLASH_MAX[h.kind];
    if (board.flash.size % FLASH_SIZE_UNIT !== 0 || (flashMax !== undefined && board.flash.size > flashMax)) {
      throw new SafetyError(
        `board ${board.id} has ${board.flash.size} bytes of flash: the ${h.kind} agent takes whole KiB up to ${flashMax ?? 'its family maximum'} in its parameter block`,
      );
    }
    if (config.signature && config.signature.length !== 64) throw new SafetyError(`an agent signature has 64 bytes, got ${config.signature.length}`);
    // the agent sets BRR = round(clock / baud) with oversampling by 16: BRR below 16 gives no divider (USART_BRR in RM0090 and RM0351)
    const brr = Math.round(board.link.resetClockHz / config.baud);
    if (!(config.baud > 0) || brr < USART_BRR_MIN) {
      throw new InputError(
        `${config.baud} baud is more than the agent's USART can do at the reset clock of ${board.link.resetClockHz / 1e6} MHz (at most ${Math.floor(board.link.resetClockHz / USART_BRR_MIN)} baud; the bootloader itself autobauds up to 115200)`,
      );
    }
    this.link = new AgentLink(client.transport, config.baud);
    this.idleTimeoutMs = config.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /** The agent's HELLO once it runs (null before the first job and after a reset). */
  get announced(): Hello | null {
    return this.hello;
  }

  /** Uploads and starts the agent: binary, parameter block, signature block; Go; HELLO checked. */
  async start(onEvent?: (e: AgentEvent) => void): Promise<Hello> {
    const want = crc32(this.config.image);
    for (let upload = 0; ; upload++) {
      await this.upload(onEvent);
      const hello = await this.goAndHello();
      if (hello.imageCrc === want) {
        this.checkHello(hello);
        this.hello = hello;
        break;
      }
      // a byte garbled on the line that Write Memory's XOR missed: the agent runs, but not our image
      if (upload >= UPLOAD_RETRIES) {
        throw new DeviceError(
          `the agent image in RAM has CRC-32 ${hex32(hello.imageCrc)}, the binary ${hex32(want)}: garbled on the way in, ${UPLOAD_RETRIES + 1} uploads`,
        );
      }
      await this.resetToBootloader();
    }
    if (this.config.clockHz) await this.raiseClock(this.config.clockHz);
    return this.hello;
  }

  /** Write Memory of exactly the binary's bytes at its link address, then the parameter block (and signature block). */
  private async upload(onEvent?: (e: AgentEvent) => void): Promise<void> {
    const { image } = this.config;
    const link = this.board.link!;
    const retries = this.client.retries;
    await this.client.writeMemory(this.header.load, image, (done) => onEvent?.({ kind: 'upload', done, total: image.length }));
    // a line that garbled a frame may have garbled another in a way the XOR misses: read the image back before it runs
    if (this.client.retries > retries || this.config.readBack) await this.readBack(this.header.load, image);
    const params = encodeParams({
      baud: this.config.baud,
      coreClockHz: link.resetClockHz,
      usart: link.usart,
      usartClockRegister: link.usartClock.register,
      usartClockMask: link.usartClock.mask,
      gpio: link.gpio,
      gpioClockRegister: link.gpioClock.register,
      gpioClockMask: link.gpioClock.mask,
      tx: link.tx,
      rx: link.rx,
      af: link.af,
      idleTimeoutMs: this.idleTimeoutMs,
      // the host decides what the agent covers: the board's flash, not the part's size register (which can be wrong)
      flashSize: this.board.flash.size,
    });
    await this.client.writeMemory(this.header.params, params);
    if (this.config.signature) await this.client.writeMemory(this.header.params + SIGNATURE_BLOCK_OFFSET, encodeSignatureBlock(this.config.signature));
  }

  /**
   * Reads the image back before it is started, when the upload needed a retry (or always, with
   * `readBack`): Write Memory's XOR misses two flips of the same bit in one frame, and code
   * garbled that way might not even run to say HELLO (HELLO's image CRC catches the rest). A chunk that reads
   * differently (on the way in or back: Read Memory has no checksum) is written and read again.
   */
  private async readBack(address: number, image: Uint8Array): Promise<void> {
    // first the whole image in large reads, then what differed in small pieces (a small frame is garbled less often)
    let size = READBACK_CHUNK;
    let suspect: number[] = [];
    for (let o = 0; o < image.length; o += size) suspect.push(o);
    for (let round = 0; round < READBACK_ROUNDS && suspect.length; round++) {
      const bad: number[] = [];
      for (const o of suspect) {
        const want = image.subarray(o, o + size);
        const got = await this.client.readMemory(address + o, want.length);
        if (got.every((b, i) => b === want[i])) continue;
        for (let p = o; p < o + want.length; p += READBACK_PIECE) bad.push(p);
      }
      size = READBACK_PIECE;
      // rewrite what read wrong and read it again; a piece that was only misread costs one more read
      const wrong: number[] = [];
      for (const p of bad) {
        const want = image.subarray(p, p + size);
        const got = await this.client.readMemory(address + p, want.length);
        if (got.every((b, i) => b === want[i])) continue;
        await this.client.writeMemory(address + p, want);
        wrong.push(p);
      }
      suspect = wrong;
    }
    if (suspect.length)
      throw new DeviceError(
        `the agent image in RAM at ${hex32(address + suspect[0])} does not read back as written (${READBACK_ROUNDS} rounds): the line is too noisy`,
      );
  }

  /** Go, then HELLO within 1 s; a lost HELLO is asked for once; then one re-sync and Go again. */
  private async goAndHello(): Promise<Hello> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (attempt > 0 && !(await this.backInBootloader())) {
        throw new DeviceError(
          `the agent did not announce itself after Go at ${hex32(this.header.load)} (no HELLO within ${HELLO_TIMEOUT_MS} ms), and the bootloader no longer answers`,
        );
      }
      await this.link.flush();
      try {
        await this.client.go(this.header.load);
      } catch (err) {
        // identity and read protection were checked before: a Go refused now is a terminal that starts only signed code
        if (err instanceof NackError) {
          throw new SafetyError(
            `the terminal refused to start the agent (Go at ${hex32(this.header.load)} answered NACK): it runs only signed code, and this agent's signature is ${this.config.signature ? 'not from a key it trusts' : 'missing'} (signature missing or not trusted)`,
          );
        }
        throw err;
      }
      let f = await this.link.receiveFor(0, [REPLY.HELLO], HELLO_TIMEOUT_MS);
      // lost or garbled on the line: an agent that runs answers the HELLO request (as any request, up to 3 repeats)
      if (!f)
        f = await this.link.request(REQ.HELLO, new Uint8Array(0), REPLY.HELLO, HELLO_SIZE, 'HELLO').catch((err: unknown) => {
          if (err instanceof DeviceError) return null;
          throw err;
        });
      if (f && f.type !== REPLY.HELLO) f = null;
      if (f) {
        try {
          return decodeHello(f.payload);
        } catch (err) {
          if (err instanceof LinkPayloadError) throw new SafetyError(`the code started at ${hex32(this.header.load)} is not a poswipe agent: ${err.message}`);
          throw err;
        }
      }
    }
    throw new DeviceError(
      `the agent did not announce itself: no HELLO within ${HELLO_TIMEOUT_MS} ms of Go at ${hex32(this.header.load)}, twice (after a re-sync); is the board's link (USART, pins) right?`,
    );
  }

  private checkHello(h: Hello): void {
    const kind = this.board.agent!.binary;
    if (h.linkVersion !== LINK_VERSION) throw new SafetyError(`the agent speaks link version ${h.linkVersion}, this host ${LINK_VERSION}`);
    if (h.abiVersion !== ABI_VERSION) throw new SafetyError(`the agent's engine has ABI version ${h.abiVersion}, this host ${ABI_VERSION}`);
    if (h.kind !== kind) throw new SafetyError(`the agent announces kind ${h.kind}, board ${this.board.id} runs kind ${kind}`);
    if (hexBytes(h.moduleSha256) !== hexBytes(this.config.moduleSha256)) {
      throw new SafetyError(`the agent carries engine module ${hexBytes(h.moduleSha256)}, the host's module is ${hexBytes(this.config.moduleSha256)}: refused`);
    }
    if (h.jobMax < JOB_MAX || h.resultMax < RESULT_MAX)
      throw new SafetyError(`the agent takes jobs of ${h.jobMax} bytes and results of ${h.resultMax}, the ABI needs ${JOB_MAX} and ${RESULT_MAX}`);
  }

  private async raiseClock(hz: number): Promise<void> {
    if (!(this.hello!.flags & HELLO_FLAG_CLOCK)) return;
    const f = await this.link.request(REQ.CLOCK, encodeClock(hz), REPLY.CLOCK, 4, `CLOCK ${hz} Hz`);
    if (f.type === REPLY.CLOCK) {
      this.hello = { ...this.hello!, coreClockHz: decodeClock(f.payload) };
      return;
    }
    const e = decodeError(f.payload);
    if (e.reason !== LINK_ERROR.CLOCK_UNSUPPORTED) throw new DeviceError(`the agent refused CLOCK: ${LINK_ERROR_NAMES[e.reason] ?? `reason ${e.reason}`}`);
    // not supported at that value: the job runs at the reset clock
  }

  /** RESET: the agent answers OK and resets the part into its bootloader; then re-sync. */
  private async resetToBootloader(): Promise<void> {
    this.hello = null;
    try {
      await this.link.request(REQ.RESET, new Uint8Array(0), REPLY.OK, 0, 'RESET');
    } catch (err) {
      if (!(err instanceof DeviceError)) throw err;
      // no OK: the part may have reset already (idle timeout); the bootloader decides below
    }
    if (this.config.reenter) await this.config.reenter();
    await this.client.resync();
  }

  /** Re-sync with the bootloader; when it does not answer, the bench's entry sequence (if any) and again. */
  private async backInBootloader(): Promise<boolean> {
    try {
      await this.client.resync();
      return true;
    } catch (err) {
      if (!(err instanceof DeviceError) || !this.config.reenter) return false;
    }
    await this.config.reenter();
    try {
      await this.client.resync();
      return true;
    } catch (err) {
      if (err instanceof DeviceError) return false;
      throw err;
    }
  }

  /** At the end of a session: the agent resets the part back into its bootloader. */
  async leave(): Promise<void> {
    if (this.hello) await this.resetToBootloader();
  }

  /** Runs one job; returns the decoded result table (its status may report a HAL failure). */
  async run(spec: JobSpec, expectedBlocks: number, options: AgentRunOptions): Promise<ResultTable> {
    if (!this.hello) await this.start(options.onEvent);
    const job = encodeJob(spec);
    if (job.length > JOB_MAX) throw new DeviceError(`job of ${job.length} bytes exceeds the engine's JOB_MAX (${JOB_MAX})`);
    const seq = this.link.nextSeq();
    const chunks = new Map<number, Uint8Array>();
    const done = await this.follow(seq, job, chunks, options);
    options.onEvent?.({ kind: 'done', status: done.status });
    const bytes = await this.collect(seq, done, chunks);
    let table: ResultTable;
    try {
      table = decodeResult(bytes);
    } catch (err) {
      throw new DeviceError(`the agent's result table does not decode: ${(err as Error).message}`);
    }
    if (table.blockCount > expectedBlocks) throw new DeviceError(`the result table reports ${table.blockCount} blocks, the job had ${expectedBlocks}`);
    return table;
  }

  /** Sends the JOB until it is accepted, then follows its frames to DONE. DATA frames seen on the way are kept. */
  private async follow(seq: number, job: Uint8Array, chunks: Map<number, Uint8Array>, options: AgentRunOptions): Promise<JobEnd> {
    const jobTypes = [REPLY.ACCEPT, REPLY.PROGRESS, REPLY.DONE, REPLY.ERROR, REPLY.DATA];
    const acceptMs = this.link.answerTimeoutMs(job.length, 4);
    let sends = 0;
    let rounds = 0;
    /** one round: the JOB and up to JOB_RETRIES repeats until a frame of it comes */
    const sendJob = async (): Promise<Frame | null> => {
      if (++rounds > JOB_ROUNDS) return this.silentAgent(`the job was never accepted (${sends} sends in ${JOB_ROUNDS} rounds)`);
      for (let i = 0; i <= JOB_RETRIES; i++) {
        sends++;
        await this.link.send(REQ.JOB, seq, job);
        const f = await this.link.receiveFor(seq, jobTypes, acceptMs);
        if (f) return f;
      }
      return null;
    };
    let f = await sendJob();
    let silent = 0;
    for (;;) {
      if (f) {
        silent = 0;
        const done = this.onJobFrame(f, job.length, chunks, options);
        if (done) return done;
      } else {
        // silence: the JOB or the DONE may be lost (the agent waits for us), or the part reset
        const st = await this.status();
        if (st === null) return this.silentAgent('no frame of the job and no STATUS answer');
        if (st.jobSeq === seq && st.state === AGENT_STATE.DONE) return { status: st.status, resultLength: st.resultLength };
        if (st.jobSeq === seq && st.state === AGENT_STATE.TRAPPED)
          throw new DeviceError('the engine trapped on the terminal (the ERROR frame with the trap code was lost); the job did not complete');
        if (st.jobSeq === seq && st.state === AGENT_STATE.RUNNING) {
          if (++silent >= MAX_SILENT_WINDOWS)
            throw new DeviceError(`the agent has run the job for ${MAX_SILENT_WINDOWS} × ${options.frameTimeoutMs} ms without a frame`);
        } else {
          // the agent answers but never got this job (lost on a noisy line): another round
          f = await sendJob();
          continue;
        }
      }
      f = await this.link.receiveFor(seq, jobTypes, options.frameTimeoutMs);
    }
  }

  /** Acts on one frame of a running job; returns the DONE when it is one. */
  private onJobFrame(f: Frame, jobLength: number, chunks: Map<number, Uint8Array>, options: AgentRunOptions): Done | null {
    const ev = options.onEvent;
    try {
      switch (f.type) {
        case REPLY.ACCEPT: {
          const n = decodeAccept(f.payload);
          if (n !== jobLength) throw new DeviceError(`the agent accepted a job of ${n} bytes, the host sent ${jobLength}`);
          ev?.({ kind: 'running' });
          return null;
        }
        case REPLY.PROGRESS: {
          const p = decodeProgress(f.payload);
          if (p.kind === PROGRESS_KIND.PROGRAMMED) ev?.({ kind: 'programmed', index: p.value });
          else if (p.kind === PROGRESS_KIND.ERASED) ev?.({ kind: 'erased', index: p.value });
          else if (p.kind === PROGRESS_KIND.HASHED) ev?.({ kind: 'hashed', count: p.value });
          return null;
        }
        case REPLY.DATA: {
          const d = decodeData(f.payload);
          chunks.set(d.offset, d.bytes);
          return null;
        }
        case REPLY.DONE:
          return decodeDone(f.payload);
        case REPLY.ERROR:
          return this.refused(decodeError(f.payload));
      }
    } catch (err) {
      if (err instanceof LinkPayloadError) throw new DeviceError(`the agent sent a malformed frame: ${err.message}`);
      throw err;
    }
    return null;
  }

  private refused(e: { reason: number; detail: number }): never {
    if (e.reason === LINK_ERROR.TRAPPED) {
      const name = WASM_TRAP_NAMES[e.detail] ?? 'unknown trap';
      throw new DeviceError(`the engine trapped on the terminal: ${name} (wasm2c trap code ${e.detail}); the job did not complete`);
    }
    throw new DeviceError(`the agent refused the job: ${LINK_ERROR_NAMES[e.reason] ?? `reason ${e.reason}`} (detail ${e.detail})`);
  }

  /** STATUS, repeated as any request; null when the agent never answers. */
  private async status(): Promise<{ state: number; jobSeq: number; status: number; resultLength: number } | null> {
    try {
      const f = await this.link.request(REQ.STATUS, new Uint8Array(0), REPLY.STATUS, 12, 'STATUS');
      if (f.type !== REPLY.STATUS) return null;
      return decodeStatus(f.payload);
    } catch (err) {
      if (err instanceof DeviceError) return null;
      throw err;
    }
  }

  /**
   * The agent went silent: re-sync with the bootloader. If it answers, the part reset (power loss,
   * watchdog, reset line) and the agent is gone: it is uploaded again before the next job.
   */
  private async silentAgent(what: string): Promise<never> {
    this.hello = null;
    if (!(await this.backInBootloader())) {
      throw new DeviceError(`the agent stopped answering during the job (${what}) and the bootloader does not answer either: the terminal is not responding`);
    }
    throw new DeviceError(
      `the agent did not finish: the terminal reset or lost power during the job (${what}; its bootloader answers again, the agent in RAM is gone)`,
    );
  }

  /** The result table from the DATA frames after DONE; a chunk lost or garbled on the line is fetched with READ. */
  private async collect(seq: number, done: JobEnd, chunks: Map<number, Uint8Array>): Promise<Uint8Array> {
    const total = done.resultLength;
    if (total < RESULT_HEADER_SIZE || total > RESULT_MAX)
      throw new DeviceError(`the agent reports a result table of ${total} bytes (expected ${RESULT_HEADER_SIZE}..${RESULT_MAX})`);
    const offsets: number[] = [];
    for (let o = 0; o < total; o += DATA_CHUNK) offsets.push(o);
    const sizeAt = (o: number): number => Math.min(DATA_CHUNK, total - o);
    const good = (o: number, b: Uint8Array | undefined): boolean => b !== undefined && b.length === sizeAt(o);
    const last = offsets[offsets.length - 1];
    const chunkMs = this.link.answerTimeoutMs(0, 4 + DATA_CHUNK);
    // the stream: until every chunk is in, the last one arrived (later ones cannot follow), or silence
    while (!offsets.every((o) => good(o, chunks.get(o)))) {
      const f = await this.link.receiveFor(seq, [REPLY.DATA], chunkMs);
      if (!f) break;
      const d = decodeData(f.payload);
      chunks.set(d.offset, d.bytes);
      if (d.offset === last) break;
    }
    for (const o of offsets) {
      if (good(o, chunks.get(o))) continue;
      chunks.set(o, await this.read(o, sizeAt(o)));
    }
    const out = new Uint8Array(total);
    for (const o of offsets) out.set(chunks.get(o)!, o);
    return out;
  }

  /**
   * READ of one chunk of the result table. A READ whose DATA does not come (lost or garbled on a
   * noisy line: a 1 KiB frame is hit far more often than a small one) is asked again for half as
   * many bytes, down to READ_MIN bytes; the size grows back after each success.
   */
  private async read(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let size = DATA_CHUNK;
    let failures = 0;
    for (let at = 0; at < length;) {
      const n = Math.min(size, length - at);
      const seq = this.link.nextSeq();
      await this.link.send(REQ.READ, seq, encodeRead(offset + at, n));
      const f = await this.link.receiveFor(seq, [REPLY.DATA, REPLY.ERROR], this.link.answerTimeoutMs(6, 4 + n));
      if (f?.type === REPLY.ERROR) {
        const e = decodeError(f.payload);
        throw new DeviceError(`the agent refused READ at offset ${offset + at}: ${LINK_ERROR_NAMES[e.reason] ?? `reason ${e.reason}`}`);
      }
      const d = f ? decodeData(f.payload) : null;
      if (d && d.offset === offset + at && d.bytes.length === n) {
        out.set(d.bytes, at);
        at += n;
        failures = 0;
        size = Math.min(DATA_CHUNK, size * 2);
        continue;
      }
      if (size === READ_MIN && ++failures > REQUEST_RETRIES)
        throw new DeviceError(`the agent did not answer READ of ${n} bytes at offset ${offset + at} (${REQUEST_RETRIES + 1} tries)`);
      size = Math.max(READ_MIN, size >> 1);
    }
    return out;
  }
}
