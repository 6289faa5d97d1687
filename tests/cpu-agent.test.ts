import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CpuRunner } from '../host/emulator/cpu/machine';
import { agentBinary, crc32, digestsOf, expectedDigests, frame, jobBytes, runJob, startAgent } from '../bench/cpu';

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
  assert.ok(t.flash.bytes.every((b) => b === 0xff), 'every byte erased');
  assert.deepEqual(digestsOf(erase.table), expectedDigests(t, nonce, whole, 4096));
  assert.ok(erase.progress >= sectors.length);

  t.receive(frame(0x05, 3, new Uint8Array(0)));
  const ok = await frames.next();
  assert.equal(ok.type, 0x87);
  assert.deepEqual(await running, { kind: 'reset', why: 'SYSRESETREQ' });
});
