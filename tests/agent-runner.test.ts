/**
 * The host's agent runner (host/session/agent-runner.ts) against a scripted fake agent behind a
 * minimal fake bootloader (tests/fake-agent.ts): upload, parameter block, HELLO checks, jobs,
 * lost and garbled frames, traps, resets. The fake is not the agent: it follows docs/agent.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { loadBoard } from '../host/boards/load';
import { RESULT_MAGIC, encodeJob, type JobSpec } from '../host/engine/abi';
import { DeviceError, SafetyError } from '../host/errors';
import { BootloaderClient } from '../host/protocol/client';
import { REQ, encodeSignatureBlock } from '../host/protocol/link';
import { AgentRunner, type AgentEvent } from '../host/session/agent-runner';
import { FakeTerminal, fakeAgentImage, sha256, type FakeAgentScript } from './fake-agent';

const board = loadBoard('stm32f407');
const LOAD = 0x20003000;
const PARAMS = 0x20004000;
const moduleSha = sha256(new TextEncoder().encode('the engine module'));
const image = fakeAgentImage({ kind: 'f4', load: LOAD, size: 0x1000, params: PARAMS, ramEnd: 0x20016000, moduleSha256: moduleSha });

/** A result table of `blocks` blocks whose digest i is SHA-256 of i (the fake has no engine). */
function table(blocks: number): Uint8Array {
  const bitmap = 4 * Math.ceil(blocks / 32);
  const out = new Uint8Array(40 + bitmap + 32 * blocks);
  const v = new DataView(out.buffer);
  v.setUint32(0, RESULT_MAGIC, true);
  v.setUint32(4, 1, true);
  v.setUint32(12, blocks, true);
  for (let i = 0; i < blocks; i++) out.set(createHash('sha256').update(String(i)).digest(), 40 + bitmap + 32 * i);
  return out;
}

const job: JobSpec = {
  ops: { hash: true },
  blockSize: 4096,
  erasedValue: 0xff,
  pattern: null,
  erase: [],
  program: [],
  hash: [{ address: 0x08000000, size: 100 * 4096 }],
  nonce: new Uint8Array(32).fill(1),
};

function setup(script: Partial<FakeAgentScript> = {}, config: Partial<ConstructorParameters<typeof AgentRunner>[2]> = {}) {
  const t = new FakeTerminal({ result: () => table(100), ...script }, { load: LOAD, size: image.length, params: PARAMS, kind: 'f4', moduleSha256: moduleSha });
  const client = new BootloaderClient(t);
  const runner = new AgentRunner(client, board, { image, moduleSha256: moduleSha, baud: 115200, ...config });
  return { t, client, runner };
}

const run = (runner: AgentRunner, events?: AgentEvent[]) => runner.run(job, 100, { frameTimeoutMs: 6000, onEvent: (e) => events?.push(e) });

test('upload: exactly the binary at its link address, then the parameter block from the board link; HELLO; a job; RESET back to the bootloader', async () => {
  const { t, client, runner } = setup({ progress: [{ kind: 3, value: 64 }] });
  await client.sync();
  const events: AgentEvent[] = [];
  const r = await run(runner, events);
  assert.deepEqual([...t.readRam(LOAD, image.length)], [...image]);
  const written = [...t.ram.keys()].sort((a, b) => a - b);
  assert.deepEqual(
    written,
    [...Array.from({ length: image.length }, (_, i) => LOAD + i), ...Array.from({ length: 56 }, (_, i) => PARAMS + i)],
    'exactly the image and the parameter block',
  );
  assert.deepEqual(
    t.params,
    {
      baud: 115200,
      coreClockHz: 16e6,
      usart: 0x40011000,
      usartClockRegister: 0x40023844,
      usartClockMask: 0x10,
      gpio: 0x40020000,
      gpioClockRegister: 0x40023830,
      gpioClockMask: 0x1,
      tx: 9,
      rx: 10,
      af: 7,
      idleTimeoutMs: 60000,
      flashSize: 0x100000,
    },
    "the board's flash size, not the size register's",
  );
  assert.equal(t.ram.has(PARAMS + 64), false, 'no signature block for an unsigned session');
  assert.equal(r.blockCount, 100);
  assert.deepEqual([...r.digests[99]], [...createHash('sha256').update('99').digest()]);
  assert.ok(events.some((e) => e.kind === 'upload'));
  assert.deepEqual(
    events.filter((e) => e.kind !== 'upload').map((e) => e.kind),
    ['running', 'hashed', 'done'],
  );
  assert.ok(runner.announced);
  assert.equal(t.goCount, 1);
  // a second job: no second upload
  await run(runner);
  assert.equal(t.goCount, 1);
  assert.equal(t.jobsRun, 2);
  await runner.leave();
  assert.ok(t.log.includes('reset'));
  assert.equal(runner.announced, null);
});

test('the job the agent receives is the job the host encoded', async () => {
  let got: Uint8Array | null = null;
  const { client, runner } = setup({ result: (j) => ((got = j), table(100)) });
  await client.sync();
  await run(runner);
  assert.deepEqual([...got!], [...encodeJob(job)]);
});

test('signed: the signature block {PWSG, 64, signature} at params + 64', async () => {
  const signature = new Uint8Array(64).fill(0x5a);
  const { t, client, runner } = setup({}, { signature });
  await client.sync();
  await runner.start();
  assert.deepEqual([...t.readRam(PARAMS + 64, 72)], [...encodeSignatureBlock(signature)]);
});

test('no HELLO: one re-sync and Go again, then a DeviceError saying the agent did not announce itself', async () => {
  const { t, client, runner } = setup({ silent: true });
  await client.sync();
  await assert.rejects(
    run(runner),
    (err: Error) => err instanceof DeviceError && /did not announce itself.*the bootloader no longer answers/.test(err.message),
  );
  assert.equal(t.goCount, 1);
});

test('no HELLO and the part answers the re-sync: Go is sent twice', async () => {
  const { t, client, runner } = setup({ silent: true });
  t.onGo = (term) => {
    // the part faulted and its reset line brought it back to the bootloader
    if (term.goCount === 1) queueMicrotask(() => term.powerCycle());
  };
  await client.sync();
  await assert.rejects(run(runner), /did not announce itself: no HELLO within 1000 ms of Go at 0x20003000, twice/);
  assert.equal(t.goCount, 2);
});

test('a HELLO with another module hash is refused for safety, naming both hashes', async () => {
  const other = sha256(new TextEncoder().encode('another engine'));
  const { client, runner } = setup({ hello: { moduleSha256: other } });
  await client.sync();
  await assert.rejects(run(runner), (err: Error) => {
    assert.ok(err instanceof SafetyError);
    assert.ok(err.message.includes(Buffer.from(other).toString('hex')));
    assert.ok(err.message.includes(Buffer.from(moduleSha).toString('hex')));
    return true;
  });
});

test('an agent binary whose header names another module is refused before anything is written', () => {
  const t = new FakeTerminal({ result: () => table(1) }, { load: LOAD, size: image.length, params: PARAMS, kind: 'f4', moduleSha256: moduleSha });
  assert.throws(() => new AgentRunner(new BootloaderClient(t), board, { image, moduleSha256: sha256(Uint8Array.of(1)), baud: 115200 }), SafetyError);
  assert.throws(
    () => new AgentRunner(new BootloaderClient(t), loadBoard('stm32l476'), { image, moduleSha256: moduleSha, baud: 115200 }),
    /kind f4, board stm32l476 runs kind l4/,
  );
  const huge = { ...board, flash: { ...board.flash, size: 4096 * 1024 } };
  assert.throws(
    () => new AgentRunner(new BootloaderClient(t), huge, { image, moduleSha256: moduleSha, baud: 115200 }),
    /4194304 bytes of flash: the f4 agent takes whole KiB up to 2097152/,
  );
  assert.equal(t.ram.size, 0);
});

test('image CRC differs (a byte garbled in RAM): RESET, upload again, then it runs', async () => {
  const { t, client, runner } = setup();
  t.onGo = (term) => {
    if (term.goCount === 1) term.garble(LOAD + 0x200);
  };
  await client.sync();
  const r = await run(runner);
  assert.equal(r.blockCount, 100);
  assert.equal(t.goCount, 2);
  assert.ok(t.log.includes('reset'));
});

test('image CRC differs every time: a DeviceError after three uploads', async () => {
  const { t, client, runner } = setup({ hello: { imageCrc: 0x12345678 } });
  await client.sync();
  await assert.rejects(run(runner), (err: Error) => err instanceof DeviceError && /CRC-32 0x12345678.*3 uploads/.test(err.message));
  assert.equal(t.goCount, 3);
});

test('a DATA chunk lost on the line is fetched with READ', async () => {
  // frames: 0 HELLO, 1 ACCEPT, 2 DONE, 3.. DATA (3256 bytes = 4 chunks)
  const { t, client, runner } = setup({ dropFrames: [4] });
  await client.sync();
  const r = await run(runner);
  assert.equal(r.blockCount, 100);
  assert.deepEqual([...r.digests[40]], [...createHash('sha256').update('40').digest()]);
  assert.equal(t.log.filter((l) => l.startsWith(`request 0x${REQ.READ.toString(16)}`)).length, 1);
});

test('the last DATA chunk lost: fetched with READ too', async () => {
  const { t, client, runner } = setup({ dropFrames: [6] });
  await client.sync();
  assert.equal((await run(runner)).blockCount, 100);
  assert.equal(t.log.filter((l) => l.startsWith('request 0x3')).length, 1);
});

test('DONE lost: STATUS says done, the table comes from the DATA frames', async () => {
  const { t, client, runner } = setup({ dropFrames: [2] });
  await client.sync();
  assert.equal((await run(runner)).blockCount, 100);
  assert.ok(
    t.log.some((l) => l.startsWith('request 0x6')),
    'STATUS asked',
  );
});

test('ERROR reason 4: a DeviceError naming the trap', async () => {
  const { client, runner } = setup({ trap: 1 });
  await client.sync();
  await assert.rejects(run(runner), (err: Error) => err instanceof DeviceError && /trapped.*out-of-bounds memory access.*trap code 1/.test(err.message));
});

test('ACCEPT lost: the PROGRESS and DONE that follow are enough, the JOB is not sent again', async () => {
  const { t, client, runner } = setup({ dropFrames: [1] });
  await client.sync();
  assert.equal((await run(runner)).blockCount, 100);
  assert.equal(t.log.filter((l) => l.startsWith('request 0x2')).length, 1);
});

test('JOB lost on the line: no ACCEPT within 1 s plus line time, the JOB is sent again and run once', async () => {
  const { t, client, runner } = setup();
  let jobs = 0;
  t.onRequest = (f) => (f.type === REQ.JOB && ++jobs === 1 ? 'drop' : undefined);
  await client.sync();
  assert.equal((await run(runner)).blockCount, 100);
  assert.equal(jobs, 2);
  assert.equal(t.jobsRun, 1);
});

test('power lost mid-job: the bootloader answers the re-sync, the same DeviceError as before, and the agent is uploaded again next time', async () => {
  const { t, client, runner } = setup();
  let cut = true;
  t.onRequest = (f, term) => {
    if (f.type === REQ.JOB && cut) {
      cut = false;
      term.powerCycle();
      return 'drop';
    }
  };
  await client.sync();
  await assert.rejects(
    run(runner),
    (err: Error) => err instanceof DeviceError && /the agent did not finish: the terminal reset or lost power during the job/.test(err.message),
  );
  assert.equal(runner.announced, null);
  assert.equal((await run(runner)).blockCount, 100);
  assert.equal(t.goCount, 2);
});

test('the part dead mid-job: a DeviceError that says neither agent nor bootloader answers', async () => {
  const { t, client, runner } = setup();
  t.onRequest = (f, term) => {
    if (f.type === REQ.JOB) {
      term.kill();
      return 'drop';
    }
  };
  await client.sync();
  await assert.rejects(run(runner), /the bootloader does not answer either/);
});

test("a chunk garbled on the way in (two flips Write Memory's XOR misses) is found by the read-back and written again before Go", async () => {
  // the read-back runs when the upload needed a retry; here it is asked for outright
  const { t, client, runner } = setup({}, { readBack: true });
  let garbled = false;
  const write = t.write.bind(t);
  t.write = async (d: Uint8Array) => {
    await write(d);
    // right after the first Write Memory of the image's second chunk: flip a byte in RAM behind the bootloader's back
    if (!garbled && t.ram.has(LOAD + 0x180)) {
      garbled = true;
      t.garble(LOAD + 0x180);
    }
  };
  await client.sync();
  await runner.start();
  assert.ok(garbled);
  assert.deepEqual([...t.readRam(LOAD, image.length)], [...image]);
  assert.equal(t.goCount, 1);
});
