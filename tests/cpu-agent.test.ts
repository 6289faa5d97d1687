import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CpuRunner } from '../host/emulator/cpu/machine';
import { parseFaults } from '../host/emulator/faults';
import { agentBinary, crc32, digestsOf, expectedDigests, frame, jobBytes, parameterBlock, runJob, startAgent } from '../bench/cpu';
import { decodeResult } from '../host/engine/abi';

/**
 * The real agent (agent/bin/<kind>.bin, docs/agent.md) on the instruction-level terminal: the
 * image and its parameter block written into RAM, Go, HELLO, then jobs over the framed link,
 * their digests checked against node:crypto. Frames are built and parsed with `crc-32`
 * (bench/cpu.ts; the host's codec is another module's).
 */
const skip = !CpuRunner.available()
  ? `instruction-level emulation unavailable: ${CpuRunner.unavailableReason()}`
  : !agentBinary('f4')
    ? 'agent/manifest.json or agent/bin/f4.bin missing'
    : false;

test('agent f4: HELLO, a hash-only job over 1 MiB, an erase job, digests match node:crypto, RESET', { skip, timeout: 120_000 }, async () => {
  const run = startAgent('f4');
  const { t, running, frames } = run;
  const hello = await frames.next();
  assert.equal(hello.type, 0x81);
  assert.equal(hello.seq, 0);
  assert.equal(hello.payload.length, 72);
  const hv = new DataView(hello.payload.buffer, hello.payload.byteOffset);
  assert.equal(hv.getUint32(0, true), 0x47415750);
  assert.equal(hv.getUint32(68, true), crc32(run.agent.image), 'HELLO carries the CRC-32 of the image in RAM');

  const nonce = createHash('sha256').update('cpu-agent test').digest();
  const whole: Array<[number, number]> = [[0x08000000, 0x100000]];
  const hash = await runJob(run, 1, jobBytes({ ops: 4, erase: [], hash: whole, nonce, blockSize: 4096 }));
  assert.equal(hash.status, 0);
  assert.deepEqual(digestsOf(hash.table), expectedDigests(t, nonce, whole, 4096));

  const sectors = t.flash.sectors.map((s): [number, number] => [s.address, s.size]);
  const erase = await runJob(run, 2, jobBytes({ ops: 2 | 4, erase: sectors, hash: whole, nonce, blockSize: 4096 }));
  assert.equal(erase.status, 0);
  assert.ok(
    t.flash.bytes.every((b) => b === 0xff),
    'every byte erased',
  );
  assert.deepEqual(digestsOf(erase.table), expectedDigests(t, nonce, whole, 4096));
  assert.ok(erase.progress >= sectors.length);

  t.receive(frame(0x05, 3, new Uint8Array(0)));
  const ok = await frames.next();
  assert.equal(ok.type, 0x87);
  assert.deepEqual(await running, { kind: 'reset', why: 'SYSRESETREQ' });
});

test(
  "agent f4: the parameter block's flash size bounds hal.read (512 KiB given on a 1 MiB part: a hash past it is HAL status 1 at its address); a size not whole KiB or over 2 MiB resets the part",
  { skip, timeout: 60_000 },
  async () => {
    const run = startAgent('f4', {}, undefined, parameterBlock('f4', 115200, 0, 512 * 1024));
    assert.equal((await run.frames.next()).type, 0x81);
    const nonce = createHash('sha256').update('flash size').digest();
    const inside: Array<[number, number]> = [[0x08000000 + 512 * 1024 - 4096, 4096]];
    const ok = await runJob(run, 1, jobBytes({ ops: 4, erase: [], hash: inside, nonce, blockSize: 4096 }));
    assert.equal(ok.status, 0);
    assert.deepEqual(digestsOf(ok.table), expectedDigests(run.t, nonce, inside, 4096));
    const past = await runJob(run, 2, jobBytes({ ops: 4, erase: [], hash: [[0x08000000 + 512 * 1024, 4096]], nonce, blockSize: 4096 }));
    const r = decodeResult(past.table);
    assert.notEqual(r.status, 0, 'a read past the given size fails');
    assert.equal(r.halStatus, 1, 'HAL_NOT_A_SECTOR');
    assert.equal(r.failAddress, 0x08080000);
    run.t.receive(frame(0x05, 3, new Uint8Array(0)));
    assert.equal((await run.frames.next()).type, 0x87);
    await run.running;

    for (const bad of [512 * 1024 + 512, 2048 * 1024 + 1024]) {
      const refused = startAgent('f4', {}, undefined, parameterBlock('f4', 115200, 0, bad));
      assert.deepEqual(await refused.running, { kind: 'reset', why: 'SYSRESETREQ' }, `flash size ${bad}: a bad block resets at once`);
    }
  },
);

/** the first frame, which must be HELLO */
async function hello(run: ReturnType<typeof startAgent>): Promise<DataView> {
  const h = await run.frames.next();
  assert.equal(h.type, 0x81, `HELLO expected, got 0x${h.type.toString(16)}`);
  return new DataView(h.payload.buffer, h.payload.byteOffset, h.payload.length);
}

for (const kind of ['f2', 'l4'] as const) {
  const kindSkip = skip || (agentBinary(kind) ? false : `agent/bin/${kind}.bin missing`);
  test(`agent ${kind}: HELLO, erase and hash of the first units, digests match, RESET`, { skip: kindSkip, timeout: 60_000 }, async () => {
    const run = startAgent(kind);
    const hv = await hello(run);
    assert.equal(hv.getUint32(12, true), kind === 'l4' ? 4_000_000 : 16_000_000, 'core clock in HELLO');
    const units = run.t.flash.sectors.slice(0, 4).map((s): [number, number] => [s.address, s.size]);
    const first = run.t.flash.sectors[0];
    run.t.flash.bytes.fill(0x00, 0, first.size);
    const nonce = createHash('sha256').update(`cpu-agent ${kind}`).digest();
    const answer = await runJob(run, 1, jobBytes({ ops: 6, erase: units, hash: units, nonce, blockSize: 2048 }));
    assert.equal(answer.status, 0);
    assert.ok(run.t.flash.bytes.subarray(0, first.size).every((b) => b === 0xff));
    assert.deepEqual(digestsOf(answer.table), expectedDigests(run.t, nonce, units, 2048));
    run.t.receive(frame(0x05, 2, new Uint8Array(0)));
    assert.equal((await run.frames.next()).type, 0x87);
    assert.deepEqual(await run.running, { kind: 'reset', why: 'SYSRESETREQ' });
  });
}

test('agent f4 with the watchdog running from Go: refreshed in every wait, a 1 s sector erase does not reset the part', { skip, timeout: 60_000 }, async () => {
  const run = startAgent('f4', { iwdg: true } as never);
  await hello(run);
  const big = run.t.flash.sectors.find((s) => s.size === 0x20000)!;
  const nonce = new Uint8Array(32);
  const answer = await runJob(run, 1, jobBytes({ ops: 2, erase: [[big.address, big.size]], hash: [], nonce, blockSize: 4096 }));
  assert.equal(answer.status, 0);
  assert.ok(run.machine.iwdg.running);
  run.t.receive(frame(0x05, 2, new Uint8Array(0)));
  await run.frames.next();
  assert.deepEqual(await run.running, { kind: 'reset', why: 'SYSRESETREQ' });
});

test('agent f4: a partial frame is dropped after 100 ms without a byte: the wait for the host passes virtual time', { skip, timeout: 60_000 }, async () => {
  const run = startAgent('f4');
  await hello(run);
  // the header of a READ whose length byte was garbled on the line: it promises 4096 bytes
  run.t.receive(Uint8Array.of(0xa5, 0x03, 1, 0x00, 0x10));
  await new Promise((r) => setTimeout(r, 50)); // the agent takes the five bytes and waits for more
  const polled = run.machine.cycles;
  run.t.clock.advance(0.15); // the host waits for an answer that cannot come
  run.t.receive(frame(0x06, 2, new Uint8Array(0))); // STATUS, sent again after the timeout
  const status = await run.frames.next();
  assert.equal(status.type, 0x88, 'STATUS answered: the partial frame had expired');
  assert.equal(status.seq, 2);
  assert.ok(run.machine.cycles - polled >= 0.15 * 16e6, "the agent's cycle counter lived through the wait");
  run.t.receive(frame(0x05, 3, new Uint8Array(0)));
  await run.frames.next();
  assert.deepEqual(await run.running, { kind: 'reset', why: 'SYSRESETREQ' });
});

test('agent f4: power lost during the third flash operation resolves powerloss', { skip, timeout: 60_000 }, async () => {
  const run = startAgent('f4', { faults: parseFaults(['powerloss@3']) });
  await hello(run);
  const sectors = run.t.flash.sectors.slice(0, 4).map((s): [number, number] => [s.address, s.size]);
  run.t.receive(frame(0x02, 1, jobBytes({ ops: 2, erase: sectors, hash: [], nonce: new Uint8Array(32), blockSize: 4096 })));
  const out = await run.running;
  assert.equal(out.kind, 'powerloss');
  assert.equal(run.t.flash.operations, 3);
});

test('agent f4: a flipped bit in the agent never gives a valid, matching HELLO', { skip, timeout: 120_000 }, async (ctx) => {
  const original = agentBinary('f4')!.image;
  const goodCrc = crc32(original);
  // seeded positions spread over the code (after the 0x8C-byte header)
  let x = 0x2545f491;
  const outcomes: string[] = [];
  for (let i = 0; i < 8; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const bit = 0x8c * 8 + (x % ((original.length - 0x8c) * 8));
    const run = startAgent('f4', {}, (img) => (img[bit >> 3] ^= 1 << (bit & 7)));
    let seen = 'silent';
    try {
      const h = await run.frames.next(1500);
      const v = new DataView(h.payload.buffer, h.payload.byteOffset, h.payload.length);
      seen =
        h.type !== 0x81 || h.payload.length !== 72
          ? `frame 0x${h.type.toString(16)}`
          : v.getUint32(68, true) === goodCrc
            ? 'VALID'
            : 'HELLO with another image CRC';
    } catch (err) {
      seen = (err as Error).message.includes('runner ended') ? 'fault or reset' : (err as Error).message.slice(0, 40);
    }
    run.t.restart('bootloader', 'test');
    await run.running;
    outcomes.push(`bit ${bit}: ${seen}`);
    assert.notEqual(seen, 'VALID', `bit ${bit} flipped, yet HELLO carries the good image CRC`);
  }
  ctx.diagnostic(outcomes.join('; '));
});

for (const [kind, fast] of [
  ['f2', 120e6],
  ['f4', 168e6],
  ['l4', 80e6],
] as const) {
  const kindSkip = skip || (agentBinary(kind) ? false : `agent/bin/${kind}.bin missing`);
  test(
    `agent ${kind}: CLOCK to ${fast / 1e6} MHz through the PLL, a job at that clock, CLOCK back to the reset clock`,
    { skip: kindSkip, timeout: 60_000 },
    async () => {
      const run = startAgent(kind);
      await hello(run);
      const ask = (seq: number, hz: number): void => {
        const p = new Uint8Array(4);
        new DataView(p.buffer).setUint32(0, hz, true);
        run.t.receive(frame(0x04, seq, p));
      };
      ask(1, fast);
      const c = await run.frames.next();
      assert.equal(c.type, 0x86, `CLOCK answer expected, got 0x${c.type.toString(16)}`);
      assert.equal(new DataView(c.payload.buffer, c.payload.byteOffset).getUint32(0, true), fast);
      assert.equal(run.machine.rcc.coreHz(), fast);
      const units = run.t.flash.sectors.slice(0, 2).map((s): [number, number] => [s.address, s.size]);
      const nonce = new Uint8Array(32).fill(7);
      const answer = await runJob(run, 2, jobBytes({ ops: 4, erase: [], hash: units, nonce, blockSize: 2048 }));
      assert.deepEqual(digestsOf(answer.table), expectedDigests(run.t, nonce, units, 2048));
      ask(3, 0);
      const back = await run.frames.next();
      assert.equal(back.type, 0x86);
      assert.equal(run.machine.rcc.coreHz(), kind === 'l4' ? 4e6 : 16e6);
      run.t.restart('bootloader', 'test');
      assert.deepEqual(await run.running, { kind: 'interrupted' });
    },
  );
}
