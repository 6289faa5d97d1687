import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeoutError } from '../host/errors';
import { BootloaderClient } from '../host/protocol/client';
import { SerialTransport } from '../host/transport/serial';
import type { Transport } from '../host/transport/types';
import { WebSerialTransport } from '../host/transport/webserial';
import { EmulatedSerialPort } from '../host/web/emulated-port';
import { CLI, emulated, toolSkip } from './helpers';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function hasSocat(): boolean {
  return spawnSync('sh', ['-c', 'command -v socat'], { encoding: 'utf8' }).status === 0;
}

const servers: ChildProcess[] = [];
process.on('exit', () => servers.forEach((c) => c.kill()));

/** Starts `poswipe emu --pty` for one client and opens its pty with the serial transport (8N1). */
async function openPty(): Promise<Transport> {
  const link = path.join(mkdtempSync(path.join(tmpdir(), 'poswipe-pty-')), 'tty');
  const child = spawn(process.execPath, [CLI, 'emu', '--board', 'stm32f407', '--pty', link, '--exit-after', '1'], { stdio: 'ignore' });
  servers.push(child);
  for (let i = 0; i < 100 && !existsSync(link); i++) await new Promise((r) => setTimeout(r, 50));
  const t = await SerialTransport.open(link, { parity: 'none' });
  const close = t.close.bind(t);
  t.close = async () => {
    await close();
    child.kill();
  };
  return t;
}

/**
 * One contract for every Transport: the emulated terminal always, a real port when
 * POSWIPE_TEST_PORT names one (a terminal in bootloader mode on it). Protocol code relies on
 * exactly these behaviours.
 */
interface Subject {
  name: string;
  skip: string | false;
  open(): Promise<Transport>;
}

const subjects: Subject[] = [
  { name: 'emulated terminal', skip: false, open: async () => emulated('stm32f407').transport },
  // the browser's transport, over WHATWG streams to the emulator (a virtual Web Serial port)
  { name: 'Web Serial transport (virtual port)', skip: false, open: () => WebSerialTransport.open(new EmulatedSerialPort(emulated('stm32f407').terminal)) },
  // the serial transport over a real pseudo-terminal, served by `poswipe emu --pty` (socat)
  { name: 'serial port on an emulated pty', skip: toolSkip(hasSocat() ? false : 'socat is not installed'), open: openPty },
  {
    name: 'serial port (POSWIPE_TEST_PORT)',
    skip: process.env.POSWIPE_TEST_PORT ? false : 'set POSWIPE_TEST_PORT to a port with a terminal in bootloader mode',
    open: () => SerialTransport.open(process.env.POSWIPE_TEST_PORT!, { parity: (process.env.POSWIPE_TEST_PARITY as 'none' | 'even') ?? 'even' }),
  },
];

for (const s of subjects) {
  describe(`transport contract: ${s.name}`, { skip: s.skip }, () => {
    test('the sync byte is answered with ACK or NACK, and counted', async () => {
      const t = await s.open();
      try {
        await t.write(Uint8Array.of(0x7f));
        const [b] = await t.read(1, 500);
        assert.ok(b === 0x79 || b === 0x1f);
        const st = t.stats();
        assert.ok(st.bytesTx >= 1 && st.bytesRx >= 1);
      } finally {
        await t.close();
      }
    });

    test('a read that gets no answer rejects with TimeoutError and keeps what arrived', async () => {
      const t = await s.open();
      try {
        await new BootloaderClient(t).sync();
        await assert.rejects(t.read(1, 200), TimeoutError);
        // Get ID answers 5 bytes (ACK, N, PID hi, PID lo, ACK): ask for 6, get a timeout, then read the 5
        await t.write(Uint8Array.of(0x02, 0xfd));
        await assert.rejects(t.read(6, 300), TimeoutError);
        const got = await t.read(5, 300);
        assert.equal(got[0], 0x79);
        assert.equal(got[4], 0x79);
      } finally {
        await t.close();
      }
    });

    test('discardInput drops stale bytes', async () => {
      const t = await s.open();
      try {
        await new BootloaderClient(t).sync();
        await t.write(Uint8Array.of(0x02, 0xfd));
        await t.sleep(50);
        await t.discardInput();
        await assert.rejects(t.read(1, 200), TimeoutError);
      } finally {
        await t.close();
      }
    });

    test('terminal time moves forward with traffic', async () => {
      const t = await s.open();
      try {
        const before = t.terminalTime();
        const client = new BootloaderClient(t);
        await client.sync();
        await client.readMemory(0x08000000, 256);
        assert.ok(t.terminalTime() > before);
      } finally {
        await t.close();
      }
    });
  });
}
