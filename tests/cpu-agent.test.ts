import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import CRC32 from 'crc-32';
import type { EmulatedTerminal, TerminalOptions } from '../host/emulator/terminal';
import { CpuRunner } from '../host/emulator/cpu/machine';
import type { GoOutcome } from '../host/emulator/runner';
import { FAMILIES } from '../host/emulator/cpu/family';
import type { CpuKind } from '../host/emulator/cpu/family';
import { detachedTerminal } from './cpu-programs';

/**
 * The real agent (agent/bin/<kind>.bin, docs/agent.md) on the instruction-level terminal: the
 * image and its parameter block written into RAM, Go, HELLO, then jobs over the framed link,
 * their digests checked against node:crypto. Frames are built and parsed here with `crc-32`
 * (the host's codec is another module's job).
 */
const root = path.resolve(__dirname, '..', '..');
const manifestPath = path.join(root, 'agent', 'manifest.json');

interface AgentEntry {
  kind: CpuKind;
  binary: string;
  load: string;
  params: string;
  size: number;
}

function agentOf(kind: CpuKind): { image: Uint8Array; load: number; params: number } | null {
  if (!existsSync(manifestPath)) return null;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { agents: AgentEntry[] };
  const a = manifest.agents.find((x) => x.kind === kind);
  if (!a) return null;
  return { image: new Uint8Array(readFileSync(path.join(root, a.binary))), load: Number(a.load), params: Number(a.params) };
}

const skip = !CpuRunner.available()
  ? `instruction-level emulation unavailable: ${CpuRunner.unavailableReason()}`
  : !agentOf('f4')
    ? 'agent/manifest.json or agent/bin/f4.bin missing'
    : false;

const crc = (b: Uint8Array): number => CRC32.buf(b) >>> 0;

/** The 52-byte parameter block (docs/agent.md) for the family's wiring. */
export function parameterBlock(kind: CpuKind, baud: number, idleMs = 0): Uint8Array {
  const f = FAMILIES[kind];
  const b = new Uint8Array(52);
  const v = new DataView(b.buffer);
  const clock = kind === 'l4' ? 4_000_000 : 16_000_000;
  [0x42505750, 1, baud, clock, f.line.usart, f.line.usartEnable.register, f.line.usartEnable.mask, f.line.gpio, f.line.gpioEnable.register, f.line.gpioEnable.mask].forEach(
    (x, i) => v.setUint32(4 * i, x >>> 0, true),
  );
  b[40] = f.line.txPin;
  b[41] = f.line.rxPin;
  b[42] = f.line.af;
  v.setUint32(44, idleMs, true);
  v.setUint32(48, crc(b.subarray(0, 48)), true);
  return b;
}

export function frame(type: number, seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length + 4);
  out[0] = 0xa5;
  out[1] = type;
  out[2] = seq;
  out[3] = payload.length & 0xff;
  out[4] = payload.length >> 8;
  out.set(payload, 5);
  new DataView(out.buffer).setUint32(5 + payload.length, crc(out.subarray(1, 5 + payload.length)), true);
  return out;
}

export interface Frame {
  type: number;
  seq: number;
  payload: Uint8Array;
}

/** Reads frames from what the part emits; a byte sequence that is not a valid frame throws. */
export class FrameReader {
  private buf: number[] = [];
  /** set when the runner has resolved: no more bytes will come */
  ended: GoOutcome | null = null;
  constructor(private readonly t: EmulatedTerminal) {}

  async next(ms = 5000): Promise<Frame> {
    const until = Date.now() + ms;
    for (;;) {
      this.buf.push(...this.t.takeOutput(this.t.availableOutput()));
      if (this.buf.length > 0 && this.buf[0] !== 0xa5) throw new Error(`expected a frame start 0xA5, got 0x${this.buf[0].toString(16)}`);
      if (this.buf.length >= 5) {
        const len = this.buf[3] | (this.buf[4] << 8);
        if (this.buf.length >= 9 + len) {
          const bytes = Uint8Array.from(this.buf.splice(0, 9 + len));
          const want = new DataView(bytes.buffer).getUint32(5 + len, true);
          if (crc(bytes.subarray(1, 5 + len)) !== want) throw new Error('frame CRC wrong');
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
  ops: number;
  erase: Array<[number, number]>;
  hash: Array<[number, number]>;
  nonce: Uint8Array;
  blockSize: number;
}

/** The engine job (docs/abi.md). */
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

export function startAgent(kind: CpuKind, options: TerminalOptions = {}, edit?: (image: Uint8Array) => void): {
  t: EmulatedTerminal;
  running: Promise<GoOutcome>;
  frames: FrameReader;
  load: number;
} {
  const boardId = kind === 'f2' ? 'stm32f205' : kind === 'f4' ? 'stm32f407' : 'stm32l476';
  const t = detachedTerminal(boardId, options);
  const a = agentOf(kind)!;
  const image = a.image.slice();
  edit?.(image);
  t.ram.set(image, t.ramOffset(a.load, image.length)!);
  t.ram.set(parameterBlock(kind, t.baud), t.ramOffset(a.params, 52)!);
  const running = new CpuRunner().go(t, a.load);
  const frames = new FrameReader(t);
  void running.then((o) => (frames.ended = o));
  return { t, running, frames, load: a.load };
}

/** Sends a JOB and collects ACCEPT, PROGRESS..., DONE and the result table's DATA frames. */
async function runJob(t: EmulatedTerminal, frames: FrameReader, seq: number, job: Uint8Array): Promise<{ status: number; table: Uint8Array; progress: number }> {
  t.receive(frame(0x02, seq, job));
  const accept = await frames.next();
  assert.equal(accept.type, 0x82, `ACCEPT expected, got 0x${accept.type.toString(16)}`);
  let progress = 0;
  for (;;) {
    const f = await frames.next(30_000);
    assert.equal(f.seq, seq);
    if (f.type === 0x83) {
      progress++;
      continue;
    }
    assert.equal(f.type, 0x84, `DONE expected, got 0x${f.type.toString(16)}`);
    const v = new DataView(f.payload.buffer, f.payload.byteOffset);
    const status = v.getUint32(0, true);
    const length = v.getUint32(4, true);
    const table = new Uint8Array(length);
    for (let off = 0; off < length; ) {
      const d = await frames.next();
      assert.equal(d.type, 0x85);
      const at = new DataView(d.payload.buffer, d.payload.byteOffset).getUint32(0, true);
      assert.equal(at, off);
      table.set(d.payload.subarray(4), at);
      off += d.payload.length - 4;
    }
    return { status, table, progress };
  }
}

function digestsOf(table: Uint8Array): string[] {
  const v = new DataView(table.buffer, table.byteOffset);
  const n = v.getUint32(12, true);
  const at = 40 + 4 * Math.ceil(n / 32);
  return Array.from({ length: n }, (_, i) => Buffer.from(table.subarray(at + 32 * i, at + 32 * i + 32)).toString('hex'));
}

function expectedDigests(t: EmulatedTerminal, nonce: Uint8Array, ranges: Array<[number, number]>, blockSize: number): string[] {
  const out: string[] = [];
  for (const [address, size] of ranges) {
    for (let a = address; a < address + size; a += blockSize) {
      const n = Math.min(blockSize, address + size - a);
      const addr = Buffer.alloc(4);
      addr.writeUInt32LE(a >>> 0);
      out.push(createHash('sha256').update(nonce).update(addr).update(t.flash.read(a, n)).digest('hex'));
    }
  }
  return out;
}

test('agent f4: HELLO, a hash-only job over 1 MiB, an erase job, digests match node:crypto, RESET', { skip, timeout: 120_000 }, async () => {
  const { t, running, frames } = startAgent('f4');
  const hello = await frames.next();
  assert.equal(hello.type, 0x81);
  assert.equal(hello.seq, 0);
  assert.equal(hello.payload.length, 72);
  const hv = new DataView(hello.payload.buffer, hello.payload.byteOffset);
  assert.equal(hv.getUint32(0, true), 0x47415750);
  const a = agentOf('f4')!;
  assert.equal(hv.getUint32(68, true), crc(a.image), 'HELLO carries the CRC-32 of the image in RAM');

  const nonce = createHash('sha256').update('cpu-agent test').digest();
  const whole: Array<[number, number]> = [[0x08000000, 0x100000]];
  const hash = await runJob(t, frames, 1, jobBytes({ ops: 4, erase: [], hash: whole, nonce, blockSize: 4096 }));
  assert.equal(hash.status, 0);
  assert.deepEqual(digestsOf(hash.table), expectedDigests(t, nonce, whole, 4096));

  const sectors = t.flash.sectors.map((s): [number, number] => [s.address, s.size]);
  const erase = await runJob(t, frames, 2, jobBytes({ ops: 2 | 4, erase: sectors, hash: whole, nonce, blockSize: 4096 }));
  assert.equal(erase.status, 0);
  assert.ok(t.flash.bytes.every((b) => b === 0xff), 'every byte erased');
  assert.deepEqual(digestsOf(erase.table), expectedDigests(t, nonce, whole, 4096));
  assert.ok(erase.progress >= sectors.length);

  t.receive(frame(0x05, 3, new Uint8Array(0)));
  const ok = await frames.next();
  assert.equal(ok.type, 0x87);
  assert.deepEqual(await running, { kind: 'reset', why: 'SYSRESETREQ' });
});
