import { DeviceError, TimeoutError } from '../errors';
import { FRAME_OVERHEAD, FrameParser, REPLY, encodeFrame, type Frame } from '../protocol/link';
import type { Transport } from '../transport/types';

/** A receiver drops a partial frame after this long without a byte (docs/agent.md, "Frames"). */
export const INTER_BYTE_TIMEOUT_MS = 100;
/** Every answer may take this long, plus the line time of the request and the answer. */
export const ANSWER_TIMEOUT_MS = 1000;
/** A request that gets no answer is sent again this many times. */
export const REQUEST_RETRIES = 3;
/** 8 data bits + even parity + start and stop bit */
const BITS_PER_BYTE = 11;

/**
 * The host's end of the agent link over a transport: frames out, good frames in (the parser drops
 * bad ones), and requests that are sent again with the same sequence number when their answer
 * does not come (the agent answers a repeat without acting twice). Waits are measured on the
 * transport's terminal clock, so they are virtual on the emulator and real on a serial port.
 */
export class AgentLink {
  private readonly parser = new FrameParser();
  private readonly queue: Frame[] = [];
  private seq = 0;

  constructor(
    private readonly transport: Transport,
    readonly baud: number,
  ) {}

  /** frames the parser dropped for a bad CRC, a bad length or a timeout */
  get dropped(): number {
    return this.parser.dropped;
  }

  /** The next request's sequence number: 1..255, then 1 again (0 is the agent's HELLO after start). */
  nextSeq(): number {
    this.seq = (this.seq % 255) + 1;
    return this.seq;
  }

  /** Milliseconds `bytes` take on the line at the session's baud rate. */
  lineMs(bytes: number): number {
    return Math.ceil((bytes * BITS_PER_BYTE * 1000) / this.baud);
  }

  /** The answer timeout for a request of `requestPayload` bytes answered with `answerPayload` bytes. */
  answerTimeoutMs(requestPayload: number, answerPayload: number): number {
    return ANSWER_TIMEOUT_MS + this.lineMs(2 * FRAME_OVERHEAD + requestPayload + answerPayload);
  }

  async send(type: number, seq: number, payload?: Uint8Array): Promise<void> {
    await this.transport.write(encodeFrame(type, seq, payload));
  }

  /** Forgets frames and partial bytes received so far (after the part was reset). */
  async flush(): Promise<void> {
    this.queue.length = 0;
    this.parser.reset();
    await this.transport.discardInput();
  }

  private now(): number {
    return this.transport.terminalTime() * 1000;
  }

  /**
   * The next good frame, or null when none arrives within `timeoutMs`. Bytes already received
   * when the time is up are still parsed (on the emulator a job's frames may all carry one late
   * time stamp); only a line that stays quiet ends the wait.
   */
  async receive(timeoutMs: number): Promise<Frame | null> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      const f = this.queue.shift();
      if (f) return f;
      const left = deadline - this.now();
      // the rest of a frame whose length is known in one read (as long as its bytes take on the line); else byte by byte
      const rest = this.parser.missing;
      const n = rest > 1 ? rest : 1;
      const wait = left <= 0 ? 1 : this.parser.partial ? Math.min(INTER_BYTE_TIMEOUT_MS + (n > 1 ? this.lineMs(n) : 0), left) : left;
      let byte: Uint8Array;
      try {
        byte = await this.transport.read(n, Math.max(1, Math.ceil(wait)));
      } catch (err) {
        if (!(err instanceof TimeoutError)) throw err;
        if (this.parser.partial) this.queue.push(...this.parser.expire());
        if (left <= 0 && this.queue.length === 0) return null;
        continue;
      }
      this.queue.push(...this.parser.push(byte));
    }
  }

  /** The next frame with sequence number `seq` whose type is in `types`, or null after `timeoutMs`; others are dropped. */
  async receiveFor(seq: number, types: readonly number[], timeoutMs: number): Promise<Frame | null> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      const f = await this.receive(Math.max(0, deadline - this.now()));
      if (!f) return null;
      if (f.seq === seq && types.includes(f.type)) return f;
      if (this.now() > deadline && this.queue.length === 0 && !this.parser.partial) return null;
    }
  }

  /**
   * Sends a request and waits for its answer (or an ERROR with the same sequence number), sending
   * it again up to REQUEST_RETRIES times; DeviceError naming `what` when it never comes.
   */
  async request(type: number, payload: Uint8Array, answer: number, answerBytes: number, what: string): Promise<Frame> {
    const seq = this.nextSeq();
    const timeout = this.answerTimeoutMs(payload.length, answerBytes);
    for (let attempt = 0; attempt <= REQUEST_RETRIES; attempt++) {
      await this.send(type, seq, payload);
      const f = await this.receiveFor(seq, [answer, REPLY.ERROR], timeout);
      if (f) return f;
    }
    throw new DeviceError(`the agent did not answer ${what} (${REQUEST_RETRIES + 1} tries, ${timeout} ms each)`);
  }
}
