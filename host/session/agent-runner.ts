import type { Board } from '../boards/types';
import { decodeResult, encodeJob, RESULT_HEADER_SIZE, RESULT_MAGIC, type JobSpec, type ResultTable } from '../engine/abi';
import { DeviceError, SafetyError } from '../errors';
import { AGENT_FRAME, REFUSE, REFUSE_REASONS, decodeAgentFrame, loadImage } from '../protocol/agent-frames';
import type { BootloaderClient } from '../protocol/client';

export type AgentEvent =
  | { kind: 'upload'; done: number; total: number }
  | { kind: 'running' }
  | { kind: 'programmed'; index: number }
  | { kind: 'erased'; index: number }
  | { kind: 'hashed'; count: number }
  | { kind: 'done'; status: number };

export interface AgentRunOptions {
  /** longest silence allowed between two agent frames (an erase of the largest sector, worst case) */
  frameTimeoutMs: number;
  onEvent?: (e: AgentEvent) => void;
}

/**
 * Drives the Wasm agent through the bootloader: uploads the module once (with its load header),
 * then for each job writes the job into RAM, starts the agent with Go, follows its frames, and
 * reads the result table back. Every step is checked: the job is read back before it runs, the
 * result area is cleared first so a stale table is never taken for a fresh one.
 */
export class AgentRunner {
  private uploaded = false;
  private readonly agent: NonNullable<Board['agent']>;

  constructor(
    private readonly client: BootloaderClient,
    board: Board,
    private readonly module: Uint8Array,
    private readonly signature: Uint8Array = new Uint8Array(0),
  ) {
    if (!board.agent) throw new SafetyError(`board ${board.id} has no room for the Wasm agent`);
    this.agent = board.agent;
  }

  async upload(onEvent?: (e: AgentEvent) => void): Promise<void> {
    const image = loadImage(this.module, this.signature);
    if (image.length > this.agent.moduleMax) {
      throw new SafetyError(`engine module (${image.length} bytes with header) does not fit the board's module area of ${this.agent.moduleMax} bytes`);
    }
    await this.client.writeMemory(this.agent.module, image, (done) => onEvent?.({ kind: 'upload', done, total: image.length }));
    this.uploaded = true;
  }

  /** Runs one job; returns the decoded result table (its status may report a HAL failure). */
  async run(spec: JobSpec, expectedBlocks: number, options: AgentRunOptions): Promise<ResultTable> {
    if (!this.uploaded) await this.upload(options.onEvent);
    const job = encodeJob(spec);
    if (job.length > this.agent.jobMax) throw new DeviceError(`job of ${job.length} bytes exceeds the board's job area (${this.agent.jobMax})`);
    for (let attempt = 0; ; attempt++) {
      await this.client.writeMemory(this.agent.result, new Uint8Array(RESULT_HEADER_SIZE));
      await this.writeChecked(this.agent.job, job);
      await this.client.go(this.agent.module);
      const outcome = await this.follow(options);
      await this.client.resync();
      if (outcome.refused !== null) {
        // a module garbled on the way in is refused by its CRC: send it again, once or twice
        if (outcome.refused === REFUSE.BAD_HEADER && attempt < 2) {
          await this.upload(options.onEvent);
          continue;
        }
        const why = REFUSE_REASONS[outcome.refused] ?? `reason ${outcome.refused}`;
        if (outcome.refused === REFUSE.SIGNATURE) throw new SafetyError(`the terminal refused the engine module: ${why}`);
        throw new DeviceError(`the terminal's agent refused the job: ${why}`);
      }
      const table = await this.readResult(expectedBlocks);
      if (table === 'missing') {
        // power lost or the part reset while the job ran: RAM (and the module) are gone
        this.uploaded = false;
        throw new DeviceError('the agent did not finish: the terminal reset or lost power during the job (no result table in RAM)');
      }
      return table;
    }
  }

  /** Writes a RAM area and reads it back, so that a frame garbled in a way its XOR misses is caught. */
  private async writeChecked(address: number, data: Uint8Array): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await this.client.writeMemory(address, data);
      const back = await this.client.readMemory(address, data.length);
      if (Buffer.compare(Buffer.from(back), Buffer.from(data)) === 0) return;
    }
    throw new DeviceError(`RAM at 0x${address.toString(16)} does not hold what was written (3 tries)`);
  }

  private async follow(options: AgentRunOptions): Promise<{ done: boolean; refused: number | null }> {
    const t = this.client.transport;
    let window: number[] = [];
    for (;;) {
      let b: Uint8Array;
      try {
        b = await t.read(1, options.frameTimeoutMs);
      } catch (err) {
        // silence: the done frame may have been lost on the line; the result header decides
        if (err instanceof DeviceError) return { done: false, refused: null };
        throw err;
      }
      window.push(b[0]);
      if (window.length < 4) continue;
      const f = decodeAgentFrame(window);
      if (!f) {
        window = window.slice(1);
        continue;
      }
      window = [];
      switch (f.tag) {
        case AGENT_FRAME.RUNNING:
          options.onEvent?.({ kind: 'running' });
          break;
        case AGENT_FRAME.PROGRAMMED:
          options.onEvent?.({ kind: 'programmed', index: f.value });
          break;
        case AGENT_FRAME.ERASED:
          options.onEvent?.({ kind: 'erased', index: f.value });
          break;
        case AGENT_FRAME.HASHED:
          options.onEvent?.({ kind: 'hashed', count: f.value });
          break;
        case AGENT_FRAME.DONE:
          options.onEvent?.({ kind: 'done', status: f.value });
          return { done: true, refused: null };
        case AGENT_FRAME.REFUSED:
          return { done: false, refused: f.value };
      }
    }
  }

  /** Reads block `index`'s digest again from a table of `blocks` blocks (Read Memory has no checksum). */
  async rereadDigest(index: number, blocks: number): Promise<Uint8Array> {
    const at = this.agent.result + RESULT_HEADER_SIZE + 4 * Math.ceil(blocks / 32) + 32 * index;
    return this.client.readMemory(at, 32);
  }

  /**
   * Reads the result table. Read Memory has no checksum, so a table that does not decode, or
   * whose count differs from the plan, is read again; digests are compared by the caller, who
   * may ask for a re-read of the table (`reread`).
   */
  async readResult(expectedBlocks: number): Promise<ResultTable | 'missing'> {
    let lastError: Error | null = null;
    for (let i = 0; i < 3; i++) {
      const header = await this.client.readMemory(this.agent.result, RESULT_HEADER_SIZE);
      const v = new DataView(header.buffer, header.byteOffset, header.byteLength);
      if (v.getUint32(0, true) === 0 && v.getUint32(4, true) === 0) return 'missing';
      if (v.getUint32(0, true) !== RESULT_MAGIC) {
        // garbage where the table should be: RAM after a reset, or a read garbled on the line
        lastError = new DeviceError('result table magic missing');
        continue;
      }
      const blocks = v.getUint32(12, true);
      if (blocks > expectedBlocks) {
        lastError = new DeviceError(`result table reports ${blocks} blocks, the job had ${expectedBlocks}`);
        continue;
      }
      const size = RESULT_HEADER_SIZE + 4 * Math.ceil(blocks / 32) + 32 * blocks;
      const rest = await this.client.readMemory(this.agent.result + RESULT_HEADER_SIZE, size - RESULT_HEADER_SIZE);
      const all = new Uint8Array(size);
      all.set(header);
      all.set(rest, RESULT_HEADER_SIZE);
      try {
        return decodeResult(all);
      } catch (err) {
        lastError = err as Error;
      }
    }
    // a header that never decodes is what RAM looks like after a power loss
    if (lastError && /magic/i.test(lastError.message)) return 'missing';
    throw new DeviceError(`cannot read the agent's result table: ${lastError?.message}`);
  }
}
