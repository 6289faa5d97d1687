/**
 * Test doubles for the agent, named as such: a hand-made agent image (a vector table and the
 * docs/agent.md header in front of filler bytes: it is NOT executable code) and a scripted fake
 * agent behind a minimal fake AN3155 bootloader on a fake transport, for the runner's tests. Both
 * follow docs/agent.md; neither is the real agent (agent/bin) nor the emulator's model of it.
 */
import { createHash } from 'node:crypto';
import { TimeoutError } from '../host/errors';
import { ACK, CMD, NACK, SYNC, xorOf } from '../host/protocol/frames';
import {
  AGENT_MAGIC,
  DATA_CHUNK,
  FrameParser,
  IMAGE_HEADER_OFFSET,
  LINK_VERSION,
  REPLY,
  REQ,
  crc32,
  PARAMS_SIZE,
  decodeParams,
  encodeAccept,
  encodeData,
  encodeDone,
  encodeError,
  encodeFrame,
  encodeHello,
  encodeProgress,
  encodeStatus,
  type AgentParams,
  type Frame,
} from '../host/protocol/link';
import type { LinkStats, Signals, Transport } from '../host/transport/types';

export interface FakeImageSpec {
  kind: string;
  load: number;
  size: number;
  params: number;
  ramEnd: number;
  moduleSha256: Uint8Array;
  agentVersion?: number;
}

/** An agent image with a correct vector table and header; the rest is a counting filler. */
export function fakeAgentImage(s: FakeImageSpec): Uint8Array {
  const out = new Uint8Array(s.size);
  for (let i = 0x8c; i < out.length; i++) out[i] = (i * 7) & 0xff;
  const v = new DataView(out.buffer);
  v.setUint32(0, s.ramEnd, true);
  v.setUint32(4, (s.load + 0x8c) | 1, true);
  for (let i = 8; i < 0x40; i += 4) v.setUint32(i, (s.load + 0x8c) | 1, true);
  const h = IMAGE_HEADER_OFFSET;
  [AGENT_MAGIC, 1, LINK_VERSION, 1, s.load, s.size, s.params, s.ramEnd].forEach((x, i) => v.setUint32(h + 4 * i, x >>> 0, true));
  out.set(new TextEncoder().encode(s.kind), h + 0x20);
  out.set(s.moduleSha256, h + 0x28);
  v.setUint32(h + 0x48, s.agentVersion ?? 1, true);
  return out;
}

export const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** What a scripted fake agent does; every hook defaults to docs/agent.md's behaviour. */
export interface FakeAgentScript {
  /** the HELLO after start: fields to override */
  hello?: Partial<Parameters<typeof encodeHello>[0]>;
  /** no HELLO at all after Go (the agent faulted, or the link is wrong) */
  silent?: boolean;
  /** computes the job's result table (the fake has no engine): bytes of the table */
  result: (job: Uint8Array) => Uint8Array;
  /** drop the n-th frame the agent sends (0-based, counted over the agent's life) */
  dropFrames?: number[];
  /** send ERROR reason 4 with this trap code instead of DONE */
  trap?: number;
  /** blocks hashed, for PROGRESS */
  progress?: { kind: number; value: number }[];
}

/**
 * A fake terminal: AN3155 sync, Write Memory and Go (just enough for the runner), and after Go
 * a scripted agent speaking the link of docs/agent.md. Time is virtual: a read that cannot be
 * answered advances the clock by its timeout and fails at once, as on the emulated transport.
 */
export class FakeTerminal implements Transport {
  readonly description = 'fake:agent';
  readonly ram = new Map<number, number>();
  readonly log: string[] = [];
  private out: number[] = [];
  private inBuf: number[] = [];
  private clockMs = 0;
  private mode: 'boot' | 'agent' | 'dead' = 'boot';
  private synced = false;
  private parser = new FrameParser();
  private sent = 0;
  private lastJob: { seq: number; frames: Frame[] } | null = null;
  counters: LinkStats = { bytesTx: 0, bytesRx: 0 };
  jobsRun = 0;
  /** the parameter block the agent read at its last start */
  params: AgentParams | null = null;
  goCount = 0;

  constructor(
    private readonly script: FakeAgentScript,
    private readonly image: { load: number; size: number; params: number; kind: string; moduleSha256: Uint8Array },
  ) {}

  async write(data: Uint8Array): Promise<void> {
    this.counters.bytesTx += data.length;
    this.clockMs += (data.length * 11 * 1000) / 115200;
    for (const b of data) this.inBuf.push(b);
    this.process();
  }

  async read(n: number, timeoutMs: number): Promise<Uint8Array> {
    if (this.out.length >= n) {
      const r = Uint8Array.from(this.out.splice(0, n));
      this.counters.bytesRx += n;
      return r;
    }
    this.clockMs += timeoutMs;
    throw new TimeoutError(`fake: expected ${n} byte(s), got ${this.out.length} within ${timeoutMs} ms`);
  }

  async discardInput(): Promise<void> {
    this.out = [];
  }
  async setSignals(_s: Signals): Promise<void> {}
  async sleep(ms: number): Promise<void> {
    this.clockMs += ms;
  }
  async close(): Promise<void> {}
  stats(): LinkStats {
    return { ...this.counters };
  }
  terminalTime(): number {
    return this.clockMs / 1000;
  }

  /** The part resets (power loss): RAM is lost, the bootloader waits for 0x7F. */
  powerCycle(): void {
    this.mode = 'boot';
    this.synced = false;
    this.bootState = { at: 'cmd' };
    this.ram.clear();
    this.inBuf = [];
    this.log.push('power cycle');
  }

  /** The part stops answering anything (neither agent nor bootloader). */
  kill(): void {
    this.mode = 'dead';
  }

  /** Flip one byte of RAM (a byte Write Memory's XOR did not catch). */
  garble(address: number): void {
    this.ram.set(address, (this.ram.get(address) ?? 0) ^ 0x40);
  }

  /** a hook run before each request the agent acts on; may power-cycle the part */
  onRequest?: (f: Frame, t: FakeTerminal) => 'drop' | void;

  readRam(address: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.ram.get(address + i) ?? 0;
    return out;
  }

  private emit(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.out.push(bytes[i]);
  }

  private frame(type: number, seq: number, payload?: Uint8Array): void {
    const n = this.sent++;
    if (this.script.dropFrames?.includes(n)) {
      this.log.push(`dropped frame ${n} (0x${type.toString(16)})`);
      return;
    }
    this.emit(encodeFrame(type, seq, payload));
  }

  private process(): void {
    for (;;) {
      if (this.mode === 'dead') {
        this.inBuf = [];
        return;
      }
      if (this.mode === 'agent') {
        const bytes = this.inBuf.splice(0);
        for (const f of this.parser.push(bytes)) {
          if (this.mode !== 'agent') return;
          this.request(f);
        }
        return;
      }
      if (!this.boot()) return;
    }
  }

  private bootState:
    { at: 'cmd' } | { at: 'wm-addr' } | { at: 'wm-data'; address: number } | { at: 'go-addr' } | { at: 'rm-addr' } | { at: 'rm-length'; address: number } = {
    at: 'cmd',
  };

  /** One bootloader step when enough bytes are there (AN3155, byte by byte as the ROM); false when it needs more. */
  private boot(): boolean {
    const b = this.inBuf;
    if (!b.length) return false;
    if (!this.synced) {
      if (b.shift() === SYNC) {
        this.synced = true;
        this.bootState = { at: 'cmd' };
        this.emit([ACK]);
      }
      return true;
    }
    const addressOf = (f: number[]): number => ((f[0] << 24) | (f[1] << 16) | (f[2] << 8) | f[3]) >>> 0;
    const st = this.bootState;
    switch (st.at) {
      case 'cmd': {
        if (b[0] === SYNC) {
          b.shift();
          this.emit([NACK]);
          return true;
        }
        if (b.length < 2) return false;
        const [code, check] = b.splice(0, 2);
        if ((code ^ check) !== 0xff || (code !== CMD.WRITE_MEMORY && code !== CMD.GO && code !== CMD.READ_MEMORY)) {
          this.emit([NACK]);
          return true;
        }
        this.emit([ACK]);
        this.bootState = { at: code === CMD.GO ? 'go-addr' : code === CMD.READ_MEMORY ? 'rm-addr' : 'wm-addr' };
        return true;
      }
      case 'rm-length': {
        if (b.length < 2) return false;
        const [n, c] = b.splice(0, 2);
        this.bootState = { at: 'cmd' };
        if ((n ^ c) !== 0xff) {
          this.emit([NACK]);
          return true;
        }
        this.emit([ACK, ...this.readRam(st.address, n + 1)]);
        return true;
      }
      case 'rm-addr':
      case 'wm-addr':
      case 'go-addr': {
        if (b.length < 5) return false;
        const f = b.splice(0, 5);
        if (xorOf(f.slice(0, 4)) !== f[4]) {
          this.emit([NACK]);
          this.bootState = { at: 'cmd' };
          return true;
        }
        this.emit([ACK]);
        if (st.at === 'rm-addr') {
          this.bootState = { at: 'rm-length', address: addressOf(f) };
          return true;
        }
        if (st.at === 'wm-addr') {
          this.bootState = { at: 'wm-data', address: addressOf(f) };
          return true;
        }
        this.bootState = { at: 'cmd' };
        this.goCount++;
        this.onGo?.(this);
        this.startAgent(addressOf(f));
        return true;
      }
      case 'wm-data': {
        if (b.length < 1 || b.length < b[0] + 3) return false;
        const n = b[0];
        const f = b.splice(0, n + 3);
        const data = f.slice(1, n + 2);
        this.bootState = { at: 'cmd' };
        if ((n ^ xorOf(data)) !== f[n + 2]) {
          this.emit([NACK]);
          return true;
        }
        data.forEach((x, i) => this.ram.set(st.address + i, x));
        this.emit([ACK]);
        return true;
      }
    }
  }

  /** a hook run at each Go, before the agent starts (a test may garble RAM here) */
  onGo?: (t: FakeTerminal) => void;

  private startAgent(addr: number): void {
    this.log.push(`go 0x${addr.toString(16)}`);
    this.params = decodeParams(this.readRam(this.image.params, PARAMS_SIZE));
    if (!this.params) {
      this.log.push('bad parameter block: reset');
      this.synced = false;
      return;
    }
    this.mode = 'agent';
    this.parser = new FrameParser();
    this.lastJob = null;
    if (this.script.silent) {
      this.mode = 'dead';
      return;
    }
    this.frame(REPLY.HELLO, 0, this.helloPayload());
  }

  private helloPayload(): Uint8Array {
    return encodeHello({
      linkVersion: LINK_VERSION,
      abiVersion: 1,
      agentVersion: 1,
      coreClockHz: this.params?.coreClockHz ?? 16e6,
      moduleSha256: this.image.moduleSha256,
      jobMax: 12376,
      resultMax: 16488,
      kind: this.image.kind,
      flags: 0,
      imageCrc: crc32(this.readRam(this.image.load, this.image.size)),
      ...this.script.hello,
    });
  }

  private request(f: Frame): void {
    if (this.onRequest?.(f, this) === 'drop') return;
    if (this.mode !== 'agent') return;
    this.log.push(`request 0x${f.type.toString(16)} seq ${f.seq}`);
    switch (f.type) {
      case REQ.HELLO:
        return this.frame(REPLY.HELLO, f.seq, this.helloPayload());
      case REQ.JOB: {
        if (this.lastJob && this.lastJob.seq === f.seq) {
          for (const g of this.lastJob.frames.filter((x) => x.type !== REPLY.ACCEPT && x.type !== REPLY.PROGRESS)) this.frame(g.type, g.seq, g.payload);
          return;
        }
        this.jobsRun++;
        const frames: Frame[] = [{ type: REPLY.ACCEPT, seq: f.seq, payload: encodeAccept(f.payload.length) }];
        for (const p of this.script.progress ?? []) frames.push({ type: REPLY.PROGRESS, seq: f.seq, payload: encodeProgress(p.kind, p.value) });
        if (this.script.trap !== undefined) {
          frames.push({ type: REPLY.ERROR, seq: f.seq, payload: encodeError(4, this.script.trap) });
        } else {
          const table = this.script.result(f.payload);
          const blocks = new DataView(table.buffer, table.byteOffset).getUint32(12, true);
          frames.push({ type: REPLY.DONE, seq: f.seq, payload: encodeDone({ status: 0, resultLength: table.length, blocks }) });
          for (let o = 0; o < table.length; o += DATA_CHUNK)
            frames.push({ type: REPLY.DATA, seq: f.seq, payload: encodeData(o, table.subarray(o, o + DATA_CHUNK)) });
          this.result = table;
        }
        this.lastJob = { seq: f.seq, frames };
        for (const g of frames) this.frame(g.type, g.seq, g.payload);
        return;
      }
      case REQ.READ: {
        const v = new DataView(f.payload.buffer, f.payload.byteOffset);
        const off = v.getUint32(0, true);
        const len = v.getUint16(4, true);
        if (!this.result || off + len > this.result.length) return this.frame(REPLY.ERROR, f.seq, encodeError(3, off));
        return this.frame(REPLY.DATA, f.seq, encodeData(off, this.result.subarray(off, off + len)));
      }
      case REQ.STATUS:
        return this.frame(
          REPLY.STATUS,
          f.seq,
          encodeStatus({ state: this.lastJob ? 2 : 0, jobSeq: this.lastJob?.seq ?? 0, status: 0, resultLength: this.result?.length ?? 0 }),
        );
      case REQ.RESET:
        this.frame(REPLY.OK, f.seq);
        this.mode = 'boot';
        this.synced = false;
        this.log.push('reset');
        return;
      default:
        return this.frame(REPLY.ERROR, f.seq, encodeError(1, f.type));
    }
  }

  private result: Uint8Array | null = null;
}
