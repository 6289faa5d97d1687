/**
 * The model of the agent against the committed f4 agent's own bytes executed by QEMU
 * (`qemu-system-arm -M netduinoplus2`, an STM32F405): the same requests to both, and every
 * frame they answer must be the same, byte for byte.
 *
 * QEMU models no flash interface, RCC or system memory, so only what needs none of them is
 * compared: HELLO, STATUS, READ, ERROR answers, the receiver's re-hunt, a JOB with no ranges
 * (the engine runs end to end), its repeat, a CLOCK refusal and RESET; and, with a parameter
 * block that gives the flash size (so the size register QEMU does not map is never read) and
 * the same 1 MiB flash image on both, a hash job (PROGRESS, DONE, the digests in DATA) and a
 * READ of its table. Erase and program are compared at instruction level
 * (tests/agent-model.test.ts). QEMU clocks the core at 168 MHz whatever
 * RCC says, so both get a parameter block that says 168 MHz.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { agentOfKind, loadAgentManifest } from '../host/agent/manifest';
import { encodeJob } from '../host/engine/abi';
import { FrameParser, REQ, encodeClock, encodeFrame, encodeParams, encodeRead, type Frame } from '../host/protocol/link';
import { BootloaderClient } from '../host/protocol/client';
import { ROOT, emulated, toolSkip } from './helpers';

const QEMU_CORE_HZ = 168_000_000;

function hasQemu(): boolean {
  return spawnSync('sh', ['-c', 'command -v qemu-system-arm'], { encoding: 'utf8' }).status === 0;
}

const committed = existsSync(path.join(ROOT, 'agent', 'manifest.json'));
const skip = !committed ? 'the agent binaries are not committed (agent/manifest.json)' : toolSkip(hasQemu() ? false : 'qemu-system-arm is not installed');

const lineParams = {
  baud: 115200,
  coreClockHz: QEMU_CORE_HZ,
  usart: 0x40011000,
  usartClockRegister: 0x40023844,
  usartClockMask: 1 << 4,
  gpio: 0x40020000,
  gpioClockRegister: 0x40023830,
  gpioClockMask: 1 << 0,
  tx: 9,
  rx: 10,
  af: 7,
  idleTimeoutMs: 0,
};
const params = encodeParams({ ...lineParams, flashSize: 0 }); // the size register, which QEMU does not map: no flash reads
const FLASH_SIZE = 1024 * 1024; // the F405 QEMU models and the F407 board
const flashParams = encodeParams({ ...lineParams, flashSize: FLASH_SIZE }); // the board's 1 MiB: hal.read never touches the size register

const noRanges = encodeJob({
  ops: { hash: true },
  blockSize: 4096,
  erasedValue: 0xff,
  pattern: null,
  erase: [],
  hash: [],
  program: [],
  nonce: Uint8Array.from({ length: 32 }, (_, i) => i),
});
const inner = encodeFrame(REQ.READ, 10, encodeRead(8, 4));
const badOuter = new Uint8Array([0xa5, REQ.STATUS, 10, inner.length & 0xff, inner.length >> 8, ...inner, 0, 0, 0, 0]);

/** requests (bytes to send) and how many frames answer each; the first step is the HELLO after Go */
const SCRIPT: { send: Uint8Array; frames: number }[] = [
  { send: new Uint8Array(0), frames: 1 },
  { send: encodeFrame(REQ.HELLO, 1), frames: 1 },
  { send: encodeFrame(REQ.STATUS, 2), frames: 1 },
  { send: encodeFrame(REQ.READ, 3, encodeRead(0, 16)), frames: 1 }, // before any job: ERROR 3
  { send: encodeFrame(0x09, 4), frames: 1 }, // unknown type: ERROR 1
  { send: encodeFrame(REQ.JOB, 5, noRanges), frames: 3 }, // ACCEPT, DONE, DATA
  { send: encodeFrame(REQ.JOB, 5, noRanges), frames: 2 }, // repeat: DONE, DATA
  { send: encodeFrame(REQ.STATUS, 6), frames: 1 },
  { send: encodeFrame(REQ.JOB, 7, new TextEncoder().encode('short')), frames: 1 }, // ERROR 2
  { send: Uint8Array.of(0xa5, 0x01, 0x02, 0xff, 0xff, ...encodeFrame(REQ.READ, 8, encodeRead(0, 40))), frames: 1 }, // over-long length, then a good frame
  { send: badOuter, frames: 1 }, // a bad frame hiding a good one
  { send: encodeFrame(REQ.READ, 11, encodeRead(0, 41)), frames: 1 }, // past the table: ERROR 3
  { send: encodeFrame(REQ.CLOCK, 12, encodeClock(1234)), frames: 1 }, // ERROR 5
  { send: encodeFrame(REQ.CLOCK, 13, encodeClock(0)), frames: 1 }, // not from the reset clock: ERROR 5
  { send: encodeFrame(REQ.HELLO, 14, Uint8Array.of(1)), frames: 1 }, // ERROR 2
  { send: encodeFrame(REQ.RESET, 15), frames: 1 }, // OK
];

/** a hash job over 256 KiB (64 blocks: one PROGRESS, a 2,096-byte result table in 3 DATA frames), then a READ of the table */
const HASH_SCRIPT: { send: Uint8Array; frames: number }[] = [
  { send: new Uint8Array(0), frames: 1 },
  {
    send: encodeFrame(
      REQ.JOB,
      1,
      encodeJob({
        ops: { hash: true },
        blockSize: 4096,
        erasedValue: 0xff,
        pattern: null,
        erase: [],
        hash: [{ address: 0x08000000 + 0x40000, size: 0x40000 }],
        program: [],
        nonce: Uint8Array.from({ length: 32 }, (_, i) => 255 - i),
      }),
    ),
    frames: 6,
  },
  { send: encodeFrame(REQ.READ, 2, encodeRead(40, 64)), frames: 1 },
  { send: encodeFrame(REQ.RESET, 3), frames: 1 },
];

/** 1 MiB of xorshift32 content with the vector table {SP, entry | 1} QEMU boots from at the start */
function flashImage(vectors: Uint8Array): Uint8Array {
  const out = new Uint8Array(FLASH_SIZE);
  const v = new DataView(out.buffer);
  let x = 0x1234567;
  for (let i = 0; i < out.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v.setUint32(i, x >>> 0, true);
  }
  out.set(vectors, 0);
  return out;
}

const hex = (f: Frame): string => Buffer.from(encodeFrame(f.type, f.seq, f.payload)).toString('hex');

/** Runs SCRIPT over a byte stream; `read` yields the next frame or throws on timeout. */
async function play(script: typeof SCRIPT, send: (b: Uint8Array) => Promise<void>, read: () => Promise<Frame>): Promise<string[]> {
  const out: string[] = [];
  for (const step of script) {
    if (step.send.length) await send(step.send);
    for (let i = 0; i < step.frames; i++) out.push(hex(await read()));
  }
  return out;
}

interface Scenario {
  script: typeof SCRIPT;
  params: Uint8Array;
  /** the flash both start with; absent: the model's default image and QEMU's flash empty but for the vector table */
  flash?: Uint8Array;
}

async function onModel(sc: Scenario): Promise<string[]> {
  const agent = agentOfKind(loadAgentManifest(), 'f4');
  const { transport } = emulated('stm32f407', { emulation: 'model', ...(sc.flash ? { image: sc.flash } : {}) });
  const client = new BootloaderClient(transport);
  await client.sync();
  await client.writeMemory(agent.load, agent.bytes);
  await client.writeMemory(agent.params, sc.params);
  await client.go(agent.load);
  const parser = new FrameParser();
  const pending: Frame[] = [];
  return play(
    sc.script,
    (b) => transport.write(b),
    async () => {
      while (!pending.length) pending.push(...parser.push(await transport.read(1, 1000)));
      return pending.shift()!;
    },
  );
}

async function onQemu(sc: Scenario): Promise<string[]> {
  const agent = agentOfKind(loadAgentManifest(), 'f4');
  const dir = mkdtempSync(path.join(tmpdir(), 'poswipe-qemu-'));
  const vectors = path.join(dir, 'vectors.bin');
  const sp = new DataView(agent.bytes.buffer, agent.bytes.byteOffset).getUint32(0, true);
  const word = (x: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(x >>> 0);
    return b;
  };
  const table = Buffer.concat([word(sp), word(agent.entry)]); // what Go does: SP from word 0, PC from word 1
  writeFileSync(vectors, sc.flash ?? table);
  writeFileSync(path.join(dir, 'agent.bin'), agent.bytes);
  writeFileSync(path.join(dir, 'params.bin'), sc.params);
  const port = 4600 + (process.pid % 1000);
  const qemu = spawn(
    'qemu-system-arm',
    [
      ...['-M', 'netduinoplus2', '-nographic', '-monitor', 'none', '-kernel', vectors],
      ...['-device', `loader,file=${path.join(dir, 'agent.bin')},addr=0x${agent.load.toString(16)},force-raw=on`],
      ...['-device', `loader,file=${path.join(dir, 'params.bin')},addr=0x${agent.params.toString(16)},force-raw=on`],
      ...['-serial', `tcp:127.0.0.1:${port},server=on,wait=on`],
    ],
    { stdio: 'ignore' },
  );
  try {
    let sock: Socket | null = null;
    for (let i = 0; i < 100 && !sock; i++) {
      sock = await new Promise<Socket | null>((resolve) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', () => resolve(null));
      });
      if (!sock) await new Promise((r) => setTimeout(r, 50));
    }
    if (!sock) throw new Error(`QEMU did not open its serial socket on port ${port} within 5 s`);
    const parser = new FrameParser();
    const pending: Frame[] = [];
    let wake: (() => void) | null = null;
    sock.on('data', (chunk: Buffer) => {
      pending.push(...parser.push(chunk));
      wake?.();
    });
    const frames = await play(
      sc.script,
      (b) => new Promise<void>((resolve) => sock!.write(b, () => resolve())),
      async () => {
        const deadline = Date.now() + 5000;
        while (!pending.length) {
          if (Date.now() > deadline) throw new Error('no frame from the agent on QEMU within 5 s');
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 100);
          });
        }
        return pending.shift()!;
      },
    );
    sock.destroy();
    return frames;
  } finally {
    qemu.kill();
  }
}

test('the model and the f4 agent on QEMU answer the same requests with the same frames, byte for byte', { skip, timeout: 60_000 }, async () => {
  const qemu = await onQemu({ script: SCRIPT, params });
  const model = await onModel({ script: SCRIPT, params });
  assert.equal(model.length, qemu.length);
  model.forEach((f, i) => assert.equal(f, qemu[i], `frame ${i}`));
});

test(
  'QEMU has no flash controller (no erase here): a hash job over 256 KiB of the same flash image gives the same frames (PROGRESS, DONE, DATA with the digests) from the model and the f4 agent on QEMU',
  { skip, timeout: 60_000 },
  async () => {
    const agent = agentOfKind(loadAgentManifest(), 'f4');
    const v = new DataView(agent.bytes.buffer, agent.bytes.byteOffset);
    const vectors = new Uint8Array(8);
    new DataView(vectors.buffer).setUint32(0, v.getUint32(0, true), true);
    new DataView(vectors.buffer).setUint32(4, agent.entry, true);
    const flash = flashImage(vectors);
    const qemu = await onQemu({ script: HASH_SCRIPT, params: flashParams, flash });
    const model = await onModel({ script: HASH_SCRIPT, params: flashParams, flash });
    assert.equal(model.length, qemu.length);
    model.forEach((f, i) => assert.equal(f, qemu[i], `frame ${i}`));
  },
);
